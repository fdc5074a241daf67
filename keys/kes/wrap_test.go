package kes

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestSealExample is the worked example of wrapped key format 1 in doc.go.
func TestSealExample(t *testing.T) {
	dataKey := make([]byte, 32)
	for i := range dataKey {
		dataKey[i] = byte(i) // 00 01 02 ... 1f
	}
	kesCT := []byte("kes") // 6b 65 73
	const wantHex = "016b6573" + "d80b8845a43b48361d95882df86971e93b04b2bb4290f4af3511e32e14902223"
	got := seal("sseproxy-a", kesCT, dataKey)
	if hex.EncodeToString(got) != wantHex {
		t.Errorf("seal(sseproxy-a, \"kes\", 00..1f) = %x, want %s", got, wantHex)
	}
	if ct, ok := parseSealed(got); !ok || !bytes.Equal(ct, kesCT) {
		t.Errorf("parseSealed(seal(...)) = %q, %v, want %q, true", ct, ok, kesCT)
	}
	if !verify("sseproxy-a", got, dataKey) {
		t.Errorf("verify(seal(...)) = false, want true")
	}
}

func TestSealRejects(t *testing.T) {
	dataKey := bytes.Repeat([]byte{7}, 32)
	good := seal("sseproxy-a", []byte("kes-ciphertext"), dataKey)
	otherKey := bytes.Clone(dataKey)
	otherKey[31] ^= 1
	for _, tc := range []struct {
		name    string
		keyName string
		sealed  []byte
		dataKey []byte
	}{
		{"other-name", "sseproxy-b", good, dataKey},
		{"name-prefix", "sseproxy-", good, dataKey},
		{"other-data-key", "sseproxy-a", good, otherKey},
		{"flipped-format", "sseproxy-a", flip(good, 0), dataKey},
		{"flipped-kes-ciphertext", "sseproxy-a", flip(good, 5), dataKey},
		{"flipped-tag", "sseproxy-a", flip(good, len(good)-1), dataKey},
		{"too-short", "sseproxy-a", good[:minSealed-1], dataKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if verify(tc.keyName, tc.sealed, tc.dataKey) {
				t.Errorf("verify(%q, %x) = true, want false", tc.keyName, tc.sealed)
			}
		})
	}
}

func TestParseSealed(t *testing.T) {
	dataKey := bytes.Repeat([]byte{7}, 32)
	for _, tc := range []struct {
		name   string
		sealed []byte
		ok     bool
	}{
		{"nil", nil, false},
		{"format-only", []byte{1}, false},
		{"empty-kes-ciphertext", append([]byte{1}, make([]byte, tagSize)...), false},
		{"minimal", seal("k", []byte{0}, dataKey), true},
		{"largest", seal("k", make([]byte, maxKESCiphertext), dataKey), true},
		{"too-large", seal("k", make([]byte, maxKESCiphertext+1), dataKey), false},
		{"format-0", flip(seal("k", []byte{0}, dataKey), 0), false},
		{"raw-kes-msgpack", append([]byte{0x95}, make([]byte, 100)...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := parseSealed(tc.sealed); ok != tc.ok {
				t.Errorf("parseSealed(%d bytes) = %v, want %v", len(tc.sealed), ok, tc.ok)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 1
	return b
}

// FuzzOpenSealed checks that no input panics the parser, and that only the exact sealed bytes
// verify.
func FuzzOpenSealed(f *testing.F) {
	dataKey := bytes.Repeat([]byte{7}, 32)
	good := seal("sseproxy-a", []byte("kes-ciphertext"), dataKey)
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(flip(good, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, ok := parseSealed(b); !ok {
			return
		}
		if verify("sseproxy-a", b, dataKey) != bytes.Equal(b, good) {
			t.Errorf("verify(%x) disagrees with equality to the genuine wrapped key", b)
		}
	})
}

// FuzzServerMessage checks that any error body yields a bounded message.
func FuzzServerMessage(f *testing.F) {
	f.Add([]byte(`{"message":"key does not exist"}`))
	f.Add([]byte(`{"error":"x"}`))
	f.Add([]byte("404 page not found"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if msg := serverMessage(b); len(msg) > 203 {
			t.Errorf("serverMessage(%d bytes) = %d bytes, want at most 203", len(b), len(msg))
		}
	})
}

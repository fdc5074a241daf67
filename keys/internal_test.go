package keys

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
)

// Tests of unexported helpers whose edges are easier to reach from inside the package.

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"", false},
		{"a", true},
		{strings.Repeat("a", 127), true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"AZaz09", true},
		{"alias/a_b-c:d.e", true},
		{"..", true}, // names are never file paths
		{"a b", false},
		{"a\x00b", false},
		{"a\tb", false},
		{"a+b", false},
		{"a%2Fb", false},
		{"a?b", false},
		{"a\"b", false},
		{"é", false},
		{"a\u00a0", false},
	} {
		if got := validName(tc.name); got != tc.want {
			t.Errorf("validName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWrappedVersion(t *testing.T) {
	valid := func(format byte, version uint32, size int) []byte {
		b := make([]byte, size)
		if size > 0 {
			b[0] = format
		}
		if size >= 5 {
			binary.BigEndian.PutUint32(b[1:5], version)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		wrapped []byte
		want    int
		ok      bool
	}{
		{"nil", nil, 0, false},
		{"size-1", valid(1, 1, 1), 0, false},
		{"size-5", valid(1, 1, 5), 0, false},
		{"size-80", valid(1, 1, wrappedSize-1), 0, false},
		{"size-81", valid(1, 1, wrappedSize), 1, true},
		{"size-82", valid(1, 1, wrappedSize+1), 0, false},
		{"format-0", valid(0, 1, wrappedSize), 0, false},
		{"format-2", valid(2, 1, wrappedSize), 0, false},
		{"version-0", valid(1, 0, wrappedSize), 0, false},
		{"version-7", valid(1, 7, wrappedSize), 7, true},
		{"version-bytes-big-endian", valid(1, 0x01020304, wrappedSize), 0x01020304, true},
	} {
		got, ok := wrappedVersion(tc.wrapped)
		if got != tc.want || ok != tc.ok {
			t.Errorf("wrappedVersion(%s) = %d, %v, want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzLoadKeyring feeds arbitrary bytes to the keyring file parser: it must never panic, and
// whatever it accepts must survive an encode/decode round trip unchanged.
func FuzzLoadKeyring(f *testing.F) {
	m := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	valid := `{"format":1,"default_key":"default","keys":{"default":{"created":"2026-01-02T03:04:05Z",` +
		`"versions":[{"version":1,"created":"2026-01-02T03:04:05Z","material":"` + m + `"},` +
		`{"version":2,"created":"2026-01-03T03:04:05Z","imported":true,"material":"` + m + `"}]},` +
		`"x/y:z_1.-":{"created":"2026-01-02T03:04:05Z","disabled":true,"versions":[{"version":1,"created":"2026-01-02T03:04:05Z","material":"` + m + `"}]}}}`
	for _, seed := range []string{
		valid,
		"",
		"null",
		`{"format":2}`,
		`{"format":1}`,
		`{"format":1,"default_key":"a","keys":{"a":{"versions":[]}}}`,
		`{"format":1,"default_key":"a","keys":{"a":{"versions":[{"version":1,"material":"AAAA"}]}}}`,
		valid + "x",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeKeyring(data)
		if err != nil {
			return
		}
		enc, err := encodeKeyring(st)
		if err != nil {
			t.Fatalf("encodeKeyring(decodeKeyring(%q)) = %v", data, err)
		}
		st2, err := decodeKeyring(enc)
		if err != nil {
			t.Fatalf("decodeKeyring(encodeKeyring(decodeKeyring(%q))) = %v", data, err)
		}
		enc2, err := encodeKeyring(st2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip of %q changed the keyring:\n%s\nthen\n%s", data, enc, enc2)
		}
	})
}

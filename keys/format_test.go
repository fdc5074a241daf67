package keys_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/sseproxy/sseproxy/keys"
)

// The tests in this file implement the wrapped key format from the package comment (doc.go)
// independently of the package, with stdlib primitives only, so that the documented byte table
// and the code cannot drift apart.

// byokMaterial is known key material, imported so that the test can unwrap by itself.
var byokMaterial = func() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// specAEAD returns AES-256-GCM under the documented per-wrap key derivation.
func specAEAD(t testing.TB, material, salt []byte) cipher.AEAD {
	kek, err := hkdf.Key(sha256.New, material, salt, "sseproxy/keys: wrap v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

// specAAD is the documented associated data of a wrapped key.
func specAAD(header []byte, keyID string, ad []byte) []byte {
	b := append([]byte(nil), header[:5]...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(keyID)))
	b = append(b, keyID...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(ad)))
	return append(b, ad...)
}

// specWrap wraps dataKey as the package comment specifies, with any format byte and version.
func specWrap(t testing.TB, material []byte, format byte, version uint32, keyID string, ad, dataKey []byte) []byte {
	saltNonce := make([]byte, 28)
	rand.Read(saltNonce)
	return specWrapWith(t, material, format, version, saltNonce, keyID, ad, dataKey)
}

// specWrapWith is specWrap with a given salt || nonce, for reproducible wrapped keys.
func specWrapWith(t testing.TB, material []byte, format byte, version uint32, saltNonce []byte, keyID string, ad, dataKey []byte) []byte {
	out := make([]byte, 5, 81)
	out[0] = format
	binary.BigEndian.PutUint32(out[1:5], version)
	out = append(out, saltNonce...)
	return specAEAD(t, material, out[5:21]).Seal(out, out[21:33], dataKey, specAAD(out, keyID, ad))
}

func TestWrapFormatSpec(t *testing.T) {
	k, _ := newKeyring(t)
	if err := k.Import("byok", byokMaterial); err != nil {
		t.Fatal(err)
	}
	for _, ad := range [][]byte{nil, []byte("bucket/object"), bytes.Repeat([]byte{0}, 1000)} {
		t.Run(fmt.Sprintf("ad-%d-bytes", len(ad)), func(t *testing.T) {
			dk, err := k.GenerateDataKey(t.Context(), "byok", ad)
			if err != nil {
				t.Fatal(err)
			}
			ct := dk.Ciphertext
			if len(ct) != 81 || ct[0] != 0x01 || binary.BigEndian.Uint32(ct[1:5]) != 1 {
				t.Fatalf("GenerateDataKey = %d bytes, header %x, want 81 bytes, header 01 00000001", len(ct), ct[:min(5, len(ct))])
			}
			got, err := specAEAD(t, byokMaterial, ct[5:21]).Open(nil, ct[21:33], ct[33:], specAAD(ct, "byok", ad))
			if err != nil || !bytes.Equal(got, dk.Plaintext) {
				t.Errorf("spec unwrap of GenerateDataKey = %x, %v, want %x", got, err, dk.Plaintext)
			}
			// And the other way: a key wrapped by the spec decrypts.
			want := bytes.Repeat([]byte{0x5a}, 32)
			spec := specWrap(t, byokMaterial, 0x01, 1, "byok", ad, want)
			if got, err := k.Decrypt(t.Context(), "byok", spec, ad); err != nil || !bytes.Equal(got, want) {
				t.Errorf("Decrypt(spec wrapped key) = %x, %v, want %x", got, err, want)
			}
		})
	}
}

// TestDecryptRejectsAuthentic checks the header checks that come before authentication: a
// wrapped key sealed correctly under the right material still fails if its format byte,
// version or size is not one the keyring accepts.
func TestDecryptRejectsAuthentic(t *testing.T) {
	k, _ := newKeyring(t)
	if err := k.Import("byok", byokMaterial); err != nil {
		t.Fatal(err)
	}
	dataKey := bytes.Repeat([]byte{0x5a}, 32)
	for _, tc := range []struct {
		name    string
		wrapped []byte
	}{
		{"format-0", specWrap(t, byokMaterial, 0x00, 1, "byok", nil, dataKey)},
		{"format-2", specWrap(t, byokMaterial, 0x02, 1, "byok", nil, dataKey)},
		{"version-0", specWrap(t, byokMaterial, 0x01, 0, "byok", nil, dataKey)},
		{"version-2-unknown", specWrap(t, byokMaterial, 0x01, 2, "byok", nil, dataKey)},
		{"version-max", specWrap(t, byokMaterial, 0x01, 1<<32-1, "byok", nil, dataKey)},
		{"data-key-31-bytes", specWrap(t, byokMaterial, 0x01, 1, "byok", nil, dataKey[:31])},
		{"data-key-33-bytes", specWrap(t, byokMaterial, 0x01, 1, "byok", nil, append(dataKey, 0))},
		{"other-key-name", specWrap(t, byokMaterial, 0x01, 1, "byok2", nil, dataKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := k.Decrypt(t.Context(), "byok", tc.wrapped, nil); !errors.Is(err, keys.ErrDecrypt) || got != nil {
				t.Errorf("Decrypt(%s) = %x, %v, want nil, ErrDecrypt", tc.name, got, err)
			}
		})
	}
}

// TestSameMaterialOtherName checks that the key name, not only the material, binds a wrapped
// key: two keys imported with the same material do not decrypt each other's data keys.
func TestSameMaterialOtherName(t *testing.T) {
	k, _ := newKeyring(t)
	for _, name := range []string{"a", "b"} {
		if err := k.Import(name, byokMaterial); err != nil {
			t.Fatal(err)
		}
	}
	dk, err := k.GenerateDataKey(t.Context(), "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Decrypt(t.Context(), "b", dk.Ciphertext, nil); !errors.Is(err, keys.ErrDecrypt) {
		t.Errorf("Decrypt(b, key wrapped by a) = %x, %v, want ErrDecrypt", got, err)
	}
}

// FuzzDecrypt feeds arbitrary ciphertexts and associated data to Decrypt: it must never panic,
// and must fail with ErrDecrypt unless the pair is one of the genuine seeds. The seeds are
// wrapped by the spec code with fixed salts and nonces, so that they are the same in the
// fuzzing coordinator and its workers.
func FuzzDecrypt(f *testing.F) {
	k, _ := newKeyring(f)
	if err := k.Import("byok", byokMaterial); err != nil {
		f.Fatal(err)
	}
	type pair struct{ ciphertext, ad string }
	genuine := map[pair][]byte{} // -> data key
	for i, ad := range []string{"", "bucket/object", "b/o"} {
		dataKey := bytes.Repeat([]byte{byte(i + 1)}, 32)
		ct := specWrapWith(f, byokMaterial, 0x01, 1, bytes.Repeat([]byte{byte(i)}, 28), "byok", []byte(ad), dataKey)
		genuine[pair{string(ct), ad}] = dataKey
		f.Add(ct, []byte(ad))
	}
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1, 0, 0, 0, 1}, []byte("b/o"))
	f.Add(bytes.Repeat([]byte{1}, 81), []byte{})
	f.Fuzz(func(t *testing.T, ciphertext, ad []byte) {
		got, err := k.Decrypt(t.Context(), "byok", ciphertext, ad)
		want, ok := genuine[pair{string(ciphertext), string(ad)}]
		switch {
		case err == nil && (!ok || !bytes.Equal(got, want)):
			t.Fatalf("Decrypt(%x, %q) = %x, nil for input that is not a genuine wrapped key", ciphertext, ad, got)
		case err != nil && !errors.Is(err, keys.ErrDecrypt):
			t.Fatalf("Decrypt(%x, %q) = %v, want ErrDecrypt", ciphertext, ad, err)
		case err != nil && ok:
			t.Fatalf("Decrypt(genuine %x, %q) = %v, want success", ciphertext, ad, err)
		}
	})
}

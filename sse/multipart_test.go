package sse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// multipartObject encrypts plain as parts of partPlain bytes, each under its
// part key, and returns the concatenated ciphertext and each part's.
func multipartObject(t *testing.T, key, plain []byte, partPlain int) ([]byte, [][]byte) {
	t.Helper()
	var all []byte
	var parts [][]byte
	for n, off := 1, 0; off < len(plain); n, off = n+1, off+partPlain {
		end := min(off+partPlain, len(plain))
		r, err := EncryptReader(bytes.NewReader(plain[off:end]), PartKey(key, n))
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, c)
		all = append(all, c...)
	}
	return all, parts
}

func TestLayoutWindows(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	const partPlain = 2 * PayloadSize
	plain := make([]byte, 3*partPlain+1000)
	for i := range plain {
		plain[i] = byte(i * 31)
	}
	cipher, _ := multipartObject(t, key, plain, partPlain)
	l := Layout{PartSize: 2 * PackageSize, Size: int64(len(cipher))}
	if size, err := l.PlainSize(); err != nil || size != int64(len(plain)) {
		t.Fatalf("PlainSize() = %d, %v; want %d", size, err, len(plain))
	}
	if l.Parts() != 4 {
		t.Errorf("Parts() = %d, want 4", l.Parts())
	}
	tests := []struct {
		name     string
		off, n   int64
		packages int64 // packages fetched
	}{
		{"whole", 0, int64(len(plain)), 7},
		{"first byte", 0, 1, 1},
		{"last byte of part 1", partPlain - 1, 1, 1},
		{"first byte of part 2", partPlain, 1, 1},
		{"across parts 1-2", partPlain - 1, 2, 2},
		{"across three parts", PayloadSize + 5, 2 * partPlain, 5},
		{"last part only", 3 * partPlain, 1000, 1},
		{"last byte", int64(len(plain)) - 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off, n, segs, err := l.Windows(tt.off, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if packages := (n + PackageSize - 1) / PackageSize; packages != tt.packages {
				t.Errorf("Windows(%d, %d) fetches %d packages, want %d", tt.off, tt.n, packages, tt.packages)
			}
			got, err := io.ReadAll(DecryptParts(bytes.NewReader(cipher[off:off+n]), key, segs))
			if err != nil {
				t.Fatalf("DecryptParts = %v", err)
			}
			if !bytes.Equal(got, plain[tt.off:tt.off+tt.n]) {
				t.Errorf("DecryptParts returned %d bytes, want plaintext[%d:%d]", len(got), tt.off, tt.off+tt.n)
			}
		})
	}
}

func TestLayoutTamper(t *testing.T) {
	key := bytes.Repeat([]byte{9}, KeySize)
	const partPlain = PayloadSize
	plain := bytes.Repeat([]byte("x"), 3*partPlain+10)
	_, parts := multipartObject(t, key, plain, partPlain)
	join := func(ps ...[]byte) []byte { return bytes.Join(ps, nil) }
	tests := []struct {
		name   string
		cipher []byte
	}{
		{"swapped parts", join(parts[1], parts[0], parts[2], parts[3])},
		{"middle part dropped, last moved up", join(parts[0], parts[1], parts[3], parts[3])},
		{"part duplicated", join(parts[0], parts[0], parts[2], parts[3])},
		{"last part cut at a package boundary", join(parts[0], parts[1], parts[2], parts[3][:0], parts[2])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Layout{PartSize: PackageSize, Size: int64(len(tt.cipher))}
			size, err := l.PlainSize()
			if err != nil {
				return // an impossible size is refused before any decryption
			}
			off, n, segs, err := l.Windows(0, size)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(DecryptParts(bytes.NewReader(tt.cipher[off:off+n]), key, segs))
			if !errors.Is(err, ErrAuthentication) {
				t.Errorf("DecryptParts of %s = %v, want ErrAuthentication", tt.name, err)
			}
		})
	}
}

func TestLayoutInvalid(t *testing.T) {
	for _, l := range []Layout{{PartSize: 0, Size: 10}, {PartSize: PackageSize + 1, Size: 100}, {PartSize: PackageSize, Size: -1}} {
		if _, err := l.PlainSize(); !errors.Is(err, ErrInvalidLayout) {
			t.Errorf("Layout%+v.PlainSize() = %v, want ErrInvalidLayout", l, err)
		}
	}
}

package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/minio/sio"
)

const (
	P = PayloadSize
	C = PackageSize
)

// testKey returns a fixed data key; seed makes different keys.
func testKey(seed byte) []byte {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = seed + byte(i)
	}
	return key
}

// plaintext returns n deterministic pseudo-random bytes.
func plaintext(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encrypt returns the ciphertext of plain under key, with a random nonce.
func encrypt(t testing.TB, plain, key []byte) []byte {
	t.Helper()
	r, err := EncryptReader(bytes.NewReader(plain), key)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// sizes are the boundary plaintext sizes of the round-trip tests.
var sizes = []int{0, 1, P - 1, P, P + 1, 2 * P, 3*P + 17, 1<<20 + 5}

func TestRoundTrip(t *testing.T) {
	key := testKey(1)
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			plain := plaintext(n)
			ct := encrypt(t, plain, key)
			size, err := EncryptedSize(int64(n))
			if err != nil || size != int64(len(ct)) {
				t.Fatalf("EncryptedSize(%d) = %d, %v, want %d", n, size, err, len(ct))
			}
			if got, err := DecryptedSize(size); err != nil || got != int64(n) {
				t.Fatalf("DecryptedSize(%d) = %d, %v, want %d", size, got, err, n)
			}
			got, err := io.ReadAll(DecryptReader(bytes.NewReader(ct), key, WholeWindow(int64(n))))
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("DecryptReader(EncryptReader(%d bytes)) = %d bytes, %v", n, len(got), err)
			}
		})
	}
}

// TestReadersBehave runs both readers through testing/iotest with one-byte sources and reads.
func TestReadersBehave(t *testing.T) {
	key := testKey(1)
	for _, n := range []int{1, P + 1, 2*P + 17} {
		plain := plaintext(n)
		ct := encrypt(t, plain, key)
		dec := DecryptReader(iotest.OneByteReader(bytes.NewReader(ct)), key, WholeWindow(int64(n)))
		if err := iotest.TestReader(dec, plain); err != nil {
			t.Errorf("DecryptReader(%d bytes): %v", n, err)
		}
		enc, err := EncryptReader(iotest.HalfReader(bytes.NewReader(plain)), key)
		if err != nil {
			t.Fatal(err)
		}
		ct2, err := io.ReadAll(iotest.OneByteReader(enc))
		if err != nil || len(ct2) != len(ct) {
			t.Errorf("EncryptReader(%d bytes) read one byte at a time = %d bytes, %v, want %d", n, len(ct2), err, len(ct))
		}
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		name   string
		plain  int64
		cipher int64
	}{
		{"empty", 0, 0},
		{"one byte", 1, 33},
		{"one short of a package", P - 1, C - 1},
		{"one package", P, C},
		{"one package and a byte", P + 1, C + 33},
		{"largest", maxPlainSize, maxCipherSize},
	}
	for _, tt := range tests {
		if got, err := EncryptedSize(tt.plain); err != nil || got != tt.cipher {
			t.Errorf("%s: EncryptedSize(%d) = %d, %v, want %d", tt.name, tt.plain, got, err, tt.cipher)
		}
		if got, err := DecryptedSize(tt.cipher); err != nil || got != tt.plain {
			t.Errorf("%s: DecryptedSize(%d) = %d, %v, want %d", tt.name, tt.cipher, got, err, tt.plain)
		}
		if want, _ := sio.EncryptedSize(uint64(tt.plain)); uint64(tt.cipher) != want {
			t.Errorf("%s: sio.EncryptedSize(%d) = %d, want %d", tt.name, tt.plain, want, tt.cipher)
		}
	}
	invalid := []struct {
		name string
		size int64
		fn   func(int64) (int64, error)
	}{
		{"negative plaintext", -1, EncryptedSize},
		{"plaintext too large", maxPlainSize + 1, EncryptedSize},
		{"negative ciphertext", -1, DecryptedSize},
		{"ciphertext too large", maxCipherSize + 1, DecryptedSize},
		{"header only", 16, DecryptedSize},
		{"header and tag only", 32, DecryptedSize},
		{"package and header and tag", C + 32, DecryptedSize},
	}
	for _, tt := range invalid {
		if got, err := tt.fn(tt.size); !errors.Is(err, ErrInvalidSize) {
			t.Errorf("%s: size(%d) = %d, %v, want ErrInvalidSize", tt.name, tt.size, got, err)
		}
	}
	for c := int64(0); c < 3*C; c++ { // exact inverses over three packages
		p, err := DecryptedSize(c)
		if err != nil {
			continue
		}
		if back, _ := EncryptedSize(p); back != c {
			t.Fatalf("EncryptedSize(DecryptedSize(%d)) = %d", c, back)
		}
	}
}

func TestEncryptReaderKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := EncryptReader(bytes.NewReader(nil), make([]byte, n)); err == nil {
			t.Errorf("EncryptReader(key of %d bytes) = nil error, want an error", n)
		}
	}
}

// failingReader returns n bytes of plaintext, then err, then io.EOF: a flaky source.
type failingReader struct {
	r     io.Reader
	err   error
	fails int
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF && f.fails == 0 {
		f.fails++
		return n, f.err
	}
	return n, err
}

// TestEncryptSourceError checks that a source error never yields a final package: the output
// is whole non-final packages, fewer bytes than the full ciphertext, and never decrypts as a
// whole object, even when the caller keeps reading after the error.
func TestEncryptSourceError(t *testing.T) {
	boom := errors.New("boom")
	key := testKey(2)
	for _, n := range []int{0, 1, P - 1, P, P + 1, 2 * P, 3*P + 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			plain := plaintext(n)
			src := &failingReader{r: bytes.NewReader(plain), err: boom}
			enc, err := EncryptReader(src, key)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			_, err = io.CopyBuffer(&out, enc, make([]byte, 1000))
			if err != boom {
				t.Fatalf("EncryptReader(failing source) error = %v, want %v", err, boom)
			}
			for range 3 { // the error sticks; no final package appears later
				if m, err := enc.Read(make([]byte, 2*C)); m != 0 || err != boom {
					t.Fatalf("Read after error = %d, %v, want 0, %v", m, err, boom)
				}
			}
			ct := out.Bytes()
			if full, _ := EncryptedSize(int64(n)); n > 0 && int64(len(ct)) >= full {
				t.Errorf("output is %d bytes, want fewer than EncryptedSize(%d) = %d", len(ct), n, full)
			}
			if len(ct)%C != 0 {
				t.Fatalf("output is %d bytes, want whole packages", len(ct))
			}
			for off := 0; off < len(ct); off += C {
				if ct[off+4]&0x80 != 0 {
					t.Errorf("package at %d has the final flag", off)
				}
			}
			if len(ct) > 0 {
				plainSize, _ := DecryptedSize(int64(len(ct)))
				_, err := io.ReadAll(DecryptReader(bytes.NewReader(ct), key, WholeWindow(plainSize)))
				if !errors.Is(err, ErrAuthentication) {
					t.Errorf("DecryptReader(output) error = %v, want ErrAuthentication", err)
				}
				w := RangeWindow(0, plainSize, plainSize+1) // what was written is authentic
				got, err := io.ReadAll(DecryptReader(bytes.NewReader(ct), key, w))
				if err != nil || !bytes.Equal(got, plain[:plainSize]) {
					t.Errorf("DecryptReader(output, partial window) = %d bytes, %v", len(got), err)
				}
			}
		})
	}
}

func TestAssociatedData(t *testing.T) {
	pairs := [][2][2]string{
		{{"a", "bc"}, {"ab", "c"}},
		{{"", "abc"}, {"abc", ""}},
		{{"a", ""}, {"", "a"}},
		{{"b", "k\x00\x00\x00\x01x"}, {"b\x00\x00\x00\x01k", "x"}},
		{{"bucket", "key"}, {"bucket", "key/"}},
	}
	for _, p := range pairs {
		x, y := AssociatedData(p[0][0], p[0][1]), AssociatedData(p[1][0], p[1][1])
		if bytes.Equal(x, y) {
			t.Errorf("AssociatedData(%q, %q) = AssociatedData(%q, %q) = %x", p[0][0], p[0][1], p[1][0], p[1][1], x)
		}
	}
	if x, y := AssociatedData("b", "k"), AssociatedData("b", "k"); !bytes.Equal(x, y) {
		t.Errorf("AssociatedData is not deterministic: %x, %x", x, y)
	}
}

func TestPartKey(t *testing.T) {
	key := testKey(3)
	seen := map[string]int{string(key): 0}
	for _, part := range []int{1, 2, 3, 255, 256, 9999, MaxParts} {
		k := PartKey(key, part)
		if len(k) != KeySize {
			t.Fatalf("len(PartKey(key, %d)) = %d, want %d", part, len(k), KeySize)
		}
		if prev, dup := seen[string(k)]; dup {
			t.Errorf("PartKey(key, %d) = PartKey(key, %d)", part, prev)
		}
		seen[string(k)] = part
		if again := PartKey(key, part); !bytes.Equal(k, again) {
			t.Errorf("PartKey(key, %d) is not deterministic", part)
		}
	}
	if bytes.Equal(PartKey(testKey(3), 1), PartKey(testKey(4), 1)) {
		t.Error("PartKey ignores the object key")
	}
	for _, bad := range []struct {
		name string
		key  []byte
		part int
	}{
		{"part 0", key, 0},
		{"part too large", key, MaxParts + 1},
		{"short key", key[:16], 1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: PartKey did not panic", bad.name)
				}
			}()
			PartKey(bad.key, bad.part)
		}()
	}
}

func TestAssociatedDataWithContext(t *testing.T) {
	base := AssociatedData("b", "o")
	if got := AssociatedDataWithContext("b", "o", nil); !bytes.Equal(got, base) {
		t.Errorf("AssociatedDataWithContext(nil) = %x, want AssociatedData %x", got, base)
	}
	a := AssociatedDataWithContext("b", "o", map[string]string{"y": "2", "x": "1"})
	b := AssociatedDataWithContext("b", "o", map[string]string{"x": "1", "y": "2"})
	if !bytes.Equal(a, b) {
		t.Errorf("context order changes the associated data")
	}
	if !bytes.HasSuffix(a, []byte(`{"x":"1","y":"2"}`)) || !bytes.HasPrefix(a, base) {
		t.Errorf("AssociatedDataWithContext = %q, want AssociatedData || len || canonical JSON", a)
	}
	if c := AssociatedDataWithContext("b", "o", map[string]string{"x": "2"}); bytes.Equal(a, c) {
		t.Errorf("different contexts give the same associated data")
	}
}

package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// readWindow decrypts window w cut out of the whole ciphertext ct.
func readWindow(ct, key []byte, w Window) ([]byte, error) {
	return io.ReadAll(DecryptReader(bytes.NewReader(ct[w.Offset:w.Offset+w.Length]), key, w))
}

// TestRangeWindow checks every range shape at package edges against a plaintext oracle: the
// window cut out of a real ciphertext decrypts to exactly plaintext[off:off+length].
func TestRangeWindow(t *testing.T) {
	key := testKey(5)
	for _, size := range []int64{1, P - 1, P, P + 1, 2 * P, 3*P + 17} {
		plain := plaintext(int(size))
		ct := encrypt(t, plain, key)
		var edges []int64
		for _, e := range []int64{0, 1, P - 1, P, P + 1, 2*P - 1, 2 * P, 2*P + 1, size - 1, size} {
			if 0 <= e && e <= size {
				edges = append(edges, e)
			}
		}
		for _, off := range edges {
			for _, end := range edges {
				if end <= off {
					continue
				}
				w := RangeWindow(off, end-off, size)
				name := fmt.Sprintf("size %d range [%d,%d)", size, off, end)
				checkWindowShape(t, name, w, off, end-off, size)
				got, err := readWindow(ct, key, w)
				if err != nil || !bytes.Equal(got, plain[off:end]) {
					t.Errorf("%s: decrypt(%+v) = %d bytes, %v, want plaintext[%d:%d]", name, w, len(got), err, off, end)
				}
			}
		}
	}
}

// checkWindowShape checks the invariants of RangeWindow(off, length, size) = w: whole
// packages, exactly those overlapping the range, and a consistent cut.
func checkWindowShape(t *testing.T, name string, w Window, off, length, size int64) {
	t.Helper()
	total, _ := EncryptedSize(size)
	firstPkg, lastPkg := off/P, (off+length-1)/P
	switch {
	case w.Offset != firstPkg*C:
		t.Errorf("%s: Offset = %d, want %d", name, w.Offset, firstPkg*C)
	case int64(w.Sequence) != firstPkg:
		t.Errorf("%s: Sequence = %d, want %d", name, w.Sequence, firstPkg)
	case (w.Offset+w.Length-1)/C != lastPkg:
		t.Errorf("%s: window [%d,+%d) does not end in package %d", name, w.Offset, w.Length, lastPkg)
	case w.Offset+w.Length > total:
		t.Errorf("%s: window [%d,+%d) passes the end %d", name, w.Offset, w.Length, total)
	case w.Partial != (w.Offset+w.Length < total):
		t.Errorf("%s: Partial = %t with window end %d of %d", name, w.Partial, w.Offset+w.Length, total)
	case w.Skip != off-firstPkg*P || w.Count != length:
		t.Errorf("%s: Skip, Count = %d, %d, want %d, %d", name, w.Skip, w.Count, off-firstPkg*P, length)
	case !w.valid():
		t.Errorf("%s: %+v is not valid", name, w)
	}
}

func TestRangeWindowTable(t *testing.T) {
	tests := []struct {
		name              string
		off, length, size int64
		want              Window
	}{
		{"one byte of one", 0, 1, 1, Window{Length: 33, Count: 1}},
		{"first byte of many", 0, 1, 3 * P, Window{Length: C, Count: 1, Partial: true}},
		{"last byte of first package", P - 1, 1, 3 * P, Window{Length: C, Skip: P - 1, Count: 1, Partial: true}},
		{"first byte of second package", P, 1, 3 * P, Window{Offset: C, Length: C, Sequence: 1, Count: 1, Partial: true}},
		{"straddling two packages", P - 1, 2, 3 * P, Window{Length: 2 * C, Skip: P - 1, Count: 2, Partial: true}},
		{"last byte, full final package", 3*P - 1, 1, 3 * P, Window{Offset: 2 * C, Length: C, Sequence: 2, Skip: P - 1, Count: 1}},
		{"last byte, short final package", 2 * P, 1, 2*P + 1, Window{Offset: 2 * C, Length: 33, Sequence: 2, Count: 1}},
		{"whole object", 0, 2*P + 1, 2*P + 1, Window{Length: 2*C + 33, Count: 2*P + 1}},
		{"inside the final package", 2*P + 1, 1, 2*P + 9, Window{Offset: 2 * C, Length: 41, Sequence: 2, Skip: 1, Count: 1}},
	}
	for _, tt := range tests {
		if got := RangeWindow(tt.off, tt.length, tt.size); got != tt.want {
			t.Errorf("%s: RangeWindow(%d, %d, %d) = %+v, want %+v", tt.name, tt.off, tt.length, tt.size, got, tt.want)
		}
	}
	for _, bad := range [][3]int64{{-1, 1, 5}, {0, 0, 5}, {4, 2, 5}, {0, 1, 0}, {0, 1, maxPlainSize + 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RangeWindow(%d, %d, %d) did not panic", bad[0], bad[1], bad[2])
				}
			}()
			RangeWindow(bad[0], bad[1], bad[2])
		}()
	}
}

// TestTamper checks that every modification of a 4-package ciphertext fails with
// ErrAuthentication, and that the bytes returned before the error are whole packages of
// plaintext that end before the bad package.
func TestTamper(t *testing.T) {
	key := testKey(6)
	const size = 3*P + 17 // packages 0, 1, 2 full; 3 final and short
	plain := plaintext(size)
	ct := encrypt(t, plain, key)
	last := 3 * C
	flip := func(at int) func([]byte) []byte {
		return func(b []byte) []byte { b[at] ^= 0x01; return b }
	}
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		bad    int // index of the first package that must not be returned
		key    []byte
	}{
		{"first header version", flip(0), 0, nil},
		{"first header cipher", flip(1), 0, nil},
		{"first header length", flip(2), 0, nil},
		{"first header final flag", func(b []byte) []byte { b[4] ^= 0x80; return b }, 0, nil},
		{"first header nonce", flip(15), 0, nil},
		{"first payload", flip(16), 0, nil},
		{"first tag", flip(C - 1), 0, nil},
		{"middle header", flip(C + 5), 1, nil},
		{"middle payload", flip(C + 16 + P/2), 1, nil},
		{"middle tag", flip(2*C - 16), 1, nil},
		{"last header", flip(last + 3), 3, nil},
		{"last payload", flip(last + 16), 3, nil},
		{"last tag", flip(len(ct) - 1), 3, nil},
		{"truncated at package boundary", func(b []byte) []byte { return b[:last] }, 3, nil},
		{"truncated inside last package", func(b []byte) []byte { return b[:len(b)-1] }, 3, nil},
		{"middle package dropped", func(b []byte) []byte { return append(b[:C:C], b[2*C:]...) }, 1, nil},
		{"middle packages swapped", func(b []byte) []byte {
			out := append([]byte(nil), b[:C]...)
			out = append(out, b[2*C:3*C]...)
			out = append(out, b[C:2*C]...)
			return append(out, b[3*C:]...)
		}, 1, nil},
		{"package duplicated", func(b []byte) []byte { return append(b[:2*C:2*C], b[C:]...) }, 2, nil},
		{"trailing garbage", func(b []byte) []byte { return append(b, make([]byte, 40)...) }, 3, nil},
		{"wrong key", func(b []byte) []byte { return b }, 0, testKey(7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := tt.mutate(bytes.Clone(ct))
			key := key
			if tt.key != nil {
				key = tt.key
			}
			// The proxy derives the plaintext size from the stored size.
			plainSize, err := DecryptedSize(int64(len(bad)))
			if err != nil {
				t.Fatalf("DecryptedSize(%d): %v; pick a mutation with a valid size", len(bad), err)
			}
			w := WholeWindow(plainSize)
			got, err := io.ReadAll(DecryptReader(bytes.NewReader(bad), key, w))
			checkTampered(t, got, err, plain, tt.bad)
			checkExactRead(t, bad, key, w)
		})
	}
}

func checkTampered(t *testing.T, got []byte, err error, plain []byte, bad int) {
	t.Helper()
	if !errors.Is(err, ErrAuthentication) {
		t.Errorf("error = %v, want ErrAuthentication", err)
	}
	if len(got)%P != 0 || len(got) > bad*P || !bytes.Equal(got, plain[:len(got)]) {
		t.Errorf("returned %d bytes before the error, want a plaintext prefix of whole packages before package %d", len(got), bad)
	}
}

// TestTamperWindows checks range reads: a bad package inside the window, a window that ends
// early, a final package where the window is Partial, and data after a final window.
// checkExactRead reads exactly w.Count bytes and stops, as an HTTP handler copying
// Content-Length bytes does: the error must show up all the same, the end of the window
// being checked before the last package is returned.
func checkExactRead(t *testing.T, src, key []byte, w Window) {
	t.Helper()
	for _, chunk := range []int{1, 1000, P, 4 * C} {
		r := DecryptReader(bytes.NewReader(src), key, w)
		n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, io.LimitReader(r, w.Count), make([]byte, chunk))
		if !errors.Is(err, ErrAuthentication) {
			t.Errorf("reading exactly %d bytes in chunks of %d = %d bytes, %v, want ErrAuthentication", w.Count, chunk, n, err)
		}
	}
}

func TestTamperWindows(t *testing.T) {
	key := testKey(8)
	plain := plaintext(2 * P) // two full packages; package 1 is final
	ct := encrypt(t, plain, key)
	tests := []struct {
		name string
		src  []byte
		w    Window
		bad  int // packages of the window that may be returned
	}{
		{"flipped byte in range", flipped(ct[C:], 100), RangeWindow(P, 10, 2*P), 0},
		{"short window", ct[:C+100], WholeWindow(2 * P), 1},
		{"window ends at boundary", ct[:C], WholeWindow(2 * P), 1},
		{"partial window ends in final package", ct[C:], RangeWindow(P, 1, 3*P), 1},
		{"final window lacks final package", ct[:C], RangeWindow(0, 1, P), 1},
		{"data after final window", append(bytes.Clone(ct[C:]), 0), RangeWindow(P+1, 1, 2*P), 1},
		{"package from another position", ct[:C], Window{Offset: C, Length: C, Sequence: 1, Count: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DecryptReader(bytes.NewReader(tt.src), key, tt.w)
			got, err := io.ReadAll(r)
			if !errors.Is(err, ErrAuthentication) {
				t.Errorf("error = %v, want ErrAuthentication", err)
			}
			if tt.bad == 0 && len(got) > 0 {
				t.Errorf("returned %d bytes of a bad package", len(got))
			}
			if _, err2 := r.Read(make([]byte, 10)); err2 != err {
				t.Errorf("Read after error = %v, want %v again", err2, err)
			}
			checkExactRead(t, tt.src, key, tt.w)
		})
	}
}

func flipped(b []byte, at int) []byte {
	b = bytes.Clone(b)
	b[at] ^= 1
	return b
}

// TestFirstReadAuthenticates checks that the first Read, whatever its size, returns nothing
// when the first package is bad, and a source error is returned as is.
func TestFirstReadAuthenticates(t *testing.T) {
	key := testKey(9)
	plain := plaintext(2*P + 5)
	ct := encrypt(t, plain, key)
	for _, n := range []int{1, 100, P, 3 * C} {
		for _, w := range []Window{WholeWindow(2*P + 5), RangeWindow(7, 3, 2*P+5)} {
			src := flipped(ct[:w.Length], C-1) // the first package's tag
			m, err := DecryptReader(bytes.NewReader(src), key, w).Read(make([]byte, n))
			if m != 0 || !errors.Is(err, ErrAuthentication) {
				t.Errorf("first Read(%d) of %+v = %d, %v, want 0, ErrAuthentication", n, w, m, err)
			}
		}
	}
	boom := errors.New("boom")
	src := io.MultiReader(bytes.NewReader(ct[:C+10]), iotest.ErrReader(boom))
	got, err := io.ReadAll(DecryptReader(src, key, WholeWindow(2*P+5)))
	if err != boom || !bytes.Equal(got, plain[:P]) {
		t.Errorf("DecryptReader(failing source) = %d bytes, %v, want %d bytes, %v", len(got), err, P, boom)
	}
}

func TestDecryptReaderInvalid(t *testing.T) {
	key := testKey(10)
	ct := encrypt(t, plaintext(P+1), key)
	tests := []struct {
		name string
		key  []byte
		w    Window
	}{
		{"short key", key[:16], WholeWindow(P + 1)},
		{"offset inside a package", key, Window{Offset: 1, Length: 33, Count: 1}},
		{"sequence mismatch", key, Window{Offset: C, Length: 33, Sequence: 2, Count: 1}},
		{"skip past first package", key, Window{Length: C + 33, Skip: P, Count: 1}},
		{"count past window", key, Window{Length: 33, Count: 2}},
		{"count ends before last package", key, Window{Length: C + 33, Count: 1}},
		{"zero count", key, Window{Length: 33}},
		{"partial but short last package", key, Window{Length: 33, Count: 1, Partial: true}},
		{"invalid length", key, Window{Length: 32}},
		{"empty with count", key, Window{Count: 1}},
		{"negative skip", key, Window{Length: 33, Skip: -1, Count: 1}},
	}
	for _, tt := range tests {
		got, err := io.ReadAll(DecryptReader(bytes.NewReader(ct), tt.key, tt.w))
		if err == nil || errors.Is(err, ErrAuthentication) || len(got) > 0 {
			t.Errorf("%s: DecryptReader = %d bytes, %v, want a non-authentication error", tt.name, len(got), err)
		}
	}
}

// TestEmptyObject documents that a zero-length body decrypts to an empty object, under any
// key: there is no package to authenticate (FORMAT.md, threat model).
func TestEmptyObject(t *testing.T) {
	for _, key := range [][]byte{testKey(11), testKey(12)} {
		got, err := io.ReadAll(DecryptReader(bytes.NewReader(nil), key, WholeWindow(0)))
		if err != nil || len(got) != 0 {
			t.Errorf("DecryptReader(empty) = %d bytes, %v, want 0, nil", len(got), err)
		}
	}
	if got, _ := EncryptedSize(0); got != 0 {
		t.Errorf("EncryptedSize(0) = %d, want 0", got)
	}
}

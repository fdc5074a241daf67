package sse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzPlain is the only plaintext ever encrypted under fuzzKey, with a fixed nonce: any
// plaintext a fuzzed window yields without an error must be a slice of it at the position the
// window names.
var (
	fuzzKey   = testKey(0x40)
	fuzzPlain = plaintext(2*P + 17)
	fuzzCT    = func() []byte {
		nonce := [12]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
		r, err := encryptReader(bytes.NewReader(fuzzPlain), fuzzKey, &nonce)
		if err != nil {
			panic(err)
		}
		ct, err := io.ReadAll(r)
		if err != nil {
			panic(err)
		}
		return ct
	}()
)

// FuzzDecryptReader feeds arbitrary ciphertext and windows to DecryptReader. It must never
// panic, return only ErrAuthentication or the invalid-window error, and every byte it returns
// must be the authentic plaintext at the position the window names; a read without error must
// return the whole range.
//
// To keep inputs small, the ciphertext is either patch itself (raw) or the stored ciphertext
// from the window's offset on, overwritten with patch at byte at and cut to cut bytes.
func FuzzDecryptReader(f *testing.F) {
	size := int64(len(fuzzPlain))
	seed := func(w Window, raw bool, patch []byte, at, cut uint32) {
		f.Add(raw, patch, at, cut, w.Offset, w.Length, w.Sequence, w.Skip, w.Count, w.Partial, uint16(4095))
	}
	for _, w := range []Window{
		WholeWindow(size), RangeWindow(0, 1, size), RangeWindow(P-1, 2, size),
		RangeWindow(P, P, size), RangeWindow(2*P+3, 14, size),
	} {
		seed(w, false, nil, 0, uint32(w.Length))
		seed(w, false, []byte{0xff}, 20, uint32(w.Length)) // a flipped payload byte
		seed(w, false, nil, 0, uint32(w.Length-1))         // truncated
	}
	seed(WholeWindow(size), false, nil, 0, 2*C)           // cut at a package boundary
	seed(WholeWindow(size), false, fuzzCT[C:2*C], 0, 2*C) // package 1 replayed as 0
	seed(WholeWindow(0), true, nil, 0, 0)                 // empty object
	seed(WholeWindow(1), true, fuzzCT[2*C:], 0, 0)        // the final package alone
	seed(Window{Offset: C, Length: 2 * C, Sequence: 1, Skip: 5, Count: P, Partial: true}, false, nil, 0, 2*C)
	f.Fuzz(func(t *testing.T, raw bool, patch []byte, at, cut uint32, off, length int64, seq uint32,
		skip, count int64, partial bool, chunk uint16) {
		w := Window{Offset: off, Length: length, Sequence: seq, Skip: skip, Count: count, Partial: partial}
		src := patch
		if !raw {
			src = bytes.Clone(fuzzCT[min(max(off, 0), int64(len(fuzzCT))):])
			if len(src) > 0 {
				copy(src[int(at)%len(src):], patch)
			}
			src = src[:min(int(cut), len(src))]
		}
		r := DecryptReader(bytes.NewReader(src), fuzzKey, w)
		var got []byte
		buf := make([]byte, int(chunk)%(2*C)+1)
		var err error
		for i := 0; i < 1<<20 && len(got) <= len(fuzzPlain); i++ {
			var n int
			n, err = r.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if err == nil {
			t.Fatalf("DecryptReader(%+v) returned %d bytes without an end", w, len(got))
		}
		if err != io.EOF && !errors.Is(err, ErrAuthentication) && err != errWindow {
			t.Fatalf("DecryptReader(%+v) error = %v", w, err)
		}
		start := int64(seq)*P + skip
		if len(got) > 0 && (start < 0 || start+int64(len(got)) > size || !bytes.Equal(got, fuzzPlain[start:start+int64(len(got))])) {
			t.Fatalf("DecryptReader(%+v) returned %d bytes that are not the plaintext at %d", w, len(got), start)
		}
		if err == io.EOF && int64(len(got)) != count {
			t.Fatalf("DecryptReader(%+v) = %d bytes and io.EOF, want %d bytes", w, len(got), count)
		}
	})
}

// FuzzRangeWindow checks the invariants of RangeWindow on every valid range, and that the
// window decrypts to the range when it fits in fuzzCT.
func FuzzRangeWindow(f *testing.F) {
	f.Add(int64(0), int64(1), int64(1))
	f.Add(int64(P-1), int64(2), int64(2*P))
	f.Add(int64(P), int64(P), int64(2*P+17))
	f.Add(int64(1)<<40, int64(1)<<30, int64(5)<<40)
	f.Add(int64(maxPlainSize-1), int64(1), int64(maxPlainSize))
	f.Fuzz(func(t *testing.T, off, length, size int64) {
		if off < 0 || length < 1 || size > maxPlainSize || off > size-length {
			return // preconditions the caller checks
		}
		w := RangeWindow(off, length, size)
		checkWindowShape(t, "fuzz", w, off, length, size)
		if w.Length > int64(PackageSize)*(length/P+2) {
			t.Fatalf("RangeWindow(%d, %d, %d) = %+v fetches more packages than the range touches", off, length, size, w)
		}
		if size == int64(len(fuzzPlain)) {
			got, err := readWindow(fuzzCT, fuzzKey, w)
			if err != nil || !bytes.Equal(got, fuzzPlain[off:off+length]) {
				t.Fatalf("decrypt(RangeWindow(%d, %d, %d)) = %d bytes, %v", off, length, size, len(got), err)
			}
		}
	})
}

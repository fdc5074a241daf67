package sigio

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// errMismatch is the test checker's failure.
var errMismatch = errors.New("sigio test: digest mismatch")

// sha256Checker is a Checker comparing the SHA-256 of the payload with
// want, counting Finish calls.
type sha256Checker struct {
	Hashes
	h        hash.Hash
	want     [sha256.Size]byte
	finished int
}

func newSHA256Checker(want [sha256.Size]byte) *sha256Checker {
	c := &sha256Checker{want: want}
	c.h = c.Add(sha256.New())
	return c
}

func (c *sha256Checker) Finish() error {
	c.finished++
	if !bytes.Equal(c.h.Sum(nil), c.want[:]) {
		return errMismatch
	}
	return nil
}

var _ Checker = (*sha256Checker)(nil)

// readAllWith drains r through Read calls of size n (1 = byte at a time).
func readAllWith(r io.Reader, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// Whatever the read pattern, a failed end check costs the last byte and a
// passed one delivers every byte.
func TestVerifyReaderWithholdsLastByte(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 10000)
	sum := sha256.Sum256(payload)
	sources := map[string]func(io.Reader) io.Reader{
		"whole":       func(r io.Reader) io.Reader { return r },
		"one byte":    iotest.OneByteReader,
		"half":        iotest.HalfReader,
		"data+EOF":    iotest.DataErrReader,
		"unknown len": func(r io.Reader) io.Reader { return io.MultiReader(r) },
	}
	for _, n := range []int{0, 1, 2, 100000} {
		for srcName, src := range sources {
			for _, readSize := range []int{1, 2, 7, 4096, 1 << 20} {
				for _, good := range []bool{true, false} {
					name := fmt.Sprintf("%d bytes/%s source/%d-byte reads/good %v", n, srcName, readSize, good)
					t.Run(name, func(t *testing.T) {
						want := sha256.Sum256(payload[:n])
						if !good {
							want = sum
							if n == len(payload) {
								want[0]++
							}
						}
						checks := newSHA256Checker(want)
						vr := NewVerifyReader(NewContentLengthReader(src(bytes.NewReader(payload[:n])), int64(n), errIncomplete), checks)
						got, err := readAllWith(vr, readSize)
						if good && (err != nil || !bytes.Equal(got, payload[:n])) {
							t.Fatalf("read %d bytes, %v, want %d bytes", len(got), err, n)
						}
						if !good && (!errors.Is(err, errMismatch) || len(got) >= max(n, 1)) {
							t.Fatalf("read %d bytes, %v, want fewer than %d and %v", len(got), err, max(n, 1), errMismatch)
						}
						if _, again := vr.Read(make([]byte, 1)); again != err && !(err == nil && again == io.EOF) {
							t.Errorf("Read after the end = %v, want %v again", again, err)
						}
						if checks.finished != 1 {
							t.Errorf("Finish called %d times, want 1", checks.finished)
						}
					})
				}
			}
		}
	}
}

// emptyReader returns (0, nil) forever.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestVerifyReaderSourceFailures(t *testing.T) {
	errSource := errors.New("sigio test: source failed")
	tests := []struct {
		name     string
		src      io.Reader
		want     string // bytes read before the error
		wantErr  error
		finished int // Finish calls
	}{
		{name: "source error passes through", src: io.MultiReader(strings.NewReader("hello"), iotest.ErrReader(errSource)), want: "hell", wantErr: errSource},
		{name: "source error at once", src: iotest.ErrReader(errSource), wantErr: errSource},
		{name: "no progress", src: emptyReader{}, wantErr: io.ErrNoProgress},
		{name: "no progress after data", src: io.MultiReader(strings.NewReader("hello"), emptyReader{}), want: "hell", wantErr: io.ErrNoProgress},
		{name: "empty source", src: strings.NewReader(""), finished: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := newSHA256Checker(sha256.Sum256([]byte(tt.want)))
			vr := NewVerifyReader(tt.src, checks)
			got, err := readAllWith(vr, 4096)
			if !errors.Is(err, tt.wantErr) || string(got) != tt.want {
				t.Errorf("read %q, %v, want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if n, again := vr.Read(make([]byte, 8)); n != 0 || (tt.wantErr != nil && again != err) {
				t.Errorf("Read after the end = %d, %v, want 0, %v", n, again, err)
			}
			if checks.finished != tt.finished {
				t.Errorf("Finish called %d times, want %d", checks.finished, tt.finished)
			}
		})
	}
}

func TestVerifyReaderEmptyRead(t *testing.T) {
	vr := NewVerifyReader(strings.NewReader("ab"), newSHA256Checker(sha256.Sum256([]byte("ab"))))
	if n, err := vr.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v, want 0, nil", n, err)
	}
	if got, err := io.ReadAll(vr); err != nil || string(got) != "ab" {
		t.Errorf("ReadAll after Read(nil) = %q, %v, want %q, nil", got, err, "ab")
	}
}

func TestHashes(t *testing.T) {
	var zero Hashes
	zero.Write([]byte("nothing to write to")) // must not panic

	parts := []string{"", "a", "bc", strings.Repeat("d", 64<<10+1)}
	var s Hashes
	a, b := s.Add(sha256.New()), s.Add(md5.New())
	for _, p := range parts {
		s.Write([]byte(p))
	}
	whole := []byte(strings.Join(parts, ""))
	wantA, wantB := sha256.Sum256(whole), md5.Sum(whole)
	if got := a.Sum(nil); !bytes.Equal(got, wantA[:]) {
		t.Errorf("first hash = %x, want %x", got, wantA)
	}
	if got := b.Sum(nil); !bytes.Equal(got, wantB[:]) {
		t.Errorf("second hash = %x, want %x", got, wantB)
	}
}

// errIncomplete stands for a verifier's own ErrIncompleteBody.
var errIncomplete = errors.New("sigio test: incomplete body")

func TestContentLengthReader(t *testing.T) {
	errSource := errors.New("sigio test: source failed")
	tests := []struct {
		name          string
		src           io.Reader
		contentLength int64
		want          string
		wantErr       error
	}{
		{name: "exact", src: strings.NewReader("hello"), contentLength: 5, want: "hello"},
		{name: "stops at content length", src: strings.NewReader("hello world"), contentLength: 5, want: "hello"},
		{name: "zero length reads nothing", src: iotest.ErrReader(errSource), contentLength: 0, want: ""},
		{name: "unknown length reads to EOF", src: strings.NewReader("hello world"), contentLength: -1, want: "hello world"},
		{name: "any negative length is unknown", src: strings.NewReader("hello world"), contentLength: -7, want: "hello world"},
		{name: "short body", src: strings.NewReader("hell"), contentLength: 5, wantErr: errIncomplete},
		{name: "empty body", src: strings.NewReader(""), contentLength: 1, wantErr: errIncomplete},
		{name: "unexpected EOF", src: iotest.ErrReader(io.ErrUnexpectedEOF), contentLength: 5, wantErr: errIncomplete},
		{name: "unexpected EOF of unknown length", src: iotest.ErrReader(io.ErrUnexpectedEOF), contentLength: -1, wantErr: errIncomplete},
		{name: "other errors pass through", src: iotest.ErrReader(errSource), contentLength: 5, wantErr: errSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewContentLengthReader(tt.src, tt.contentLength, errIncomplete)
			got, err := io.ReadAll(r)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReadAll() = %q, %v, want %v", got, err, tt.wantErr)
				}
				if n, again := r.Read(make([]byte, 8)); n != 0 || again != err {
					t.Errorf("Read after the error = %d, %v, want 0, %v", n, again, err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("ReadAll() = %q, %v, want %q, nil", got, err, tt.want)
			}
		})
	}
}

// The incomplete error is the caller's own: two verifiers with different
// sentinels each get theirs back.
func TestContentLengthReaderIncompleteIsCallers(t *testing.T) {
	errA, errB := errors.New("a: incomplete body"), errors.New("b: incomplete body")
	for _, want := range []error{errA, errB} {
		_, err := io.ReadAll(NewContentLengthReader(strings.NewReader("x"), 2, want))
		if err != want {
			t.Errorf("ReadAll() = %v, want %v", err, want)
		}
	}
}

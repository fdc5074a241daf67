package sse

import (
	"errors"
	"io"
)

// Layout describes the ciphertext of a multipart object. Each part is its
// own DARE stream under PartKey(objectKey, part). Every part but the last
// stores PartSize ciphertext bytes, a whole number of full packages; the
// last part stores the rest. Because only the last part ends in a short
// package, the plaintext size of such an object is DecryptedSize(Size), as
// for a single stream, and a listing needs no layout to report it.
type Layout struct {
	// PartSize is the ciphertext size of every part but the last.
	PartSize int64
	// Size is the ciphertext size of the whole object.
	Size int64
}

// ErrInvalidLayout is a part layout sseproxy does not write: parts other
// than the last that differ in size or are not whole packages.
var ErrInvalidLayout = errors.New("sse: invalid multipart layout")

// Aligned reports whether a part of plain plaintext bytes may be followed by
// further parts: it must fill whole packages.
func Aligned(plain int64) bool { return plain > 0 && plain%PayloadSize == 0 }

// Parts returns the number of parts of l.
func (l Layout) Parts() int {
	if l.PartSize <= 0 || l.Size <= 0 {
		return 0
	}
	return int((l.Size + l.PartSize - 1) / l.PartSize)
}

func (l Layout) valid() bool {
	return l.PartSize > 0 && l.PartSize%PackageSize == 0 && l.Size >= 0 && l.Size <= maxCipherSize &&
		(l.Size == 0 || l.Parts() <= MaxParts)
}

// PlainSize returns the plaintext size of the object.
func (l Layout) PlainSize() (int64, error) {
	if !l.valid() {
		return 0, ErrInvalidLayout
	}
	return DecryptedSize(l.Size)
}

// Segment is the piece of a multipart read that lies in one part: the part
// number (1-based) and the window relative to the part's first byte.
type Segment struct {
	Part   int
	Window Window
}

// Windows maps plaintext bytes [off, off+length) of the object to the one
// ciphertext range to fetch, [fetchOff, fetchOff+fetchLen), and the segments
// that decrypt it in order. Like RangeWindow it fetches only the packages
// that overlap the range. The caller validates the range first.
func (l Layout) Windows(off, length int64) (fetchOff, fetchLen int64, segs []Segment, err error) {
	size, err := l.PlainSize()
	if err != nil {
		return 0, 0, nil, err
	}
	if off < 0 || length < 1 || off > size-length {
		return 0, 0, nil, errWindow
	}
	partPlain := l.PartSize / PackageSize * PayloadSize
	first, last := off/partPlain, (off+length-1)/partPlain
	for j := first; j <= last; j++ {
		start := j * partPlain
		plain := min(partPlain, size-start)
		lo, hi := max(off, start)-start, min(off+length, start+plain)-start
		w := RangeWindow(lo, hi-lo, plain)
		if j == first {
			fetchOff = j*l.PartSize + w.Offset
		}
		fetchLen = j*l.PartSize + w.Offset + w.Length - fetchOff
		segs = append(segs, Segment{Part: int(j) + 1, Window: w})
	}
	return fetchOff, fetchLen, segs, nil
}

// DecryptParts returns the plaintext of segs, read in order from src, which
// holds exactly the fetched ciphertext range. Each segment decrypts under its
// part key; failures are ErrAuthentication, as for DecryptReader.
func DecryptParts(src io.Reader, objectKey []byte, segs []Segment) io.Reader {
	return &partsReader{src: src, key: objectKey, segs: segs}
}

type partsReader struct {
	src  io.Reader
	key  []byte
	segs []Segment
	cur  io.Reader
}

func (r *partsReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if len(r.segs) == 0 {
				return 0, io.EOF
			}
			s := r.segs[0]
			r.segs = r.segs[1:]
			r.cur = DecryptReader(io.LimitReader(r.src, s.Window.Length), PartKey(r.key, s.Part), s.Window)
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

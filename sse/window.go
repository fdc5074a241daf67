package sse

import (
	"errors"
	"io"

	"github.com/minio/sio"
)

// Window is the ciphertext a plaintext range needs, and how to cut the range out of its
// decryption. A window is whole packages: the caller fetches ciphertext bytes
// [Offset, Offset+Length) from the backend in one ranged read and passes them, with the
// Window, to DecryptReader. Build windows with RangeWindow or WholeWindow.
type Window struct {
	// Offset is the first ciphertext byte to fetch, the start of a package.
	Offset int64
	// Length is the number of ciphertext bytes to fetch, whole packages.
	Length int64
	// Sequence is the sequence number of the first fetched package, Offset/PackageSize.
	Sequence uint32
	// Skip is the number of plaintext bytes to drop from the first decrypted package.
	Skip int64
	// Count is the number of plaintext bytes to return after Skip.
	Count int64
	// Partial is set when the window ends before the object's final package. DecryptReader
	// requires the window's last package to carry the final flag exactly when Partial is
	// false, so that an object truncated at a package boundary never decrypts. The zero value
	// (false) is the safe one: a hand-built whole-object window checks the final flag.
	Partial bool
}

// RangeWindow returns the Window of plaintext bytes [off, off+length) of an object of size
// plaintext bytes. The window covers exactly the packages that overlap the range, so a
// one-byte range fetches one package.
//
// The caller validates the range first (and answers 416 itself): RangeWindow panics unless
// 0 <= off, 1 <= length and off+length <= size <= 2^48.
func RangeWindow(off, length, size int64) Window {
	if off < 0 || length < 1 || size > maxPlainSize || off > size-length {
		panic("sse: RangeWindow: range out of bounds")
	}
	first := off / PayloadSize
	last := (off + length - 1) / PayloadSize
	final := (size - 1) / PayloadSize
	end := (last + 1) * PackageSize
	if last == final {
		end, _ = EncryptedSize(size)
	}
	return Window{
		Offset:   first * PackageSize,
		Length:   end - first*PackageSize,
		Sequence: uint32(first),
		Skip:     off - first*PayloadSize,
		Count:    length,
		Partial:  last != final,
	}
}

// WholeWindow returns the Window of an entire object of plainSize plaintext bytes. It panics
// if plainSize is negative or larger than 2^48; sizes from DecryptedSize never are.
func WholeWindow(plainSize int64) Window {
	size, err := EncryptedSize(plainSize)
	if err != nil {
		panic("sse: WholeWindow: " + err.Error())
	}
	return Window{Length: size, Count: plainSize}
}

// errWindow reports a Window that neither RangeWindow nor WholeWindow returns: a caller bug,
// not an attack.
var errWindow = errors.New("sse: invalid window")

// valid reports whether w is a window that RangeWindow or WholeWindow can return: whole
// packages, a consistent sequence number, and a plaintext range that starts in the first
// package and ends in the last, so that every fetched package is read and authenticated.
func (w Window) valid() bool {
	if w.Length == 0 {
		return w == Window{}
	}
	plain, err := DecryptedSize(w.Length)
	if err != nil || w.Offset < 0 || w.Offset%PackageSize != 0 {
		return false
	}
	seq := w.Offset / PackageSize
	packages := (w.Length + PackageSize - 1) / PackageSize
	if seq != int64(w.Sequence) || seq+packages > 1<<32 {
		return false
	}
	if w.Partial && w.Length%PackageSize != 0 { // only a final package is short
		return false
	}
	end := w.Skip + w.Count
	lastStart := (packages - 1) * PayloadSize
	return 0 <= w.Skip && w.Skip < PayloadSize && w.Count >= 1 && lastStart < end && end <= plain
}

// DecryptReader returns a reader of the plaintext of the window w of an object encrypted
// under key. src yields the window's ciphertext: w.Length bytes starting at w.Offset of the
// stored object (the whole object, for WholeWindow). When the window ends at the end of the
// object (w.Partial is false), DecryptReader also checks that src ends there.
//
// The first Read with a non-empty buffer decrypts and authenticates the first package before
// it returns any byte, so a caller can fail before it writes a response status. No byte of a
// package is ever returned before that package authenticates. Any modification, truncation
// (fewer than w.Length bytes, a missing final package, a final package where the window is
// Partial), extension, reordering, or a wrong key makes Read return an error that wraps
// ErrAuthentication; errors from src other than a premature end are returned unchanged. The
// end of the window (the last package's final flag against w.Partial, and that src ends with
// the window when w.Partial is false) is checked before any byte of the last package is
// returned, so a caller that stops after w.Count bytes has still verified the whole window.
// Errors are sticky.
//
// w must come from RangeWindow or WholeWindow (a literal equal to WholeWindow's result is
// fine); any other window makes Read fail with an error that is not ErrAuthentication. An
// empty window (WholeWindow(0)) reads no ciphertext and yields no plaintext: a zero-length
// stored object is an empty object under any key (see FORMAT.md, threat model).
func DecryptReader(src io.Reader, key []byte, w Window) io.Reader {
	switch {
	case len(key) != KeySize:
		return &decReader{err: errKeySize}
	case !w.valid():
		return &decReader{err: errWindow}
	}
	flags := &flagReader{r: io.LimitReader(src, w.Length), at: (w.Length - 1) / PackageSize * PackageSize}
	dec, err := sio.DecryptReader(flags, config(key, w.Sequence))
	if err != nil { // unreachable: config is valid
		return &decReader{err: err}
	}
	packages := (w.Length + PackageSize - 1) / PackageSize
	return &decReader{src: src, flags: flags, dec: dec, w: w, lastStart: max(packages-1, 0) * PayloadSize}
}

// decReader cuts [Skip, Skip+Count) out of sio's plaintext. It checks the end of the window
// (the final flag, and for a final window that nothing follows it) as soon as sio has
// authenticated the window's last package, and before it returns any byte of that package: a
// caller that reads exactly Count bytes and stops, as an HTTP handler copying Content-Length
// bytes does, still sees a truncated object fail.
type decReader struct {
	src       io.Reader   // the caller's ciphertext, to check nothing follows a final package
	flags     *flagReader // src limited to w.Length, remembering the last package's final flag
	dec       io.Reader   // sio's decrypting reader over flags
	w         Window
	pos       int64 // plaintext of the window consumed: dropped or returned
	lastStart int64 // plaintext offset in the window of the last package
	checked   bool  // the end of the window has been checked
	err       error // sticky: the first error, io.EOF included
}

func (r *decReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.pos < r.w.Skip { // sio authenticates the whole first package before it yields any of it
		if _, err := io.CopyN(io.Discard, r.dec, r.w.Skip); err != nil {
			return 0, r.fail(decryptErr(err))
		}
		r.pos = r.w.Skip
		if err := r.checkEnd(); err != nil {
			return 0, r.fail(err)
		}
	}
	end := r.w.Skip + r.w.Count
	if r.pos == end {
		r.release()
		return 0, r.fail(io.EOF)
	}
	limit := end - r.pos
	if r.pos < r.lastStart { // never read into the last package with earlier ones
		limit = min(limit, r.lastStart-r.pos)
	}
	if int64(len(p)) > limit {
		p = p[:limit]
	}
	n, err := r.dec.Read(p)
	if err != nil {
		return n, r.fail(decryptErr(err)) // n bytes of authentic packages
	}
	if err := r.checkEnd(); err != nil {
		return 0, r.fail(err) // withhold the last package
	}
	r.pos += int64(n)
	return n, nil
}

// release lets sio reach the end of its input, which is when it returns
// its 64 KiB package buffer to its pool; a reader abandoned earlier leaves
// a fresh buffer to be allocated (and zeroed) by the next stream. Every
// package of the window has authenticated by now (checked), so what is
// left is at most the rest of the last package's plaintext, read and
// dropped. The window's input ends with its last package (flags limits src
// to w.Length), so nothing more is read from src. For a whole-object window
// sio then sees the end after the final package; for a partial one it sees
// an end without a final package and fails, which also recycles the
// buffer, and which the caller never sees: Read has already returned
// Count bytes and answers io.EOF.
func (r *decReader) release() {
	if !r.checked {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.dec, PayloadSize+1))
}

func (r *decReader) fail(err error) error {
	r.err = err
	return err
}

// checkEnd checks the end of the window once sio has read all of it. sio returns plaintext
// only from packages that authenticated, so the last package's header, and its final flag,
// are authentic by then.
func (r *decReader) checkEnd() error {
	if r.checked || r.flags.n < r.w.Length {
		return nil
	}
	r.checked = true
	if r.flags.final == r.w.Partial {
		return ErrAuthentication
	}
	if r.w.Partial {
		return nil
	}
	var b [1]byte // nothing may follow the final package
	n, err := io.ReadFull(r.src, b[:])
	switch {
	case n > 0:
		return ErrAuthentication
	case err == io.EOF:
		return nil
	default:
		return err
	}
}

// decryptErr maps sio's errors, and a ciphertext that ends early, to ErrAuthentication.
func decryptErr(err error) error {
	var sioErr sio.Error
	if errors.As(err, &sioErr) || err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrAuthentication
	}
	return err
}

// flagReader counts the bytes read through it and remembers the final flag (bit 7 of header
// byte 4) of the package that starts at offset at. sio authenticates the header as part of the
// package, so once that package has decrypted, final is authentic.
type flagReader struct {
	r     io.Reader
	at    int64 // offset of the window's last package
	n     int64 // bytes read so far
	final bool
}

func (f *flagReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if i := f.at + 4 - f.n; 0 <= i && i < int64(n) {
		f.final = p[i]&0x80 != 0
	}
	f.n += int64(n)
	return n, err
}

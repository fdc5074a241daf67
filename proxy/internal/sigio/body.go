// Package sigio is the request input that the signature verifiers of
// proxy/auth (AWS SigV4) and proxy/ossauth (OSS V1 and V4) read the same
// way: the query string, decoded and re-encoded for a canonical request,
// and the payload, read so that a failed end-of-payload check costs the
// consumer the last byte. What is checked, and which errors mean what,
// stays with each verifier.
package sigio

import (
	"hash"
	"io"
)

// maxEmptyReads bounds how often a source may return (0, nil) in a row.
const maxEmptyReads = 100

// Checker receives the payload as a VerifyReader delivers it and decides,
// once the payload has ended, whether it was the one that was signed. A
// VerifyReader calls it from its Read only, so it needs no locking.
type Checker interface {
	// Write takes the next payload bytes, in order. It must not keep p.
	Write(p []byte)
	// Finish is called at most once, after the source has ended without
	// error. A non-nil error becomes the error of the Read that would
	// have returned the last payload byte, and of every Read after it.
	Finish() error
}

// Hashes are the digests one request asked for, all written with the
// same payload bytes. A Checker embeds Hashes for its Write method and
// adds only the hashes it will compare, so nothing unrequested is
// computed. The zero value holds no hash.
type Hashes struct {
	hs []hash.Hash
}

// Add includes h in every later Write and returns it.
func (s *Hashes) Add(h hash.Hash) hash.Hash {
	s.hs = append(s.hs, h)
	return h
}

// Write writes p to every added hash, in the order they were added.
func (s *Hashes) Write(p []byte) {
	for _, h := range s.hs {
		h.Write(p)
	}
}

// VerifyReader feeds the payload from its source to a Checker and
// withholds the last byte until the source has ended and the Checker's
// Finish has passed: a failed check surfaces as the error of the Read
// that would have returned the final byte, so a consumer writing to an
// exact Content-Length never completes. Errors are sticky.
type VerifyReader struct {
	src        io.Reader
	checks     Checker
	pending    byte // the withheld byte, already checked
	hasPending bool
	srcDone    bool // src returned io.EOF
	one        [1]byte
	err        error // sticky: io.EOF after success, or the failure
}

// NewVerifyReader returns a VerifyReader of the payload from src, fed to
// checks. An error from src other than io.EOF is returned as it is; a
// source that returns (0, nil) 100 times in a row fails with
// io.ErrNoProgress.
func NewVerifyReader(src io.Reader, checks Checker) *VerifyReader {
	return &VerifyReader{src: src, checks: checks}
}

// Read implements io.Reader.
func (v *VerifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for range maxEmptyReads {
		if v.srcDone {
			return v.finish(p)
		}
		// With a withheld byte, read behind it so it can go out first.
		dst := p
		if v.hasPending {
			dst = p[1:]
			if len(p) == 1 {
				dst = v.one[:]
			}
		}
		n, err := v.src.Read(dst)
		if err != nil && err != io.EOF {
			v.err = err
			return 0, err
		}
		v.srcDone = err == io.EOF
		if n == 0 {
			continue
		}
		v.checks.Write(dst[:n])
		if v.hasPending && len(p) == 1 {
			p[0], v.pending = v.pending, v.one[0]
			return 1, nil
		}
		out := n
		if v.hasPending {
			p[0] = v.pending
			out++
		}
		out--
		v.pending, v.hasPending = p[out], true
		if out > 0 {
			return out, nil
		}
	}
	v.err = io.ErrNoProgress
	return 0, v.err
}

// finish runs the end-of-payload checks and releases the withheld byte.
func (v *VerifyReader) finish(p []byte) (int, error) {
	if err := v.checks.Finish(); err != nil {
		v.err = err
		return 0, err
	}
	v.err = io.EOF
	if !v.hasPending {
		return 0, io.EOF
	}
	p[0], v.hasPending = v.pending, false
	return 1, nil
}

// ContentLengthReader reads a body that is the payload itself, limited to
// its Content-Length when that is known. Errors are sticky.
type ContentLengthReader struct {
	r          io.Reader
	remaining  int64 // -1: unknown, read to EOF
	incomplete error
	err        error
}

// NewContentLengthReader returns a reader of at most contentLength bytes
// of r, or of all of r when contentLength is negative (unknown). A body
// that ends before contentLength bytes, or whose reads fail with
// io.ErrUnexpectedEOF, fails with incomplete: the caller's own sentinel,
// so that its errors.Is tests keep working; it must not be nil. Other
// errors of r are returned as they are.
func NewContentLengthReader(r io.Reader, contentLength int64, incomplete error) *ContentLengthReader {
	return &ContentLengthReader{r: r, remaining: max(contentLength, -1), incomplete: incomplete}
}

// Read implements io.Reader.
func (c *ContentLengthReader) Read(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.remaining == 0 {
		c.err = io.EOF
		return 0, io.EOF
	}
	if c.remaining > 0 && int64(len(b)) > c.remaining {
		b = b[:c.remaining]
	}
	n, err := c.r.Read(b)
	if c.remaining > 0 {
		c.remaining -= int64(n)
	}
	switch {
	case err == io.EOF && c.remaining > 0, err == io.ErrUnexpectedEOF:
		c.err = c.incomplete
		return 0, c.err
	case err != nil:
		c.err = err
		if err == io.EOF {
			return n, nil
		}
		return 0, err
	}
	return n, nil
}

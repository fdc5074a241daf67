package ossauth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
)

// maxEmptyReads bounds how often a source may return (0, nil) in a row.
const maxEmptyReads = 100

// payloadChecks are the digests one request asked for, fed with the
// payload and compared when it ends. Only requested digests are computed.
type payloadChecks struct {
	hashes []hash.Hash // every active hash below, for writing

	sha256     hash.Hash // x-oss-content-sha256 is a hex digest (V4)
	wantSHA256 [sha256.Size]byte

	md5     hash.Hash // Content-MD5 was sent
	wantMD5 [md5.Size]byte
}

func (c *payloadChecks) add(h hash.Hash) hash.Hash {
	c.hashes = append(c.hashes, h)
	return h
}

func (c *payloadChecks) write(p []byte) {
	for _, h := range c.hashes {
		h.Write(p)
	}
}

// finish runs when the payload has ended.
func (c *payloadChecks) finish() error {
	var buf [sha256.Size]byte
	if c.md5 != nil && subtle.ConstantTimeCompare(c.md5.Sum(buf[:0]), c.wantMD5[:]) != 1 {
		return fmt.Errorf("%w: Content-MD5", ErrBadDigest)
	}
	if c.sha256 != nil && subtle.ConstantTimeCompare(c.sha256.Sum(buf[:0]), c.wantSHA256[:]) != 1 {
		return fmt.Errorf("%w: x-oss-content-sha256", ErrBadDigest)
	}
	return nil
}

// parseContentMD5 decodes the Content-MD5 header: absent (ok == false), or
// exactly once and the standard base64 of 16 bytes.
func parseContentMD5(h http.Header) (sum [md5.Size]byte, ok bool, err error) {
	vals := h.Values("Content-Md5")
	switch {
	case len(vals) == 0:
		return sum, false, nil
	case len(vals) > 1:
		return sum, false, fmt.Errorf("%w: more than one Content-MD5 header", ErrInvalidDigest)
	}
	v := vals[0]
	if len(v) != base64.StdEncoding.EncodedLen(md5.Size) {
		return sum, false, fmt.Errorf("%w: %d characters", ErrInvalidDigest, len(v))
	}
	// 24 characters without padding decode to 18 bytes: decode into room
	// for that and insist on 16.
	var buf [md5.Size + 2]byte
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(v))
	if err != nil || n != md5.Size {
		return sum, false, fmt.Errorf("%w: not the base64 of %d bytes", ErrInvalidDigest, md5.Size)
	}
	copy(sum[:], buf[:n])
	return sum, true, nil
}

// newBody returns the verifying payload reader of an authenticated request:
// Content-MD5 when sent, and payloadHash (the V4 x-oss-content-sha256, or
// "" for V1) when it is a hex digest.
func newBody(r *http.Request, payloadHash string) (*Result, error) {
	checks := &payloadChecks{}
	if len(payloadHash) == hex.EncodedLen(sha256.Size) {
		if _, err := hex.Decode(checks.wantSHA256[:], []byte(payloadHash)); err != nil {
			return nil, fmt.Errorf("%w: x-oss-content-sha256 %.64q", ErrInvalidArgument, payloadHash)
		}
		checks.sha256 = checks.add(sha256.New())
	}
	if want, ok, err := parseContentMD5(r.Header); err != nil {
		return nil, err
	} else if ok {
		checks.wantMD5 = want
		checks.md5 = checks.add(md5.New())
	}
	var body io.Reader = r.Body
	if body == nil {
		body = http.NoBody
	}
	src := &plainReader{r: body, remaining: max(r.ContentLength, -1)}
	return &Result{
		Body:          &verifyReader{src: src, checks: checks},
		ContentLength: r.ContentLength,
	}, nil
}

// verifyReader hashes the payload from src and withholds its last byte
// until src has ended and every check has passed: a failed check surfaces
// as the error of the Read that would have returned the final byte, so a
// consumer writing to an exact Content-Length never completes.
type verifyReader struct {
	src        io.Reader
	checks     *payloadChecks
	pending    byte // the withheld byte, already hashed
	hasPending bool
	srcDone    bool // src returned io.EOF
	one        [1]byte
	err        error // sticky: io.EOF after success, or the failure
}

// Read implements io.Reader.
func (v *verifyReader) Read(p []byte) (int, error) {
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
		v.checks.write(dst[:n])
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
func (v *verifyReader) finish(p []byte) (int, error) {
	if err := v.checks.finish(); err != nil {
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

// plainReader reads a body limited to its Content-Length (when known);
// ending early is ErrIncompleteBody.
type plainReader struct {
	r         io.Reader
	remaining int64 // -1: unknown, read to EOF
	err       error
}

// Read implements io.Reader.
func (p *plainReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if p.remaining == 0 {
		p.err = io.EOF
		return 0, io.EOF
	}
	if p.remaining > 0 && int64(len(b)) > p.remaining {
		b = b[:p.remaining]
	}
	n, err := p.r.Read(b)
	if p.remaining > 0 {
		p.remaining -= int64(n)
	}
	switch {
	case err == io.EOF && p.remaining > 0, err == io.ErrUnexpectedEOF:
		p.err = ErrIncompleteBody
		return 0, p.err
	case err != nil:
		p.err = err
		if err == io.EOF {
			return n, nil
		}
		return 0, err
	}
	return n, nil
}

package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
)

// maxEmptyReads bounds how often a source may return (0, nil) in a row.
const maxEmptyReads = 100

// payloadChecks are the digests one request asked for, fed with the decoded
// payload and compared when it ends. Only requested digests are computed.
type payloadChecks struct {
	hashes []hash.Hash // every active hash below, for writing

	sha256     hash.Hash // x-amz-content-sha256 is a hex digest
	wantSHA256 [sha256.Size]byte

	md5     hash.Hash // Content-MD5 was sent
	wantMD5 [md5.Size]byte

	sum  hash.Hash // an x-amz-checksum-* header or trailer was declared
	decl checksumDecl

	chunked   *chunkedReader    // where a trailer value comes from
	checksums map[string]string // Result.Checksums, completed with the trailer
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

// finish runs when the payload has ended and every framing check passed.
func (c *payloadChecks) finish() error {
	var buf [sha256.Size]byte
	if c.sha256 != nil && subtle.ConstantTimeCompare(c.sha256.Sum(buf[:0]), c.wantSHA256[:]) != 1 {
		return ErrContentSHA256Mismatch
	}
	if c.md5 != nil && subtle.ConstantTimeCompare(c.md5.Sum(buf[:0]), c.wantMD5[:]) != 1 {
		return fmt.Errorf("%w: Content-MD5", ErrBadDigest)
	}
	if c.sum == nil {
		return nil
	}
	if c.decl.trailer {
		v := c.chunked.trailerValue
		want, ok := decodeBase64Digest(v, checksumAlgs[c.decl.alg].size)
		if !ok {
			return fmt.Errorf("%w: value for %s trailing header is invalid", ErrInvalidChecksum, checksumAlgs[c.decl.alg].header)
		}
		c.decl.value, c.decl.want = v, want
		c.checksums[c.decl.alg.String()] = v
	}
	if subtle.ConstantTimeCompare(c.sum.Sum(buf[:0]), c.decl.want) != 1 {
		return fmt.Errorf("%w: the %s you specified did not match the calculated checksum", ErrBadDigest, c.decl.alg)
	}
	return nil
}

// verifyReader hashes the decoded payload from src and withholds its last
// byte until src has ended and every check has passed: a failed check
// surfaces as the error of the Read that would have returned the final
// byte, so a consumer writing to an exact Content-Length never completes.
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

// plainReader reads a body that is the payload itself, limited to its
// Content-Length (when known); ending early is ErrIncompleteBody.
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

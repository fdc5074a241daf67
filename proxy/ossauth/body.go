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

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// payloadChecks are the digests one request asked for, fed with the
// payload and compared when it ends. Only requested digests are computed.
type payloadChecks struct {
	sigio.Hashes // every active hash below, for Write

	sha256     hash.Hash // x-oss-content-sha256 is a hex digest (V4)
	wantSHA256 [sha256.Size]byte

	md5     hash.Hash // Content-MD5 was sent
	wantMD5 [md5.Size]byte
}

var _ sigio.Checker = (*payloadChecks)(nil)

// Finish implements sigio.Checker: it runs when the payload has ended.
func (c *payloadChecks) Finish() error {
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
		checks.sha256 = checks.Add(sha256.New())
	}
	if want, ok, err := parseContentMD5(r.Header); err != nil {
		return nil, err
	} else if ok {
		checks.wantMD5 = want
		checks.md5 = checks.Add(md5.New())
	}
	var body io.Reader = r.Body
	if body == nil {
		body = http.NoBody
	}
	src := sigio.NewContentLengthReader(body, r.ContentLength, ErrIncompleteBody)
	return &Result{
		Body:          sigio.NewVerifyReader(src, checks),
		ContentLength: r.ContentLength,
	}, nil
}

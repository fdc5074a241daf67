package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// payloadChecks are the digests one request asked for, fed with the decoded
// payload and compared when it ends. Only requested digests are computed.
type payloadChecks struct {
	sigio.Hashes // every active hash below, for Write

	sha256     hash.Hash // x-amz-content-sha256 is a hex digest
	wantSHA256 [sha256.Size]byte

	md5     hash.Hash // Content-MD5 was sent
	wantMD5 [md5.Size]byte

	sum  hash.Hash // an x-amz-checksum-* header or trailer was declared
	decl checksumDecl

	chunked   *chunkedReader    // where a trailer value comes from
	checksums map[string]string // Result.Checksums, completed with the trailer
}

var _ sigio.Checker = (*payloadChecks)(nil)

// Finish implements sigio.Checker: it runs when the payload has ended and
// every framing check passed.
func (c *payloadChecks) Finish() error {
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

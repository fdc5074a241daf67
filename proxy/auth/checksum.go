package auth

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"net/http"
	"strings"

	"github.com/minio/crc64nvme"
)

// checksumAlg is one of the flexible-checksum algorithms of S3.
type checksumAlg uint8

// The algorithms, in the order of checksumAlgs.
const (
	algNone checksumAlg = iota
	algCRC32
	algCRC32C
	algCRC64NVME
	algSHA1
	algSHA256
)

// checksumAlgs names each algorithm as Result.Checksums keys it, as its
// x-amz-checksum-* header, and gives its digest size.
var checksumAlgs = [...]struct {
	name   string
	header string
	size   int
}{
	algNone:      {},
	algCRC32:     {"CRC32", "x-amz-checksum-crc32", crc32.Size},
	algCRC32C:    {"CRC32C", "x-amz-checksum-crc32c", crc32.Size},
	algCRC64NVME: {"CRC64NVME", "x-amz-checksum-crc64nvme", 8},
	algSHA1:      {"SHA1", "x-amz-checksum-sha1", sha1.Size},
	algSHA256:    {"SHA256", "x-amz-checksum-sha256", sha256.Size},
}

// castagnoli is built once; hash/crc32 uses the SSE4.2/ARMv8 CRC32C
// instructions for it.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// String returns the algorithm's name, for example "CRC32C".
func (a checksumAlg) String() string { return checksumAlgs[a].name }

// newHash returns a fresh hash computing a's digest (big-endian for CRCs,
// as S3 encodes them).
func (a checksumAlg) newHash() hash.Hash {
	switch a {
	case algCRC32:
		return crc32.NewIEEE()
	case algCRC32C:
		return crc32.New(castagnoli)
	case algCRC64NVME:
		return crc64nvme.New()
	case algSHA1:
		return sha1.New()
	case algSHA256:
		return sha256.New()
	}
	panic("auth: newHash of unknown checksum algorithm")
}

// checksumAlgByHeader maps a lowercase header name such as
// "x-amz-checksum-crc32c" to its algorithm, or algNone.
func checksumAlgByHeader(name string) checksumAlg {
	for a := algCRC32; a <= algSHA256; a++ {
		if checksumAlgs[a].header == name {
			return a
		}
	}
	return algNone
}

// checksumAlgByName maps "crc32c" or "CRC32C" to its algorithm, or algNone.
func checksumAlgByName(name string) checksumAlg {
	for a := algCRC32; a <= algSHA256; a++ {
		if strings.EqualFold(checksumAlgs[a].name, name) {
			return a
		}
	}
	return algNone
}

// decodeBase64Digest decodes v, which must be the canonical standard
// base64 of exactly size bytes. Canonical means nothing but the base64
// alphabet and padding survives, so the value is safe to echo in a header.
func decodeBase64Digest(v string, size int) ([]byte, bool) {
	if len(v) != base64.StdEncoding.EncodedLen(size) {
		return nil, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != size || base64.StdEncoding.EncodeToString(b) != v {
		return nil, false
	}
	return b, true
}

// checksumDecl is the one x-amz-checksum-* a request declares.
type checksumDecl struct {
	alg checksumAlg // algNone: no checksum declared
	// trailer is set when the value arrives as an aws-chunked trailer
	// (named by x-amz-trailer) rather than as a header.
	trailer bool
	value   string // base64 as declared; empty for a trailer until it is read
	want    []byte // decoded value
}

// parseChecksumHeaders finds the checksum a request declares: an
// x-amz-checksum-<alg> header or an x-amz-trailer naming one. S3 allows one;
// x-amz-sdk-checksum-algorithm, when sent, must name the same algorithm.
// Errors wrap ErrInvalidChecksum.
func parseChecksumHeaders(h http.Header) (checksumDecl, error) {
	var d checksumDecl
	for key, vals := range h {
		lower := strings.ToLower(key)
		if !strings.HasPrefix(lower, "x-amz-checksum-") {
			continue
		}
		alg := checksumAlgByHeader(lower)
		if alg == algNone {
			continue // x-amz-checksum-type, -algorithm, -mode: not values
		}
		if d.alg != algNone || len(vals) != 1 {
			return d, fmt.Errorf("%w: expecting a single x-amz-checksum- header", ErrInvalidChecksum)
		}
		want, ok := decodeBase64Digest(vals[0], checksumAlgs[alg].size)
		if !ok {
			return d, fmt.Errorf("%w: value for %s header is invalid", ErrInvalidChecksum, lower)
		}
		d = checksumDecl{alg: alg, value: vals[0], want: want}
	}
	if names := h.Values("X-Amz-Trailer"); len(names) > 0 {
		var trailer []string
		for _, v := range names {
			for name := range strings.SplitSeq(v, ",") {
				if name = strings.TrimSpace(name); name != "" {
					trailer = append(trailer, strings.ToLower(name))
				}
			}
		}
		var alg checksumAlg
		if len(trailer) == 1 {
			alg = checksumAlgByHeader(trailer[0])
		}
		if alg == algNone {
			return d, fmt.Errorf("%w: the value specified in the x-amz-trailer header is not supported", ErrInvalidChecksum)
		}
		if d.alg != algNone {
			return d, fmt.Errorf("%w: expecting a single x-amz-checksum- header", ErrInvalidChecksum)
		}
		d = checksumDecl{alg: alg, trailer: true}
	}
	if sdk := h.Values("X-Amz-Sdk-Checksum-Algorithm"); len(sdk) > 0 {
		alg := algNone
		if len(sdk) == 1 {
			alg = checksumAlgByName(sdk[0])
		}
		switch {
		case alg == algNone:
			return d, fmt.Errorf("%w: unknown x-amz-sdk-checksum-algorithm", ErrInvalidChecksum)
		case d.alg == algNone:
			return d, fmt.Errorf("%w: x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found", ErrInvalidChecksum)
		case d.alg != alg:
			return d, fmt.Errorf("%w: x-amz-sdk-checksum-algorithm %s does not match %s", ErrInvalidChecksum, alg, d.alg)
		}
	}
	return d, nil
}

// parseContentMD5 decodes a Content-MD5 header. ok is false when the
// request has none; a present but malformed value wraps ErrInvalidDigest.
func parseContentMD5(h http.Header) (want [md5.Size]byte, ok bool, err error) {
	vals := h.Values("Content-Md5")
	if len(vals) == 0 {
		return want, false, nil
	}
	b, valid := decodeBase64Digest(vals[0], md5.Size)
	if len(vals) != 1 || !valid {
		return want, false, ErrInvalidDigest
	}
	copy(want[:], b)
	return want, true, nil
}

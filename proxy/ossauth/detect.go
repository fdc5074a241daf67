package ossauth

import (
	"net/http"
	"strings"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// IsOSS reports whether r speaks OSS's dialect rather than S3's, so that
// one listener can serve both and hand each request to the right
// verifier. The rule, first match wins:
//
//  1. An Authorization header decides alone: OSS when it starts with
//     "OSS " (V1), "OSS2 " (V2, which Verify refuses) or
//     "OSS4-HMAC-SHA256 " (V4); S3 for anything else ("AWS4-HMAC-SHA256 ",
//     "AWS ", ...).
//  2. An OSS presigned query is OSS: OSSAccessKeyId (V1), or any of
//     x-oss-signature-version, x-oss-credential, x-oss-signature and
//     x-oss-access-key-id (V4, V2).
//  3. An S3 presigned query (X-Amz-Algorithm, X-Amz-Credential,
//     X-Amz-Signature, AWSAccessKeyId) is S3.
//  4. Otherwise, any x-oss-* header makes an anonymous request OSS.
//  5. Everything else is S3.
//
// A request that carries both dialects' query parameters is OSS by rule 2
// and fails OSS verification unless it is a valid OSS request in its own
// right: no rule lets one dialect's signature vouch for the other's
// parameters. IsOSS reads only headers and the raw query.
func IsOSS(r *http.Request) bool {
	if vals := r.Header.Values("Authorization"); len(vals) > 0 {
		a := vals[0]
		return strings.HasPrefix(a, v1Scheme) || strings.HasPrefix(a, "OSS2 ") || strings.HasPrefix(a, v4Scheme)
	}
	s3Query := false
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		switch sigio.UnescapeQuery(k) {
		case queryAccessKeyID, querySignatureVersion, queryCredential, querySignatureV4, queryAccessKeyIDV2:
			return true
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId":
			s3Query = true
		}
	}
	if s3Query {
		return false
	}
	for name := range r.Header {
		if len(name) > len("x-oss-") && strings.EqualFold(name[:len("x-oss-")], "x-oss-") {
			return true
		}
	}
	return false
}

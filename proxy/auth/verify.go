// Package auth verifies AWS Signature Version 4 requests exactly as S3
// does, and turns a request body into the verified, decoded payload.
//
// A [Verifier] checks the Authorization header or a presigned query, the
// clock, and the signature, before any body byte is read. [Result.Body] then
// yields the payload with aws-chunked framing removed, verifying as it
// streams: chunk and trailer signatures, x-amz-content-sha256, Content-MD5
// and one x-amz-checksum-* (header or trailer). Whatever fails, the final
// byte of the payload is never returned: the Read that would return it
// returns the error instead, so a failed check can never become a stored
// object when the consumer writes to an exact Content-Length.
//
// The package knows nothing of handlers or encryption. Its errors are
// sentinels (see errors.go), each mapped to one S3 error code.
package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// x-amz-content-sha256 values that are not a digest.
const (
	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingPayload         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingPayloadTrailer  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingECDSAPrefix     = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
)

// Credentials looks up the secret key of an access key. Implementations
// must be safe for concurrent use; SecretKey is called once per request,
// before any body byte is read, and must not block on the network for long.
type Credentials interface {
	// SecretKey returns the secret of accessKey, or ok == false when the
	// key is unknown (the request then fails with ErrInvalidAccessKeyID).
	SecretKey(accessKey string) (secret string, ok bool)
}

// Options configures a Verifier. The zero value of each field is its
// documented default.
type Options struct {
	// Credentials resolves access keys. Nil knows no key: every signed
	// request fails with ErrInvalidAccessKeyID.
	Credentials Credentials
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// MaxSkew is the largest difference allowed between the request time
	// and Now. Default 15 minutes, as AWS.
	MaxSkew time.Duration
}

// Verifier authenticates S3 requests. It is safe for concurrent use.
type Verifier struct {
	creds   Credentials
	now     func() time.Time
	maxSkew time.Duration
}

// New returns a Verifier for o, with defaults filled in.
func New(o Options) *Verifier {
	v := &Verifier{creds: o.Credentials, now: o.Now, maxSkew: o.MaxSkew}
	if v.now == nil {
		v.now = time.Now
	}
	if v.maxSkew <= 0 {
		v.maxSkew = 15 * time.Minute
	}
	return v
}

// Result is an authenticated request.
type Result struct {
	// AccessKey is the access key that signed the request.
	AccessKey string
	// Body yields the decoded payload (aws-chunked framing removed),
	// verified as it streams. It withholds the final byte until every check
	// has passed and returns io.EOF only then; a failed check is returned
	// as one of this package's errors, in place of that byte. Only a Body
	// read to io.EOF has been verified. Body reads r.Body, which the caller
	// still owns and closes; it is not safe for concurrent use.
	Body io.Reader
	// ContentLength is the decoded payload length: x-amz-decoded-content-length
	// for aws-chunked bodies, else the request's Content-Length; -1 if
	// unknown.
	ContentLength int64
	// Checksums maps an algorithm ("CRC32", "CRC32C", "CRC64NVME", "SHA1",
	// "SHA256") to the base64 value the client declared, so the proxy can
	// echo it. A value sent as a header is present at once; one sent as a
	// trailer is added by the time Body returns io.EOF. Values are
	// canonical base64 and safe to put in a header. Never nil.
	Checksums map[string]string
	// Presigned reports query-string (presigned URL) authentication.
	Presigned bool
}

// authRequest is what either authentication form yields for the common path.
type authRequest struct {
	authFields
	amzDate     string // the string to sign's timestamp
	payloadHash string // the canonical request's last line
	presigned   bool
}

// Verify authenticates r with its Authorization header or presigned query
// and returns the identity and a verifying body reader. It never mutates r
// and reads no body byte. Requests without any credentials return
// ErrAnonymous; Signature Version 2 returns ErrUnsupportedSignature.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	query := sigio.ParseQuery(r.URL.RawQuery)
	authz := r.Header.Values("Authorization")
	hasHeader := len(authz) > 0 && authz[0] != ""
	v4Query, v2Query := isPresignedV4(query), isPresignedV2(query)
	var (
		a   authRequest
		err error
	)
	switch {
	case hasHeader && (v4Query || v2Query), v4Query && v2Query:
		return nil, ErrMultipleAuth
	case hasHeader:
		if len(authz) > 1 {
			return nil, fmt.Errorf("%w: more than one Authorization header", ErrAuthorizationHeaderMalformed)
		}
		a, err = v.headerAuth(r, authz[0])
	case v4Query:
		a, err = v.presignedAuth(r, query)
	case v2Query:
		return nil, fmt.Errorf("%w: signature version 2 query", ErrUnsupportedSignature)
	default:
		return nil, ErrAnonymous
	}
	if err != nil {
		return nil, err
	}

	secret, ok := "", false
	if v.creds != nil {
		secret, ok = v.creds.SecretKey(a.cred.accessKey)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %.64q", ErrInvalidAccessKeyID, a.cred.accessKey)
	}
	skip := ""
	if a.presigned {
		skip = querySignature
	}
	key := signingKey(secret, a.cred.scope)
	defer clear(key) // chunk signers keep their own copy inside the HMAC
	creq := canonicalRequest(r, query, skip, a.signedHeaders, a.payloadHash)
	got := signature(key, stringToSign(a.amzDate, a.cred.scope, creq))
	if !hmac.Equal(got[:], a.signature[:]) {
		return nil, ErrSignatureDoesNotMatch
	}
	if err := checkSignedHeaders(r, a.signedHeaders); err != nil {
		return nil, err
	}
	res, err := newBody(r, a, key, got)
	if err != nil {
		return nil, err
	}
	res.AccessKey = a.cred.accessKey
	res.Presigned = a.presigned
	return res, nil
}

// headerAuth parses and checks an Authorization-header request up to, not
// including, the signature.
func (v *Verifier) headerAuth(r *http.Request, authz string) (authRequest, error) {
	f, err := parseAuthorization(authz)
	if err != nil {
		return authRequest{}, err
	}
	a := authRequest{authFields: f}
	var t time.Time
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, err = time.Parse(iso8601Basic, d)
		if err != nil || len(d) != len(iso8601Basic) {
			return a, fmt.Errorf("%w: x-amz-date %.32q", ErrInvalidDate, d)
		}
		a.amzDate = d
	} else if d := r.Header.Get("Date"); d != "" {
		if t, err = http.ParseTime(d); err != nil {
			return a, fmt.Errorf("%w: date %.64q", ErrInvalidDate, d)
		}
		a.amzDate = t.UTC().Format(iso8601Basic)
	} else {
		return a, ErrInvalidDate
	}
	if err := checkScope(f.cred.scope, a.amzDate); err != nil {
		return a, fmt.Errorf("%w: %v", ErrAuthorizationHeaderMalformed, err)
	}
	if d := v.now().Sub(t); d > v.maxSkew || d < -v.maxSkew {
		return a, fmt.Errorf("%w: request time %s", ErrRequestTimeTooSkewed, a.amzDate)
	}
	vals := r.Header.Values("X-Amz-Content-Sha256")
	if len(vals) == 0 {
		return a, ErrMissingContentSHA256
	}
	if len(vals) > 1 {
		return a, fmt.Errorf("%w: more than one header", ErrInvalidContentSHA256)
	}
	a.payloadHash = vals[0]
	return a, nil
}

// presignedAuth parses and checks a presigned request up to, not including,
// the signature.
func (v *Verifier) presignedAuth(r *http.Request, query []sigio.Param) (authRequest, error) {
	q, err := parsePresigned(query)
	if err != nil {
		return authRequest{}, err
	}
	a := authRequest{authFields: q.authFields, amzDate: q.amzDate, presigned: true}
	if err := checkScope(q.cred.scope, q.amzDate); err != nil {
		return a, fmt.Errorf("%w: %v", ErrAuthorizationQueryParametersError, err)
	}
	if err := checkPresignedTime(q, v.now(), v.maxSkew); err != nil {
		return a, err
	}
	// As MinIO: the query's X-Amz-Content-Sha256, else the header, else
	// UNSIGNED-PAYLOAD, which is what presigning clients sign.
	a.payloadHash = q.contentSHA256
	if a.payloadHash == "" {
		a.payloadHash = r.Header.Get("X-Amz-Content-Sha256")
	}
	if a.payloadHash == "" {
		a.payloadHash = unsignedPayload
	}
	return a, nil
}

// checkSignedHeaders enforces S3's rule that host and every x-amz-* header
// present (but x-amz-content-sha256) are signed.
func checkSignedHeaders(r *http.Request, signed []string) error {
	set := make(map[string]struct{}, len(signed))
	for _, h := range signed {
		set[h] = struct{}{}
	}
	if _, ok := set["host"]; !ok {
		return fmt.Errorf("%w: host", ErrUnsignedHeaders)
	}
	for name := range r.Header {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-amz-") || lower == "x-amz-content-sha256" {
			continue
		}
		if _, ok := set[lower]; !ok {
			return fmt.Errorf("%w: %.64s", ErrUnsignedHeaders, lower)
		}
	}
	return nil
}

// newBody sets up the verifying payload reader for an authenticated
// request: the framing its x-amz-content-sha256 announces, and the digests
// its headers declare.
func newBody(r *http.Request, a authRequest, key []byte, seed [sha256.Size]byte) (*Result, error) {
	decl, err := parseChecksumHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	res := &Result{ContentLength: r.ContentLength, Checksums: make(map[string]string, 1)}
	checks := &payloadChecks{decl: decl, checksums: res.Checksums}
	var body io.Reader = r.Body
	if body == nil {
		body = http.NoBody
	}

	chunked := chunkedConfig{declared: -1}
	switch p := a.payloadHash; {
	case p == unsignedPayload:
	case p == streamingPayload:
		chunked.signer = newChunkSigner(key, a.amzDate, a.cred.scope, seed)
	case p == streamingPayloadTrailer:
		chunked.signer = newChunkSigner(key, a.amzDate, a.cred.scope, seed)
		chunked.trailers = true
	case p == streamingUnsignedTrailer:
		chunked.trailers = true
	case strings.HasPrefix(p, streamingECDSAPrefix):
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedSignature, p)
	case len(p) == hex.EncodedLen(sha256.Size):
		if _, err := hex.Decode(checks.wantSHA256[:], []byte(p)); err != nil {
			return nil, fmt.Errorf("%w: %.64q", ErrInvalidContentSHA256, p)
		}
		checks.sha256 = checks.Add(sha256.New())
	default:
		return nil, fmt.Errorf("%w: %.64q", ErrInvalidContentSHA256, p)
	}
	isChunked := chunked.signer != nil || chunked.trailers
	if decl.trailer && !chunked.trailers {
		return nil, fmt.Errorf("%w: x-amz-trailer needs a -TRAILER x-amz-content-sha256", ErrMalformedTrailer)
	}

	if want, ok, err := parseContentMD5(r.Header); err != nil {
		return nil, err
	} else if ok {
		checks.wantMD5 = want
		checks.md5 = checks.Add(md5.New())
	}
	if decl.alg != algNone {
		checks.sum = checks.Add(decl.alg.newHash())
		if !decl.trailer {
			res.Checksums[decl.alg.String()] = decl.value
		}
	}

	var src io.Reader
	if isChunked {
		if vals := r.Header.Values("X-Amz-Decoded-Content-Length"); len(vals) > 0 {
			n, err := strconv.ParseInt(vals[0], 10, 64)
			if len(vals) > 1 || err != nil || n < 0 {
				return nil, fmt.Errorf("%w: bad x-amz-decoded-content-length", ErrMalformedChunk)
			}
			chunked.declared = n
		}
		if decl.trailer {
			chunked.trailerName = checksumAlgs[decl.alg].header
		}
		cr := newChunkedReader(body, chunked)
		checks.chunked = cr
		src = cr
		res.ContentLength = chunked.declared
	} else {
		src = sigio.NewContentLengthReader(body, r.ContentLength, ErrIncompleteBody)
	}
	res.Body = sigio.NewVerifyReader(src, checks)
	return res, nil
}

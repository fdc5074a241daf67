// Package ossauth verifies Alibaba Cloud OSS request signatures exactly as
// OSS does, and turns a request body into the verified payload.
//
// It is the OSS counterpart of package auth (AWS Signature Version 4), with
// the same shape: a [Verifier] checks the Authorization header or a
// presigned query, the clock and the signature before any body byte is
// read, and [Result.Body] yields the payload, verifying Content-MD5 (and a
// hex x-oss-content-sha256) as it streams. Whatever fails, the final byte
// of the payload is never returned: the Read that would return it returns
// the error instead, so a failed check can never become a stored object
// when the consumer writes to an exact Content-Length.
//
// Two signature versions are verified, each in header and presigned form:
//
//   - V1: "Authorization: OSS AccessKeyId:Signature", or the query
//     OSSAccessKeyId, Expires and Signature; HMAC-SHA1 over the verb,
//     Content-MD5, Content-Type, Date (or Expires), the x-oss-* headers and
//     the canonical resource "/bucket/key?signed-sub-resources".
//   - V4: "Authorization: OSS4-HMAC-SHA256 Credential=...,
//     AdditionalHeaders=..., Signature=...", or the query
//     x-oss-signature-version, x-oss-credential, x-oss-date, x-oss-expires,
//     x-oss-signature and x-oss-additional-headers; HMAC-SHA256 with a key
//     derived from "aliyun_v4"+secret over date, region, "oss" and
//     "aliyun_v4_request".
//
// Both canonicalise the bucket into the signed resource even for
// virtual-hosted requests; [Options.BucketFromHost] says which hosts name a
// bucket. The algorithms follow the official Go SDKs (aliyun-oss-go-sdk
// v3 and alibabacloud-oss-go-sdk-v2), which the tests sign with.
//
// The package knows nothing of handlers or encryption. Its errors are
// sentinels (see errors.go), each mapped to one OSS error code.
package ossauth

import (
	"crypto/hmac"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
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
	// MaxSkew is the largest difference allowed between a header-signed
	// request's time and Now, and how far in the future a V4 presigned
	// x-oss-date may be. Default 15 minutes, as OSS.
	MaxSkew time.Duration
	// BucketFromHost names the bucket of a virtual-hosted-style request
	// from its host (lowercased, port removed), for example by cutting
	// the suffix ".oss-cn-hangzhou.aliyuncs.com"; ok == false means the
	// host names no bucket and the bucket is the first path segment
	// (path style). Nil: every request is path style.
	BucketFromHost func(host string) (bucket string, ok bool)
}

// Verifier authenticates OSS requests. It is safe for concurrent use.
type Verifier struct {
	creds          Credentials
	now            func() time.Time
	maxSkew        time.Duration
	bucketFromHost func(string) (string, bool)
}

// New returns a Verifier for o, with defaults filled in.
func New(o Options) *Verifier {
	v := &Verifier{creds: o.Credentials, now: o.Now, maxSkew: o.MaxSkew, bucketFromHost: o.BucketFromHost}
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
	// Body yields the payload, verified as it streams against Content-MD5
	// and, for V4, a hex x-oss-content-sha256. It withholds the final byte
	// until every check has passed and returns io.EOF only then; a failed
	// check is returned as one of this package's errors, in place of that
	// byte. Only a Body read to io.EOF has been verified. Body reads r.Body,
	// which the caller still owns and closes; it is not safe for concurrent
	// use.
	Body io.Reader
	// ContentLength is the request's Content-Length; -1 if unknown.
	ContentLength int64
	// Presigned reports query-string (presigned URL) authentication.
	Presigned bool
}

// pending is an authentication parsed and checked up to, not including,
// the signature.
type pending struct {
	accessKey   string
	got         []byte                     // the signature the client sent
	sign        func(secret string) []byte // the signature we expect
	payloadHash string                     // V4 x-oss-content-sha256, "" for V1
	presigned   bool
}

// Verify authenticates r with its Authorization header or presigned query
// and returns the identity and a verifying body reader. It never mutates r
// and reads no body byte. Requests without any credentials return
// ErrAnonymous; OSS signature version 2 returns ErrUnsupportedSignature.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	params := sigio.ParseQuery(r.URL.RawQuery)
	authz := r.Header.Values("Authorization")
	hasHeader := len(authz) > 0 && authz[0] != ""
	v1q, v4q := queryForms(params)
	var (
		a   pending
		err error
	)
	switch {
	case hasHeader && (v1q || v4q), v1q && v4q:
		return nil, ErrMultipleAuth
	case hasHeader:
		if len(authz) > 1 {
			return nil, fmt.Errorf("%w: more than one Authorization header", ErrInvalidArgument)
		}
		a, err = v.headerAuth(r, authz[0], params)
	case v1q:
		a, err = v.presignedV1(r, params)
	case v4q:
		a, err = v.presignedV4(r, params)
	default:
		return nil, ErrAnonymous
	}
	if err != nil {
		return nil, err
	}

	secret, ok := "", false
	if v.creds != nil {
		secret, ok = v.creds.SecretKey(a.accessKey)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %.64q", ErrInvalidAccessKeyID, a.accessKey)
	}
	if !hmac.Equal(a.sign(secret), a.got) {
		return nil, ErrSignatureDoesNotMatch
	}
	res, err := newBody(r, a.payloadHash)
	if err != nil {
		return nil, err
	}
	res.AccessKey = a.accessKey
	res.Presigned = a.presigned
	return res, nil
}

// queryForms reports whether the query carries V1 presigned parameters
// (OSSAccessKeyId or Signature) and V4 (or V2) ones (any of
// x-oss-signature-version, x-oss-credential, x-oss-signature,
// x-oss-access-key-id), complete or not.
func queryForms(params []sigio.Param) (v1, v4 bool) {
	for _, p := range params {
		switch p.Key {
		case queryAccessKeyID, querySignature:
			v1 = true
		case querySignatureVersion, queryCredential, querySignatureV4, queryAccessKeyIDV2:
			v4 = true
		}
	}
	return v1, v4
}

// headerAuth dispatches on the Authorization scheme.
func (v *Verifier) headerAuth(r *http.Request, authz string, params []sigio.Param) (pending, error) {
	switch {
	case strings.HasPrefix(authz, v1Scheme):
		return v.headerV1(r, authz, params)
	case strings.HasPrefix(authz, v4Scheme):
		return v.headerV4(r, authz, params)
	default:
		scheme, _, _ := strings.Cut(authz, " ")
		return pending{}, fmt.Errorf("%w: scheme %.32q", ErrUnsupportedSignature, scheme)
	}
}

func (v *Verifier) headerV1(r *http.Request, authz string, params []sigio.Param) (pending, error) {
	h, err := parseV1Authorization(authz)
	if err != nil {
		return pending{}, err
	}
	t, err := v1RequestTime(r.Header)
	if err != nil {
		return pending{}, err
	}
	if err := v.checkSkew(t); err != nil {
		return pending{}, err
	}
	bucket, key := v.resource(r)
	resource, err := v1Resource(bucket, key, params)
	if err != nil {
		return pending{}, err
	}
	sts := v1StringToSign(r, r.Header.Get("Date"), resource)
	return pending{
		accessKey: h.accessKey,
		got:       h.signature[:],
		sign:      func(secret string) []byte { return v1Signature(secret, sts) },
	}, nil
}

func (v *Verifier) presignedV1(r *http.Request, params []sigio.Param) (pending, error) {
	q, err := parseV1Query(params)
	if err != nil {
		return pending{}, err
	}
	if v.now().After(q.expiresAt) {
		return pending{}, fmt.Errorf("%w: at %s", ErrExpired, q.expiresAt.UTC().Format(time.RFC3339))
	}
	bucket, key := v.resource(r)
	resource, err := v1Resource(bucket, key, params)
	if err != nil {
		return pending{}, err
	}
	sts := v1StringToSign(r, q.expires, resource)
	return pending{
		accessKey: q.accessKey,
		got:       q.signature[:],
		sign:      func(secret string) []byte { return v1Signature(secret, sts) },
		presigned: true,
	}, nil
}

func (v *Verifier) headerV4(r *http.Request, authz string, params []sigio.Param) (pending, error) {
	f, err := parseV4Authorization(authz)
	if err != nil {
		return pending{}, err
	}
	stamp, t, err := v4RequestTime(r.Header)
	if err != nil {
		return pending{}, err
	}
	if err := checkV4Scope(f.cred.scope, t); err != nil {
		return pending{}, err
	}
	if err := v.checkSkew(t); err != nil {
		return pending{}, err
	}
	payloadHash, err := contentSHA256(r.Header)
	if err != nil {
		return pending{}, err
	}
	bucket, key := v.resource(r)
	creq := v4CanonicalRequest(r, bucket, key, params, false, f.additional, payloadHash)
	return v4Pending(f, stamp, creq, payloadHash, false), nil
}

func (v *Verifier) presignedV4(r *http.Request, params []sigio.Param) (pending, error) {
	q, err := parseV4Query(params)
	if err != nil {
		return pending{}, err
	}
	if err := checkV4Scope(q.cred.scope, q.t); err != nil {
		return pending{}, err
	}
	now := v.now()
	if now.Before(q.t.Add(-v.maxSkew)) {
		return pending{}, fmt.Errorf("%w: %s %s is in the future", ErrRequestTimeTooSkewed, queryDate, q.date)
	}
	if now.After(q.t.Add(q.expires)) {
		return pending{}, fmt.Errorf("%w: at %s", ErrExpired, q.t.Add(q.expires).Format(time.RFC3339))
	}
	// As both SDKs: the header when sent (it is then a signed x-oss-*
	// header too), else UNSIGNED-PAYLOAD.
	payloadHash, err := contentSHA256(r.Header)
	if err != nil {
		return pending{}, err
	}
	bucket, key := v.resource(r)
	creq := v4CanonicalRequest(r, bucket, key, params, true, q.additional, payloadHash)
	return v4Pending(q.v4Fields, q.date, creq, payloadHash, true), nil
}

func v4Pending(f v4Fields, stamp, creq, payloadHash string, presigned bool) pending {
	sts := v4StringToSign(stamp, f.cred.scope, creq)
	return pending{
		accessKey: f.cred.accessKey,
		got:       f.signature[:],
		sign: func(secret string) []byte {
			key := v4SigningKey(secret, f.cred.scope)
			defer clear(key)
			return hmacSHA256(key, sts)
		},
		payloadHash: payloadHash,
		presigned:   presigned,
	}
}

// checkSkew enforces Options.MaxSkew on a header-signed request's time.
func (v *Verifier) checkSkew(t time.Time) error {
	if d := v.now().Sub(t); d > v.maxSkew || d < -v.maxSkew {
		return fmt.Errorf("%w: request time %s", ErrRequestTimeTooSkewed, t.UTC().Format(time.RFC3339))
	}
	return nil
}

// v1RequestTime is the time of a V1 header-signed request: x-oss-date when
// sent (an HTTP date or yyyymmddThhmmssZ), else Date (an HTTP date).
func v1RequestTime(h http.Header) (time.Time, error) {
	if vals := h.Values(headerDate); len(vals) > 0 {
		if len(vals) == 1 {
			if t, err := time.Parse(iso8601Basic, vals[0]); err == nil && len(vals[0]) == len(iso8601Basic) {
				return t, nil
			}
			if t, err := http.ParseTime(vals[0]); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%w: x-oss-date %.64q", ErrMissingDate, vals[0])
	}
	return httpDate(h)
}

// v4RequestTime is the timestamp of a V4 header-signed request as signed
// (stamp) and parsed: x-oss-date (yyyymmddThhmmssZ) when sent, else Date,
// which aliyun-oss-go-sdk's V4 signer puts in the string to sign as is.
func v4RequestTime(h http.Header) (stamp string, t time.Time, err error) {
	if vals := h.Values(headerDate); len(vals) > 0 {
		if len(vals) == 1 && len(vals[0]) == len(iso8601Basic) {
			if t, err := time.Parse(iso8601Basic, vals[0]); err == nil {
				return vals[0], t, nil
			}
		}
		return "", time.Time{}, fmt.Errorf("%w: x-oss-date %.64q", ErrMissingDate, vals[0])
	}
	t, err = httpDate(h)
	return h.Get("Date"), t, err
}

func httpDate(h http.Header) (time.Time, error) {
	vals := h.Values("Date")
	if len(vals) == 0 {
		return time.Time{}, ErrMissingDate
	}
	t, err := http.ParseTime(vals[0])
	if len(vals) > 1 || err != nil {
		return time.Time{}, fmt.Errorf("%w: date %.64q", ErrMissingDate, vals[0])
	}
	return t, nil
}

// contentSHA256 is the V4 hashed payload: x-oss-content-sha256, sent at
// most once, UNSIGNED-PAYLOAD or a hex SHA-256; absent, UNSIGNED-PAYLOAD
// (what both SDKs then sign).
func contentSHA256(h http.Header) (string, error) {
	vals := h.Values(headerContentSHA256)
	switch {
	case len(vals) == 0:
		return unsignedPayload, nil
	case len(vals) > 1:
		return "", fmt.Errorf("%w: more than one x-oss-content-sha256", ErrInvalidArgument)
	case vals[0] == unsignedPayload:
		return unsignedPayload, nil
	}
	if _, err := parseV4Signature(vals[0]); err != nil { // the same 64-hex shape
		return "", fmt.Errorf("%w: x-oss-content-sha256 %.72q is neither %s nor a hex SHA-256", ErrInvalidArgument, vals[0], unsignedPayload)
	}
	return vals[0], nil
}

// resource splits r into the bucket and key both signatures canonicalise:
// from the host when Options.BucketFromHost names one (the whole path,
// less its leading '/', is the key), else from the path "/bucket/key".
func (v *Verifier) resource(r *http.Request) (bucket, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if v.bucketFromHost != nil {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if b, ok := v.bucketFromHost(strings.ToLower(host)); ok && b != "" {
			return b, path
		}
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// headerLine is one canonical header: a lowercase name and its value.
type headerLine struct {
	name, value string
}

// canonicalHeaders returns the headers of r whose lowercase name keep
// accepts, each once with its values trimmed and joined by ',' (in the
// order received; differently cased spellings of one name merged in
// sorted order), unsorted.
func canonicalHeaders(r *http.Request, keep func(lower string) bool) []headerLine {
	var raw []string
	for k := range r.Header {
		if keep(strings.ToLower(k)) {
			raw = append(raw, k)
		}
	}
	sort.Strings(raw)
	names := make([]string, 0, len(raw))
	vals := make(map[string][]string, len(raw))
	for _, k := range raw {
		lower := strings.ToLower(k)
		if _, seen := vals[lower]; !seen {
			names = append(names, lower)
			vals[lower] = nil
		}
		for _, val := range r.Header[k] {
			vals[lower] = append(vals[lower], strings.TrimSpace(val))
		}
	}
	lines := make([]headerLine, len(names))
	for i, name := range names {
		lines[i] = headerLine{name: name, value: strings.Join(vals[name], ",")}
	}
	return lines
}

func sortHeaderLines(lines []headerLine) {
	sort.Slice(lines, func(i, j int) bool { return lines[i].name < lines[j].name })
}

// isOSSHeader reports whether a lowercase header name is an x-oss-* header.
func isOSSHeader(lower string) bool {
	return strings.HasPrefix(lower, "x-oss-")
}

// liftedHeader returns the value of a header Go's server moves out of
// r.Header (Host, and Content-Length or Transfer-Encoding when it does),
// for a V4 AdditionalHeaders name; ok == false when r.Header holds it or
// it is absent.
func liftedHeader(r *http.Request, name string) (string, bool) {
	if _, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
		return "", false
	}
	switch name {
	case "host":
		if r.Host != "" {
			return r.Host, true
		}
		return r.URL.Host, r.URL.Host != ""
	case "content-length":
		if r.ContentLength >= 0 {
			return strconv.FormatInt(r.ContentLength, 10), true
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return strings.Join(r.TransferEncoding, ","), true
		}
	}
	return "", false
}

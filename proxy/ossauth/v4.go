package ossauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// Wire constants of OSS signature version 4.
const (
	v4Algorithm     = "OSS4-HMAC-SHA256"
	v4Scheme        = v4Algorithm + " "
	v4KeyPrefix     = "aliyun_v4"
	v4Terminator    = "aliyun_v4_request"
	v4Product       = "oss"
	iso8601Basic    = "20060102T150405Z"
	scopeDateLayout = "20060102"
	unsignedPayload = "UNSIGNED-PAYLOAD"

	headerContentSHA256 = "x-oss-content-sha256"
	headerDate          = "x-oss-date"

	// The presigned query parameters.
	querySignatureVersion = "x-oss-signature-version"
	queryCredential       = "x-oss-credential"
	queryDate             = "x-oss-date"
	queryExpiresV4        = "x-oss-expires"
	querySignatureV4      = "x-oss-signature"
	queryAdditional       = "x-oss-additional-headers"
	queryAccessKeyIDV2    = "x-oss-access-key-id" // OSS2 only

	// maxPresignExpires is the longest validity OSS accepts: seven days.
	maxPresignExpires = 7 * 24 * 60 * 60
)

// v4Scope is a credential scope: date/region/product/aliyun_v4_request.
type v4Scope struct {
	date    string // yyyymmdd
	region  string
	product string
}

// String returns the scope as in a credential and a string to sign.
func (s v4Scope) String() string {
	return s.date + "/" + s.region + "/" + s.product + "/" + v4Terminator
}

// v4Credential is a parsed Credential= / x-oss-credential value.
type v4Credential struct {
	accessKey string
	scope     v4Scope
}

// v4Fields are what the Authorization header and the presigned query
// share once parsed.
type v4Fields struct {
	cred       v4Credential
	additional []string // AdditionalHeaders, lowercase, in the client's order
	signature  [sha256.Size]byte
}

// parseV4Credential parses "AK/20250101/cn-hangzhou/oss/aliyun_v4_request".
// The access key is everything before the last four components. The
// product is not checked here.
func parseV4Credential(v string) (v4Credential, error) {
	if len(v) > maxAuthorizationLen {
		return v4Credential{}, fmt.Errorf("credential too long")
	}
	parts := strings.Split(v, "/")
	n := len(parts)
	if n < 5 {
		return v4Credential{}, fmt.Errorf("credential %.64q has too few components", v)
	}
	c := v4Credential{
		accessKey: strings.Join(parts[:n-4], "/"),
		scope:     v4Scope{date: parts[n-4], region: parts[n-3], product: parts[n-2]},
	}
	switch {
	case c.accessKey == "":
		return v4Credential{}, fmt.Errorf("credential %.64q has an empty access key", v)
	case !isScopeDate(c.scope.date):
		return v4Credential{}, fmt.Errorf("credential date %.16q is not yyyymmdd", c.scope.date)
	case c.scope.region == "":
		return v4Credential{}, fmt.Errorf("credential %.64q has an empty region", v)
	case c.scope.product == "":
		return v4Credential{}, fmt.Errorf("credential %.64q has an empty product", v)
	case parts[n-1] != v4Terminator:
		return v4Credential{}, fmt.Errorf("credential %.64q does not end in %s", v, v4Terminator)
	}
	return c, nil
}

func isScopeDate(s string) bool {
	if len(s) != len(scopeDateLayout) {
		return false
	}
	_, err := time.Parse(scopeDateLayout, s)
	return err == nil
}

// parseAdditionalHeaders parses "host;range". OSS treats the names case
// insensitively; both SDKs lowercase them before signing, so they are
// lowercased here. Each must be a header token and appear once. Empty is
// allowed and means none.
func parseAdditionalHeaders(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	if len(v) > maxAuthorizationLen {
		return nil, fmt.Errorf("additional headers too long")
	}
	names := strings.Split(strings.ToLower(v), ";")
	seen := make(map[string]struct{}, len(names))
	for _, name := range names {
		if !isToken(name) {
			return nil, fmt.Errorf("additional header %.64q is not a header name", name)
		}
		if _, dup := seen[name]; dup {
			return nil, fmt.Errorf("additional header %.64q listed twice", name)
		}
		seen[name] = struct{}{}
	}
	return names, nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// parseV4Signature decodes a 64-character hex signature (either case).
func parseV4Signature(v string) ([sha256.Size]byte, error) {
	var sig [sha256.Size]byte
	if len(v) != hex.EncodedLen(sha256.Size) {
		return sig, fmt.Errorf("signature is %d characters, want 64", len(v))
	}
	if _, err := hex.Decode(sig[:], []byte(v)); err != nil {
		return sig, fmt.Errorf("signature is not hex")
	}
	return sig, nil
}

// parseV4Authorization parses
//
//	OSS4-HMAC-SHA256 Credential=AK/date/region/oss/aliyun_v4_request,AdditionalHeaders=host;range,Signature=hex
//
// Credential and Signature are required, AdditionalHeaders optional; each
// at most once, in any order, separated by commas and optional blanks.
// Errors wrap ErrInvalidArgument.
func parseV4Authorization(h string) (v4Fields, error) {
	var f v4Fields
	if len(h) > maxAuthorizationLen {
		return f, fmt.Errorf("%w: authorization header is %d bytes", ErrInvalidArgument, len(h))
	}
	rest, ok := strings.CutPrefix(h, v4Scheme)
	if !ok {
		return f, fmt.Errorf("%w: authorization header is not %s", ErrInvalidArgument, v4Algorithm)
	}
	var haveCred, haveAdd, haveSig bool
	for field := range strings.SplitSeq(rest, ",") {
		key, val, ok := strings.Cut(strings.Trim(field, " \t"), "=")
		if !ok {
			return f, fmt.Errorf("%w: field %.64q is not key=value", ErrInvalidArgument, field)
		}
		var err error
		switch {
		case key == "Credential" && !haveCred:
			haveCred = true
			f.cred, err = parseV4Credential(val)
		case key == "AdditionalHeaders" && !haveAdd:
			haveAdd = true
			f.additional, err = parseAdditionalHeaders(val)
		case key == "Signature" && !haveSig:
			haveSig = true
			f.signature, err = parseV4Signature(val)
		default:
			err = fmt.Errorf("unexpected or repeated field %.64q", key)
		}
		if err != nil {
			return f, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
		}
	}
	if !haveCred || !haveSig {
		return f, fmt.Errorf("%w: need Credential and Signature", ErrInvalidArgument)
	}
	return f, nil
}

// v4Query is a parsed V4 presigned query.
type v4Query struct {
	v4Fields
	date    string    // x-oss-date as sent, the string to sign's timestamp
	t       time.Time // x-oss-date parsed
	expires time.Duration
}

// parseV4Query extracts and validates the x-oss-* presigned parameters:
// x-oss-signature-version, x-oss-credential, x-oss-date, x-oss-expires and
// x-oss-signature are required, x-oss-additional-headers optional, each at
// most once; x-oss-expires is 1..604800 seconds. A version other than
// OSS4-HMAC-SHA256 wraps ErrUnsupportedSignature; anything else wraps
// ErrInvalidArgument. It does not check the scope, the clock or the
// signature.
func parseV4Query(params []sigio.Param) (v4Query, error) {
	var q v4Query
	names := [...]string{querySignatureVersion, queryCredential, queryDate, queryExpiresV4, querySignatureV4, queryAdditional}
	var vals [len(names)]string
	var have [len(names)]bool
	for _, p := range params {
		for i, name := range names {
			if p.Key != name {
				continue
			}
			if have[i] {
				return q, fmt.Errorf("%w: %s given more than once", ErrInvalidArgument, name)
			}
			if len(p.Value) > maxAuthorizationLen {
				return q, fmt.Errorf("%w: %s too long", ErrInvalidArgument, name)
			}
			have[i], vals[i] = true, p.Value
		}
	}
	switch {
	case !have[0]:
		return q, fmt.Errorf("%w: missing %s", ErrInvalidArgument, querySignatureVersion)
	case vals[0] != v4Algorithm:
		return q, fmt.Errorf("%w: %s %.32q", ErrUnsupportedSignature, querySignatureVersion, vals[0])
	}
	for i := 1; i < 5; i++ {
		if !have[i] {
			return q, fmt.Errorf("%w: missing %s", ErrInvalidArgument, names[i])
		}
	}
	var err error
	if q.cred, err = parseV4Credential(vals[1]); err != nil {
		return q, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	q.date = vals[2]
	if q.t, err = time.Parse(iso8601Basic, q.date); err != nil || len(q.date) != len(iso8601Basic) {
		return q, fmt.Errorf("%w: %s %.32q is not yyyymmddThhmmssZ", ErrInvalidArgument, queryDate, q.date)
	}
	exp, err := strconv.ParseInt(vals[3], 10, 64)
	if err != nil || exp < 1 || exp > maxPresignExpires || !isDigits(vals[3]) {
		return q, fmt.Errorf("%w: %s must be 1..%d seconds", ErrInvalidArgument, queryExpiresV4, maxPresignExpires)
	}
	q.expires = time.Duration(exp) * time.Second
	if q.signature, err = parseV4Signature(vals[4]); err != nil {
		return q, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	if q.additional, err = parseAdditionalHeaders(vals[5]); err != nil {
		return q, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return q, nil
}

// checkV4Scope enforces what the proxy requires of a credential scope:
// product oss and the date of the request time. Any region is accepted.
func checkV4Scope(s v4Scope, t time.Time) error {
	if s.product != v4Product {
		return fmt.Errorf("%w: credential product %.32q, want %q", ErrInvalidArgument, s.product, v4Product)
	}
	if d := t.UTC().Format(scopeDateLayout); s.date != d {
		return fmt.Errorf("%w: credential date %s is not the request date %s", ErrInvalidArgument, s.date, d)
	}
	return nil
}

// v4CanonicalRequest builds
//
//	VERB \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n AdditionalHeaders \n HashedPayload
//
// CanonicalURI is "/bucket/key" ("/bucket/" or "/" without key or bucket)
// URI-encoded with '/' kept. CanonicalQuery is every parameter but
// x-oss-signature (skipped when presigned), decoded and re-encoded, sorted,
// "k=v" or "k" when empty. CanonicalHeaders are the x-oss-*, Content-Type
// and Content-MD5 headers present plus the present headers named in
// additional, lowercased and sorted, "name:value\n" each. AdditionalHeaders
// is additional joined by ';' in the client's order.
func v4CanonicalRequest(r *http.Request, bucket, key string, params []sigio.Param, presigned bool, additional []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	uri := "/"
	if bucket != "" {
		uri = "/" + bucket + "/" + key
	}
	sigio.URIEncode(&b, uri, true)
	b.WriteByte('\n')

	enc := make([]sigio.Param, 0, len(params))
	var e strings.Builder
	for _, p := range params {
		if presigned && p.Key == querySignatureV4 {
			continue
		}
		e.Reset()
		sigio.URIEncode(&e, p.Key, false)
		k := e.String()
		e.Reset()
		sigio.URIEncode(&e, p.Value, false)
		enc = append(enc, sigio.Param{Key: k, Value: e.String()})
	}
	writeSorted(&b, enc)
	b.WriteByte('\n')

	named := make(map[string]struct{}, len(additional))
	for _, a := range additional {
		named[a] = struct{}{}
	}
	lines := canonicalHeaders(r, func(name string) bool {
		if isOSSHeader(name) || name == "content-type" || name == "content-md5" {
			return true
		}
		_, ok := named[name]
		return ok
	})
	// Host, and headers Go's server lifts out of r.Header, when named.
	for _, a := range additional {
		if v, ok := liftedHeader(r, a); ok {
			lines = append(lines, headerLine{name: a, value: v})
		}
	}
	sortHeaderLines(lines)
	for _, l := range lines {
		b.WriteString(l.name)
		b.WriteByte(':')
		b.WriteString(l.value)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(additional, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// v4StringToSign builds "OSS4-HMAC-SHA256\n" + timestamp + "\n" + scope +
// "\n" + hex(SHA-256(canonical request)).
func v4StringToSign(timestamp string, s v4Scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return v4Algorithm + "\n" + timestamp + "\n" + s.String() + "\n" + hex.EncodeToString(sum[:])
}

// v4SigningKey derives the V4 signing key: HMAC-SHA256 chained from
// "aliyun_v4"+secret over date, region, product and "aliyun_v4_request".
func v4SigningKey(secret string, s v4Scope) []byte {
	k := hmacSHA256([]byte(v4KeyPrefix+secret), s.date)
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, s.product)
	return hmacSHA256(k, v4Terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

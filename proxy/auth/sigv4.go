package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// Wire constants of AWS Signature Version 4 as S3 uses it.
const (
	algorithmHMAC   = "AWS4-HMAC-SHA256"
	algorithmECDSA  = "AWS4-ECDSA-P256-SHA256" // SigV4A, not supported
	scopeTerminator = "aws4_request"
	serviceS3       = "s3"
	iso8601Basic    = "20060102T150405Z"
	scopeDateLayout = "20060102"

	// emptySHA256 is hex(SHA-256("")).
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	// maxAuthorizationLen bounds the Authorization header (and the
	// presigned X-Amz-SignedHeaders and X-Amz-Credential values) before any
	// parsing. Real headers are a few hundred bytes; S3 caps user metadata
	// at 2 KiB, so even a request signing every header fits.
	maxAuthorizationLen = 16 << 10
)

// scope is a credential scope: date/region/service/aws4_request.
type scope struct {
	date    string // yyyymmdd
	region  string
	service string
}

// String returns the scope as it appears in a credential and a string to
// sign.
func (s scope) String() string {
	return s.date + "/" + s.region + "/" + s.service + "/" + scopeTerminator
}

// credential is a parsed X-Amz-Credential / Credential= value.
type credential struct {
	accessKey string
	scope     scope
}

// authFields are the parts shared by the Authorization header and the
// presigned query once parsed.
type authFields struct {
	cred          credential
	signedHeaders []string
	signature     [sha256.Size]byte
}

// parseCredential parses "AKID/20130524/us-east-1/s3/aws4_request". The
// access key is everything before the last four components, so keys that
// contain '/' still parse. The service is not checked here.
func parseCredential(v string) (credential, error) {
	if len(v) > maxAuthorizationLen {
		return credential{}, fmt.Errorf("credential too long")
	}
	parts := strings.Split(v, "/")
	n := len(parts)
	if n < 5 {
		return credential{}, fmt.Errorf("credential %.64q has too few components", v)
	}
	c := credential{
		accessKey: strings.Join(parts[:n-4], "/"),
		scope:     scope{date: parts[n-4], region: parts[n-3], service: parts[n-2]},
	}
	switch {
	case c.accessKey == "":
		return credential{}, fmt.Errorf("credential %.64q has an empty access key", v)
	case !isScopeDate(c.scope.date):
		return credential{}, fmt.Errorf("credential date %.16q is not yyyymmdd", c.scope.date)
	case c.scope.region == "":
		return credential{}, fmt.Errorf("credential %.64q has an empty region", v)
	case c.scope.service == "":
		return credential{}, fmt.Errorf("credential %.64q has an empty service", v)
	case parts[n-1] != scopeTerminator:
		return credential{}, fmt.Errorf("credential %.64q does not end in %s", v, scopeTerminator)
	}
	return c, nil
}

func isScopeDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	_, err := time.Parse(scopeDateLayout, s)
	return err == nil
}

// parseSignedHeaders parses "host;range;x-amz-date". Names must be
// lowercase header tokens and appear once; their order is kept, because it
// is the order the client wrote them into its canonical request.
func parseSignedHeaders(v string) ([]string, error) {
	if v == "" {
		return nil, fmt.Errorf("empty signed headers")
	}
	names := strings.Split(v, ";")
	seen := make(map[string]struct{}, len(names))
	for _, name := range names {
		if !isLowerToken(name) {
			return nil, fmt.Errorf("signed header %.64q is not a lowercase header name", name)
		}
		if _, dup := seen[name]; dup {
			return nil, fmt.Errorf("signed header %.64q listed twice", name)
		}
		seen[name] = struct{}{}
	}
	return names, nil
}

func isLowerToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// parseSignature decodes a 64-character hex signature (either case).
func parseSignature(v string) ([sha256.Size]byte, error) {
	var sig [sha256.Size]byte
	if len(v) != 2*sha256.Size {
		return sig, fmt.Errorf("signature is %d characters, want 64", len(v))
	}
	if _, err := hex.Decode(sig[:], []byte(v)); err != nil {
		return sig, fmt.Errorf("signature is not hex")
	}
	return sig, nil
}

// parseAuthorization parses an Authorization header value of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/date/region/s3/aws4_request, SignedHeaders=a;b, Signature=hex
//
// The three fields may come in any order, separated by commas and optional
// spaces, each exactly once. Signature Version 2 ("AWS AKID:sig"), SigV4A
// and unknown schemes return ErrUnsupportedSignature; anything else that
// does not parse returns ErrAuthorizationHeaderMalformed.
func parseAuthorization(h string) (authFields, error) {
	var f authFields
	if len(h) > maxAuthorizationLen {
		return f, fmt.Errorf("%w: header is %d bytes", ErrAuthorizationHeaderMalformed, len(h))
	}
	alg, rest, _ := strings.Cut(h, " ")
	if alg != algorithmHMAC {
		return f, fmt.Errorf("%w: algorithm %.32q", ErrUnsupportedSignature, alg)
	}
	var haveCred, haveSigned, haveSig bool
	for _, field := range strings.Split(rest, ",") {
		key, val, ok := strings.Cut(strings.Trim(field, " "), "=")
		if !ok {
			return f, fmt.Errorf("%w: field %.64q is not key=value", ErrAuthorizationHeaderMalformed, field)
		}
		var err error
		switch {
		case key == "Credential" && !haveCred:
			haveCred = true
			f.cred, err = parseCredential(val)
		case key == "SignedHeaders" && !haveSigned:
			haveSigned = true
			f.signedHeaders, err = parseSignedHeaders(val)
		case key == "Signature" && !haveSig:
			haveSig = true
			f.signature, err = parseSignature(val)
		default:
			err = fmt.Errorf("unexpected or repeated field %.64q", key)
		}
		if err != nil {
			return f, fmt.Errorf("%w: %v", ErrAuthorizationHeaderMalformed, err)
		}
	}
	if !haveCred || !haveSigned || !haveSig {
		return f, fmt.Errorf("%w: need Credential, SignedHeaders and Signature", ErrAuthorizationHeaderMalformed)
	}
	return f, nil
}

// checkScope enforces what S3 requires of a credential scope: service s3 and
// a date equal to the request date. Any region is accepted; the proxy serves
// whichever region the client signed for.
func checkScope(s scope, amzDate string) error {
	if s.service != serviceS3 {
		return fmt.Errorf("credential should be scoped to correct service: %q, not %.32q", serviceS3, s.service)
	}
	if !strings.HasPrefix(amzDate, s.date) {
		return fmt.Errorf("invalid credential date %q: not the date of %s", s.date, amzDate)
	}
	return nil
}

// signingKey derives the SigV4 signing key for a scope.
func signingKey(secret string, s scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), s.date)
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, s.service)
	return hmacSHA256(k, scopeTerminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// stringToSign builds the SigV4 string to sign of a canonical request.
func stringToSign(amzDate string, s scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return algorithmHMAC + "\n" + amzDate + "\n" + s.String() + "\n" + hex.EncodeToString(sum[:])
}

// signature returns HMAC-SHA256(key, stringToSign).
func signature(key []byte, sts string) [sha256.Size]byte {
	var out [sha256.Size]byte
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sts))
	m.Sum(out[:0])
	return out
}

// canonicalURI is the decoded request path encoded once with AWS rules. S3
// neither normalises ("/a/../b" and "//" survive) nor double-encodes.
func canonicalURI(path string) string {
	if path == "" {
		return "/"
	}
	var b strings.Builder
	b.Grow(len(path) + len(path)/4)
	if path[0] != '/' {
		b.WriteByte('/')
	}
	sigio.URIEncode(&b, path, true)
	return b.String()
}

// canonicalQuery encodes and sorts params (by encoded name, then value),
// leaving out the parameter named skip (X-Amz-Signature for presigned
// requests; "" to keep all).
func canonicalQuery(params []sigio.Param, skip string) string {
	enc := make([]sigio.Param, 0, len(params))
	var b strings.Builder
	for _, p := range params {
		if skip != "" && p.Key == skip {
			continue
		}
		b.Reset()
		sigio.URIEncode(&b, p.Key, false)
		k := b.String()
		b.Reset()
		sigio.URIEncode(&b, p.Value, false)
		enc = append(enc, sigio.Param{Key: k, Value: b.String()})
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].Key != enc[j].Key {
			return enc[i].Key < enc[j].Key
		}
		return enc[i].Value < enc[j].Value
	})
	b.Reset()
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	return b.String()
}

// headerValue returns the canonical value of a signed header: every value
// trimmed, runs of spaces and tabs collapsed to one space, joined with
// commas. Headers that Go's server moves out of r.Header are taken from
// where it puts them.
func headerValue(r *http.Request, name string) string {
	if name == "host" {
		if r.Host != "" {
			return r.Host
		}
		return r.URL.Host
	}
	vals := r.Header.Values(name)
	if len(vals) == 0 {
		switch name {
		case "content-length":
			if r.ContentLength >= 0 {
				return strconv.FormatInt(r.ContentLength, 10)
			}
		case "transfer-encoding":
			return strings.Join(r.TransferEncoding, ",")
		case "expect":
			// Some servers strip Expect; the only value clients send is this.
			return "100-continue"
		}
		return ""
	}
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		writeTrimAll(&b, v)
	}
	return b.String()
}

// writeTrimAll writes v without leading and trailing blanks and with each
// run of blanks (space, tab) replaced by one space: SigV4's Trimall.
func writeTrimAll(b *strings.Builder, v string) {
	v = strings.Trim(v, " \t")
	blank := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' {
			blank = true
			continue
		}
		if blank {
			b.WriteByte(' ')
			blank = false
		}
		b.WriteByte(c)
	}
}

// canonicalRequest builds the SigV4 canonical request of r:
//
//	Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HashedPayload
//
// query is r's parsed query (without the parameter skip), signed the
// client's list of signed headers in its order.
func canonicalRequest(r *http.Request, query []sigio.Param, skip string, signed []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL.Path))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(query, skip))
	b.WriteByte('\n')
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

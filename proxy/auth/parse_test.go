package auth

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

func TestCanonicalURI(t *testing.T) {
	tests := []struct {
		name   string
		target string // as a client sends it
		want   string
	}{
		{"empty path", "", "/"},
		{"root", "/", "/"},
		{"space sent as %20", "/bucket/a%20b", "/bucket/a%20b"},
		{"plus sent raw", "/bucket/a+b", "/bucket/a%2Bb"},
		{"plus sent as %2B", "/bucket/a%2Bb", "/bucket/a%2Bb"},
		{"tilde kept", "/bucket/a~b", "/bucket/a~b"},
		{"tilde sent as %7E", "/bucket/a%7Eb", "/bucket/a~b"},
		{"equals sent raw", "/bucket/a=b", "/bucket/a%3Db"},
		{"unicode sent raw", "/bucket/日本.txt", "/bucket/%E6%97%A5%E6%9C%AC.txt"},
		{"unicode sent escaped", "/bucket/%E6%97%A5%E6%9C%AC.txt", "/bucket/%E6%97%A5%E6%9C%AC.txt"},
		{"sub-delims", "/bucket/!$&'()*,;:@", "/bucket/%21%24%26%27%28%29%2A%2C%3B%3A%40"},
		{"lowercase escape re-encoded upper", "/bucket/%c3%a9", "/bucket/%C3%A9"},
		{"dot segments not normalised", "/bucket/./a/../b", "/bucket/./a/../b"},
		{"double slashes kept", "//bucket//key//", "//bucket//key//"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.target != "" {
				u, err := url.ParseRequestURI(tt.target) // as net/http's server parses it
				if err != nil {
					t.Fatal(err)
				}
				path = u.Path
			}
			if got := canonicalURI(path); got != tt.want {
				t.Errorf("canonicalURI(%q) = %q, want %q", path, got, tt.want)
			}
		})
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		skip string
		want string
	}{
		{"empty", "", "", ""},
		{"valueless", "uploads", "", "uploads="},
		{"valueless with equals", "uploads=", "", "uploads="},
		{"sorted by name", "prefix=J&max-keys=2", "", "max-keys=2&prefix=J"},
		{"sorted by value on equal names", "a=2&a=1&a=10", "", "a=1&a=10&a=2"},
		{"plus is a space", "prefix=a+b", "", "prefix=a%20b"},
		{"encoded plus stays plus", "prefix=a%2Bb", "", "prefix=a%2Bb"},
		{"slash encoded", "prefix=photos/2024", "", "prefix=photos%2F2024"},
		{"unicode", "prefix=%C3%A9t%C3%A9", "", "prefix=%C3%A9t%C3%A9"},
		{"bad escape kept raw", "prefix=%zz", "", "prefix=%25zz"},
		{"empty segments dropped", "a=1&&b=2&", "", "a=1&b=2"},
		{"signature skipped", "X-Amz-Signature=abc&X-Amz-Date=1", querySignature, "X-Amz-Date=1"},
		{"signature kept when not presigned", "X-Amz-Signature=abc", "", "X-Amz-Signature=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := canonicalQuery(sigio.ParseQuery(tt.raw), tt.skip); got != tt.want {
				t.Errorf("canonicalQuery(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

const validSig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"

func TestParseAuthorization(t *testing.T) {
	const cred = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
	tests := []struct {
		name       string
		header     string
		wantErr    error
		wantKey    string
		wantRegion string
		wantSigned []string
	}{
		{
			name:    "aws sdk form",
			header:  "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date, Signature=" + validSig,
			wantKey: exampleAccessKey, wantRegion: "us-east-1", wantSigned: []string{"host", "x-amz-date"},
		},
		{
			name:    "no spaces, other order",
			header:  "AWS4-HMAC-SHA256 Signature=" + validSig + ",SignedHeaders=host," + cred,
			wantKey: exampleAccessKey, wantRegion: "us-east-1", wantSigned: []string{"host"},
		},
		{
			name:    "access key with slash, any region",
			header:  "AWS4-HMAC-SHA256 Credential=a/b/20130524/eu-central-7/s3/aws4_request, SignedHeaders=host, Signature=" + validSig,
			wantKey: "a/b", wantRegion: "eu-central-7", wantSigned: []string{"host"},
		},
		{name: "signature v2", header: "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", wantErr: ErrUnsupportedSignature},
		{name: "sigv4a", header: "AWS4-ECDSA-P256-SHA256 " + cred, wantErr: ErrUnsupportedSignature},
		{name: "bearer", header: "Bearer abc", wantErr: ErrUnsupportedSignature},
		{name: "algorithm only", header: "AWS4-HMAC-SHA256", wantErr: ErrAuthorizationHeaderMalformed},
		{name: "missing signature", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host", wantErr: ErrAuthorizationHeaderMalformed},
		{name: "repeated credential", header: "AWS4-HMAC-SHA256 " + cred + ", " + cred + ", SignedHeaders=host, Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "unknown field", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + validSig + ", Foo=bar", wantErr: ErrAuthorizationHeaderMalformed},
		{name: "field without equals", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders, Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "short credential", header: "AWS4-HMAC-SHA256 Credential=20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "bad scope date", header: "AWS4-HMAC-SHA256 Credential=AK/2013-05-24/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "bad terminator", header: "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws5_request, SignedHeaders=host, Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "empty region", header: "AWS4-HMAC-SHA256 Credential=AK/20130524//s3/aws4_request, SignedHeaders=host, Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "uppercase signed header", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host, Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "empty signed header", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "duplicate signed header", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;host, Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "short signature", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + validSig[1:], wantErr: ErrAuthorizationHeaderMalformed},
		{name: "non-hex signature", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + strings.Repeat("g", 64), wantErr: ErrAuthorizationHeaderMalformed},
		{name: "too long", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=" + strings.Repeat("x", maxAuthorizationLen) + ", Signature=" + validSig, wantErr: ErrAuthorizationHeaderMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseAuthorization(tt.header)
			if !errorIs(t, "parseAuthorization()", err, tt.wantErr) || err != nil {
				return
			}
			if f.cred.accessKey != tt.wantKey || f.cred.scope.region != tt.wantRegion || f.cred.scope.service != serviceS3 {
				t.Errorf("credential = %+v, want key %q region %q", f.cred, tt.wantKey, tt.wantRegion)
			}
			if diff := cmp.Diff(tt.wantSigned, f.signedHeaders); diff != "" {
				t.Errorf("signed headers mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + validSig)
	f.Add("AWS4-HMAC-SHA256 Signature=" + validSig + ",SignedHeaders=host,Credential=a/b/20130524/x/s3/aws4_request")
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
	f.Add("AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;, Signature=")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if !errors.Is(err, ErrAuthorizationHeaderMalformed) && !errors.Is(err, ErrUnsupportedSignature) {
				t.Fatalf("parseAuthorization(%q) = %v, not a sentinel", h, err)
			}
			return
		}
		if a.cred.accessKey == "" || len(a.cred.scope.date) != 8 || a.cred.scope.region == "" || len(a.signedHeaders) == 0 {
			t.Fatalf("parseAuthorization(%q) accepted an incomplete header: %+v", h, a)
		}
		for _, name := range a.signedHeaders {
			if !isLowerToken(name) {
				t.Fatalf("parseAuthorization(%q) accepted signed header %q", h, name)
			}
		}
	})
}

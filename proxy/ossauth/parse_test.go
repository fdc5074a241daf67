package ossauth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

func TestParseV1Authorization(t *testing.T) {
	const sig = "26NBxoKdsyly4EDv6inkoDft/yA="
	plusSig := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xef, 0xbe}, 7)[:20]) // "++++..."
	tests := []struct {
		name    string
		in      string
		wantKey string
		wantErr error
	}{
		{"valid", "OSS " + docAccessKey + ":" + sig, docAccessKey, nil},
		{"key with a colon", "OSS a:b:" + sig, "a:b", nil},
		{"signature with spaces for plus", "OSS ak:" + strings.ReplaceAll(plusSig, "+", " "), "ak", nil},
		{"28 characters without padding", "OSS ak:" + strings.Repeat("A", 28), "", ErrInvalidArgument},
		{"wrong scheme", "AWS ak:" + sig, "", ErrInvalidArgument},
		{"no colon", "OSS ak", "", ErrInvalidArgument},
		{"empty key", "OSS :" + sig, "", ErrInvalidArgument},
		{"blank in key", "OSS a k:" + sig, "", ErrInvalidArgument},
		{"signature too short", "OSS ak:" + sig[:27], "", ErrInvalidArgument},
		{"signature too long", "OSS ak:" + sig + "A", "", ErrInvalidArgument},
		{"signature not base64", "OSS ak:" + strings.Repeat("*", 28), "", ErrInvalidArgument},
		{"too long", "OSS " + strings.Repeat("k", maxAuthorizationLen) + ":" + sig, "", ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseV1Authorization(tt.in)
			if !errorIs(t, "parseV1Authorization()", err, tt.wantErr) || err != nil {
				return
			}
			if got.accessKey != tt.wantKey {
				t.Errorf("parseV1Authorization(%q).accessKey = %q, want %q", tt.in, got.accessKey, tt.wantKey)
			}
		})
	}
}

func TestParseV4Authorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	cred := "ak/20250101/cn-hangzhou/oss/aliyun_v4_request"
	tests := []struct {
		name    string
		in      string
		want    v4Fields
		wantErr error
	}{
		{"minimal", "OSS4-HMAC-SHA256 Credential=" + cred + ",Signature=" + sig, v4Fields{
			cred: v4Credential{"ak", v4Scope{"20250101", "cn-hangzhou", "oss"}},
		}, nil},
		{"additional headers, any order, blanks", "OSS4-HMAC-SHA256 Signature=" + sig + ", AdditionalHeaders=Host;range , Credential=" + cred, v4Fields{
			cred:       v4Credential{"ak", v4Scope{"20250101", "cn-hangzhou", "oss"}},
			additional: []string{"host", "range"},
		}, nil},
		{"access key with slashes", "OSS4-HMAC-SHA256 Credential=a/b/20250101/cn-hangzhou/oss/aliyun_v4_request,Signature=" + sig, v4Fields{
			cred: v4Credential{"a/b", v4Scope{"20250101", "cn-hangzhou", "oss"}},
		}, nil},
		{"empty additional headers", "OSS4-HMAC-SHA256 Credential=" + cred + ",AdditionalHeaders=,Signature=" + sig, v4Fields{
			cred: v4Credential{"ak", v4Scope{"20250101", "cn-hangzhou", "oss"}},
		}, nil},
		{"wrong scheme", "AWS4-HMAC-SHA256 Credential=" + cred + ",Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"no fields", "OSS4-HMAC-SHA256 ", v4Fields{}, ErrInvalidArgument},
		{"missing credential", "OSS4-HMAC-SHA256 Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"missing signature", "OSS4-HMAC-SHA256 Credential=" + cred, v4Fields{}, ErrInvalidArgument},
		{"repeated signature", "OSS4-HMAC-SHA256 Credential=" + cred + ",Signature=" + sig + ",Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"unknown field", "OSS4-HMAC-SHA256 Credential=" + cred + ",SignedHeaders=host,Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"field without =", "OSS4-HMAC-SHA256 Credential=" + cred + ",Signature", v4Fields{}, ErrInvalidArgument},
		{"short credential", "OSS4-HMAC-SHA256 Credential=ak/20250101/oss/aliyun_v4_request,Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"bad credential date", "OSS4-HMAC-SHA256 Credential=ak/2025-01-01/cn-hangzhou/oss/aliyun_v4_request,Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"bad terminator", "OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/aws4_request,Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"empty region", "OSS4-HMAC-SHA256 Credential=ak/20250101//oss/aliyun_v4_request,Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"short signature", "OSS4-HMAC-SHA256 Credential=" + cred + ",Signature=" + sig[:62], v4Fields{}, ErrInvalidArgument},
		{"signature not hex", "OSS4-HMAC-SHA256 Credential=" + cred + ",Signature=" + strings.Repeat("zz", 32), v4Fields{}, ErrInvalidArgument},
		{"additional header listed twice", "OSS4-HMAC-SHA256 Credential=" + cred + ",AdditionalHeaders=host;Host,Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"additional header not a token", "OSS4-HMAC-SHA256 Credential=" + cred + ",AdditionalHeaders=a b,Signature=" + sig, v4Fields{}, ErrInvalidArgument},
		{"too long", "OSS4-HMAC-SHA256 Credential=" + strings.Repeat("a", maxAuthorizationLen), v4Fields{}, ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseV4Authorization(tt.in)
			if !errorIs(t, "parseV4Authorization()", err, tt.wantErr) || err != nil {
				return
			}
			hex.Decode(tt.want.signature[:], []byte(sig))
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(v4Fields{}, v4Credential{}, v4Scope{})); diff != "" {
				t.Errorf("parseV4Authorization(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestV1Resource(t *testing.T) {
	tests := []struct {
		name, bucket, key, query string
		want                     string
	}{
		{"service", "", "", "", "/"},
		{"bucket", "b", "", "", "/b/"},
		{"object, raw key", "b", "dir/a b+c~é", "", "/b/dir/a b+c~é"},
		{"unsigned parameters dropped", "b", "k", "prefix=a&max-keys=10&marker=m", "/b/k"},
		{"sub-resources sorted, valueless bare", "b", "k", "uploadId=u%2F1&partNumber=2&acl", "/b/k?acl&partNumber=2&uploadId=u/1"},
		{"empty value is bare", "b", "", "uploads=", "/b/?uploads"},
		{"x-oss-* parameters signed", "b", "k", "x-oss-process=image%2Fresize%2Cw_100&x-oss-other=1", "/b/k?x-oss-other=1&x-oss-process=image/resize,w_100"},
		{"response overrides decoded", "b", "k", "response-content-disposition=attachment%3B%20filename%3D%22a.txt%22", `/b/k?response-content-disposition=attachment; filename="a.txt"`},
		{"names are case-sensitive", "b", "k", "ACL&Acl", "/b/k"},
		{"presign parameters not signed", "b", "k", "OSSAccessKeyId=a&Expires=1&Signature=s&security-token=t", "/b/k?security-token=t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v1Resource(tt.bucket, tt.key, sigio.ParseQuery(tt.query))
			if err != nil || got != tt.want {
				t.Errorf("v1Resource(%q, %q, %q) = %q, %v, want %q", tt.bucket, tt.key, tt.query, got, err, tt.want)
			}
		})
	}
}

func TestV4CanonicalRequest(t *testing.T) {
	r := newTestRequest("PUT", "/b/dir/a%20b+c~%C3%A9?uploadId=u%2F1&partNumber=2&uploads&x-oss-signature=s", testHost, nil,
		"Content-Type", "text/plain",
		"X-Oss-Meta-B", " two ",
		"X-Oss-Meta-A", "1",
		"Range", "bytes=0-1",
		"User-Agent", "not signed",
	)
	r.Header.Add("X-Oss-Meta-A", "2")
	got := v4CanonicalRequest(r, "b", "dir/a b+c~é", sigio.ParseQuery(r.URL.RawQuery), true, []string{"range", "host"}, unsignedPayload)
	want := "PUT\n" +
		"/b/dir/a%20b%2Bc~%C3%A9\n" +
		"partNumber=2&uploadId=u%2F1&uploads\n" +
		"content-type:text/plain\n" +
		"host:" + testHost + "\n" +
		"range:bytes=0-1\n" +
		"x-oss-meta-a:1,2\n" +
		"x-oss-meta-b:two\n" +
		"\n" +
		"range;host\n" +
		"UNSIGNED-PAYLOAD"
	if got != want {
		t.Errorf("v4CanonicalRequest() =\n%s\nwant\n%s", got, want)
	}
}

// Fuzz targets: the parsers meet every byte of a hostile client's header
// and query. They must never panic, and what they accept must be what
// they were given.

func FuzzParseV1Authorization(f *testing.F) {
	for _, s := range []string{
		"OSS 44CF9590006BF252F707:26NBxoKdsyly4EDv6inkoDft/yA=",
		"OSS a:b:26NBxoKdsyly4EDv6inkoDft/yA=",
		"OSS :", "OSS ", "OSS", "OSS ak:", "OSS2 AccessKeyId:ak,Signature:sig",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseV1Authorization(h)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("parseV1Authorization(%q) = %v, not ErrInvalidArgument", h, err)
			}
			return
		}
		if a.accessKey == "" || !strings.HasPrefix(h, "OSS "+a.accessKey+":") {
			t.Fatalf("parseV1Authorization(%q).accessKey = %q", h, a.accessKey)
		}
		again, err := parseV1Authorization("OSS " + a.accessKey + ":" + base64.StdEncoding.EncodeToString(a.signature[:]))
		if err != nil || again != a {
			t.Fatalf("re-parse of %q = %+v, %v, want %+v", h, again, err, a)
		}
	})
}

func FuzzParseV4Authorization(f *testing.F) {
	sig := strings.Repeat("0a", 32)
	for _, s := range []string{
		"OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/aliyun_v4_request,Signature=" + sig,
		"OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=host;range,Signature=" + sig,
		"OSS4-HMAC-SHA256 Signature=" + sig + ", Credential=a/b/20250101/r/oss/aliyun_v4_request",
		"OSS4-HMAC-SHA256 ", "OSS4-HMAC-SHA256 ,,,", "OSS4-HMAC-SHA256 Credential=////",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseV4Authorization(h)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("parseV4Authorization(%q) = %v, not ErrInvalidArgument", h, err)
			}
			return
		}
		if a.cred.accessKey == "" || !strings.Contains(h, a.cred.accessKey+"/"+a.cred.scope.String()) {
			t.Fatalf("parseV4Authorization(%q).cred = %+v, not in the header", h, a.cred)
		}
		for _, name := range a.additional {
			if !isToken(name) || strings.ToLower(name) != name {
				t.Fatalf("parseV4Authorization(%q) additional header %q", h, name)
			}
		}
	})
}

func FuzzParseV1Query(f *testing.F) {
	for _, s := range []string{
		"OSSAccessKeyId=44CF9590006BF252F707&Expires=1141889120&Signature=EwaNTn1erJGkimiJ9WmXgwnANLc%3D",
		"OSSAccessKeyId=a&Expires=1&Signature=EwaNTn1erJGkimiJ9WmXgwnANLc=&acl&uploadId=1",
		"OSSAccessKeyId&Expires&Signature", "Expires=99999999999999999999", "Signature=%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		params := sigio.ParseQuery(raw)
		q, err := parseV1Query(params)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("parseV1Query(%q) = %v, not ErrInvalidArgument", raw, err)
			}
		} else if q.accessKey == "" || !isDigits(q.expires) {
			t.Fatalf("parseV1Query(%q) = %+v", raw, q)
		}
		if _, err := v1Resource("b", "k", params); err != nil && !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("v1Resource(%q) = %v", raw, err)
		}
	})
}

func FuzzParseV4Query(f *testing.F) {
	for _, s := range []string{
		"x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20231217T025437Z&x-oss-expires=599&x-oss-signature=a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe",
		"x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=a/20250101/r/oss/aliyun_v4_request&x-oss-date=20250101T000000Z&x-oss-expires=604800&x-oss-signature=" + strings.Repeat("0", 64) + "&x-oss-additional-headers=host",
		"x-oss-signature-version=OSS2&x-oss-access-key-id=a", "x-oss-expires=-1", "x-oss-date=2025",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		params := sigio.ParseQuery(raw)
		q, err := parseV4Query(params)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, ErrUnsupportedSignature) {
				t.Fatalf("parseV4Query(%q) = %v", raw, err)
			}
		} else if q.expires <= 0 || q.expires.Seconds() > maxPresignExpires || q.cred.accessKey == "" {
			t.Fatalf("parseV4Query(%q) = %+v", raw, q)
		}
		r := newTestRequest("GET", "/b/k", testHost, nil)
		_ = v4CanonicalRequest(r, "b", "k", params, true, q.additional, unsignedPayload)
	})
}

// FuzzVerify drives the whole of Verify and IsOSS with a hostile
// Authorization header, query and dates.
func FuzzVerify(f *testing.F) {
	f.Add("OSS "+testAccessKey+":26NBxoKdsyly4EDv6inkoDft/yA=", "acl", "Wed, 01 Jan 2025 12:00:00 GMT", "")
	f.Add("OSS4-HMAC-SHA256 Credential="+testAccessKey+"/20250101/cn-hangzhou/oss/aliyun_v4_request,Signature="+strings.Repeat("0", 64), "", "", "20250101T120000Z")
	f.Add("", "OSSAccessKeyId=a&Expires=1&Signature=s", "", "")
	f.Add("", "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=a", "", "")
	f.Fuzz(func(t *testing.T, authz, rawQuery, date, ossDate string) {
		r := newTestRequest("GET", "/b/k", testHost, nil)
		r.URL.RawQuery = rawQuery
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if date != "" {
			r.Header["Date"] = []string{date}
		}
		if ossDate != "" {
			r.Header["X-Oss-Date"] = []string{ossDate}
		}
		_ = IsOSS(r)
		res, err := testVerifier().Verify(r)
		if err == nil && res.AccessKey != testAccessKey {
			t.Fatalf("Verify() accepted access key %q", res.AccessKey)
		}
	})
}

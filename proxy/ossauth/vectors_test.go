package ossauth

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The worked examples of the OSS V1 documentation ("Include signatures in
// the Authorization header" and "in a URL"), with its example key pair.
const (
	docAccessKey = "44CF9590006BF252F707"
	docSecret    = "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV"
)

func TestV1DocumentationHeaderExample(t *testing.T) {
	r := newTestRequest("PUT", "/oss-example/nelson", "oss-example.oss-cn-hangzhou.aliyuncs.com", nil,
		"Content-Md5", "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
		"Content-Type", "text/html",
		"Date", "Thu, 17 Nov 2005 18:49:58 GMT",
		"X-OSS-Meta-Author", "foo@bar.com",
		"X-OSS-Magic", "abracadabra",
		"Authorization", "OSS "+docAccessKey+":26NBxoKdsyly4EDv6inkoDft/yA=",
	)
	resource, err := v1Resource("oss-example", "nelson", nil)
	if err != nil {
		t.Fatal(err)
	}
	sts := v1StringToSign(r, r.Header.Get("Date"), resource)
	wantSTS := "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\nThu, 17 Nov 2005 18:49:58 GMT\n" +
		"x-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n/oss-example/nelson"
	if sts != wantSTS {
		t.Errorf("v1StringToSign() = %q, want %q", sts, wantSTS)
	}
	if got := base64.StdEncoding.EncodeToString(v1Signature(docSecret, sts)); got != "26NBxoKdsyly4EDv6inkoDft/yA=" {
		t.Errorf("v1Signature() = %s, want 26NBxoKdsyly4EDv6inkoDft/yA=", got)
	}
	// The example's Content-MD5 is the base64 of a hex string, not of 16
	// bytes: the signature matches, then the digest is refused, as OSS would.
	v := New(Options{Credentials: staticCreds{docAccessKey: docSecret}, Now: fixedNow(time.Date(2005, 11, 17, 18, 49, 58, 0, time.UTC))})
	_, err = v.Verify(r)
	errorIs(t, "Verify()", err, ErrInvalidDigest)
}

func TestV1DocumentationURLExample(t *testing.T) {
	target := "/oss-example/oss-api.pdf?OSSAccessKeyId=" + docAccessKey + "&Expires=1141889120&Signature=EwaNTn1erJGkimiJ9WmXgwnANLc%3D"
	for _, tt := range []struct {
		name string
		now  int64
		want error
	}{
		{"signed 60s before expiry", 1141889060, nil},
		{"at expiry", 1141889120, nil},
		{"one second late", 1141889121, ErrExpired},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := New(Options{Credentials: staticCreds{docAccessKey: docSecret}, Now: fixedNow(time.Unix(tt.now, 0))})
			res, err := v.Verify(newTestRequest("GET", target, "oss-cn-hangzhou.aliyuncs.com", nil))
			if errorIs(t, "Verify()", err, tt.want) && err == nil && !res.Presigned {
				t.Errorf("Presigned = false, want true")
			}
		})
	}
}

// sdkV4Query is the query of the V4 signer tests of
// alibabacloud-oss-go-sdk-v2 (oss/signer/signer_test.go, v1.6.1): names
// that need encoding and valueless parameters.
func sdkV4Query() url.Values {
	values := url.Values{}
	values.Add("param1", "value1")
	values.Add("+param1", "value3")
	values.Add("|param1", "value4")
	values.Add("+param2", "")
	values.Add("|param2", "")
	values.Add("param2", "")
	return values
}

// The known answers of alibabacloud-oss-go-sdk-v2's own V4 signer tests
// (ak/sk, bucket "bucket", key "1234+-/123/1.txt", cn-hangzhou), replayed
// as the requests a server receives.
func TestV4SDKKnownAnswers(t *testing.T) {
	const host = "bucket.oss-cn-hangzhou.aliyuncs.com"
	const path = "/1234%2B-/123/1.txt"
	tests := []struct {
		name     string
		signTime int64
		query    string
		headers  []string
	}{
		{
			name:     "header",
			signTime: 1702743657,
			query:    sdkV4Query().Encode(),
			headers: []string{
				"content-type", "text/plain", "x-oss-content-sha256", "UNSIGNED-PAYLOAD", "x-oss-date", "20231216T162057Z",
				"Authorization", "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe",
			},
		},
		{
			name:     "header with additional headers",
			signTime: 1702747512,
			query:    sdkV4Query().Encode(),
			headers: []string{
				"content-type", "text/plain", "x-oss-content-sha256", "UNSIGNED-PAYLOAD", "x-oss-date", "20231216T172512Z",
				"Authorization", "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=abc;zabc,Signature=4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f",
			},
		},
		{
			name:     "query",
			signTime: 1702781677,
			query: func() string {
				q := sdkV4Query()
				q.Add("x-oss-signature-version", "OSS4-HMAC-SHA256")
				q.Add("x-oss-date", "20231217T025437Z")
				q.Add("x-oss-expires", "599")
				q.Add("x-oss-credential", "ak/20231217/cn-hangzhou/oss/aliyun_v4_request")
				q.Add("x-oss-signature", "a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe")
				return strings.ReplaceAll(q.Encode(), "+", "%20")
			}(),
			headers: []string{"content-type", "application/octet-stream"},
		},
		{
			name:     "query with additional headers",
			signTime: 1702783809,
			query: func() string {
				q := sdkV4Query()
				q.Add("x-oss-signature-version", "OSS4-HMAC-SHA256")
				q.Add("x-oss-date", "20231217T033009Z")
				q.Add("x-oss-expires", "599")
				q.Add("x-oss-credential", "ak/20231217/cn-hangzhou/oss/aliyun_v4_request")
				q.Add("x-oss-additional-headers", "abc;zabc")
				q.Add("x-oss-signature", "6bd984bfe531afb6db1f7550983a741b103a8c58e5e14f83ea474c2322dfa2b7")
				return strings.ReplaceAll(q.Encode(), "+", "%20")
			}(),
			headers: []string{"content-type", "application/octet-stream"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := append([]string{"x-oss-head1", "value", "abc", "value", "ZAbc", "value", "XYZ", "value"}, tt.headers...)
			r := newTestRequest("PUT", path+"?"+tt.query, host, nil, headers...)
			v := New(Options{
				Credentials:    staticCreds{"ak": "sk"},
				Now:            fixedNow(time.Unix(tt.signTime, 0)),
				BucketFromHost: hostSuffix("oss-cn-hangzhou.aliyuncs.com"),
			})
			res, err := v.Verify(r)
			if !errorIs(t, "Verify()", err, nil) {
				return
			}
			if res.AccessKey != "ak" {
				t.Errorf("AccessKey = %q, want ak", res.AccessKey)
			}
			// One header changed breaks it.
			r.Header.Set("x-oss-head1", "other")
			_, err = v.Verify(r)
			errorIs(t, "Verify(tampered x-oss-head1)", err, ErrSignatureDoesNotMatch)
		})
	}
}

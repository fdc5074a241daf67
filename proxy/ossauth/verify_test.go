package ossauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

const (
	testAccessKey = "LTAI5tTESTKEY"
	testSecret    = "test-secret-0123456789"
	testHost      = "oss.example.com"
)

// testNow is the request and verifier time of the hand-built requests.
var testNow = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func testVerifier() *Verifier {
	return New(Options{Credentials: staticCreds{testAccessKey: testSecret}, Now: fixedNow(testNow)})
}

// signV1 signs r with V1 in the Authorization header at time t, setting
// Date. The SDK tests establish that the functions used here sign as the
// SDKs do; these requests cover what the SDKs cannot be made to send.
func signV1(r *http.Request, ak, secret string, t time.Time) *http.Request {
	r.Header.Set("Date", t.UTC().Format(http.TimeFormat))
	bucket, key := (&Verifier{}).resource(r)
	res, err := v1Resource(bucket, key, sigio.ParseQuery(r.URL.RawQuery))
	if err != nil {
		panic(err)
	}
	sig := v1Signature(secret, v1StringToSign(r, r.Header.Get("Date"), res))
	r.Header.Set("Authorization", "OSS "+ak+":"+base64.StdEncoding.EncodeToString(sig))
	return r
}

// signV4 signs r with V4 in the Authorization header at time t, setting
// x-oss-date and, unless present, x-oss-content-sha256.
func signV4(r *http.Request, ak, secret string, t time.Time, additional ...string) *http.Request {
	r.Header.Set("x-oss-date", t.UTC().Format(iso8601Basic))
	if r.Header.Get("x-oss-content-sha256") == "" {
		r.Header.Set("x-oss-content-sha256", unsignedPayload)
	}
	scope := v4Scope{date: t.UTC().Format(scopeDateLayout), region: "cn-hangzhou", product: v4Product}
	bucket, key := (&Verifier{}).resource(r)
	creq := v4CanonicalRequest(r, bucket, key, sigio.ParseQuery(r.URL.RawQuery), false, additional, r.Header.Get("x-oss-content-sha256"))
	sig := hmacSHA256(v4SigningKey(secret, scope), v4StringToSign(r.Header.Get("x-oss-date"), scope, creq))
	h := "OSS4-HMAC-SHA256 Credential=" + ak + "/" + scope.String()
	if len(additional) > 0 {
		h += ",AdditionalHeaders=" + strings.Join(additional, ";")
	}
	r.Header.Set("Authorization", h+",Signature="+hex.EncodeToString(sig))
	return r
}

// presignV1 returns target with V1 presigned parameters appended.
func presignV1(method, target string, expires time.Time, headers ...string) *http.Request {
	r := newTestRequest(method, target, testHost, nil, headers...)
	bucket, key := (&Verifier{}).resource(r)
	res, _ := v1Resource(bucket, key, sigio.ParseQuery(r.URL.RawQuery))
	exp := fmt.Sprint(expires.Unix())
	sig := v1Signature(testSecret, v1StringToSign(r, exp, res))
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	target += sep + "OSSAccessKeyId=" + testAccessKey + "&Expires=" + exp + "&Signature=" + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(base64.StdEncoding.EncodeToString(sig))
	return newTestRequest(method, target, testHost, nil, headers...)
}

// presignV4 returns target with V4 presigned parameters appended, signed
// at t for expires seconds.
func presignV4(method, target string, t time.Time, expires string, headers ...string) *http.Request {
	scope := v4Scope{date: t.UTC().Format(scopeDateLayout), region: "cn-hangzhou", product: v4Product}
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	target += sep + "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=" + testAccessKey + "%2F" + strings.ReplaceAll(scope.String(), "/", "%2F") +
		"&x-oss-date=" + t.UTC().Format(iso8601Basic) + "&x-oss-expires=" + expires
	r := newTestRequest(method, target, testHost, nil, headers...)
	bucket, key := (&Verifier{}).resource(r)
	payload, _ := contentSHA256(r.Header)
	creq := v4CanonicalRequest(r, bucket, key, sigio.ParseQuery(r.URL.RawQuery), true, nil, payload)
	sig := hmacSHA256(v4SigningKey(testSecret, scope), v4StringToSign(t.UTC().Format(iso8601Basic), scope, creq))
	return newTestRequest(method, target+"&x-oss-signature="+hex.EncodeToString(sig), testHost, nil, headers...)
}

func TestVerify(t *testing.T) {
	get := func(headers ...string) *http.Request {
		return newTestRequest("GET", "/bucket/key", testHost, nil, headers...)
	}
	tests := []struct {
		name      string
		req       func() *http.Request
		want      error
		presigned bool
	}{
		// Which mechanism.
		{"anonymous", func() *http.Request { return get() }, ErrAnonymous, false},
		{"anonymous with x-oss headers", func() *http.Request { return get("x-oss-acl", "private") }, ErrAnonymous, false},
		{"OSS2 header", func() *http.Request { return get("Authorization", "OSS2 AccessKeyId:ak,Signature:c2ln") }, ErrUnsupportedSignature, false},
		{"AWS SigV4 header", func() *http.Request {
			return get("Authorization", "AWS4-HMAC-SHA256 Credential=a/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
		}, ErrUnsupportedSignature, false},
		{"OSS2 query", func() *http.Request {
			return newTestRequest("GET", "/bucket/key?x-oss-signature-version=OSS2&x-oss-access-key-id=ak&x-oss-expires=1&x-oss-signature=c2ln", testHost, nil)
		}, ErrUnsupportedSignature, false},
		{"two Authorization headers", func() *http.Request {
			r := signV1(get(), testAccessKey, testSecret, testNow)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r
		}, ErrInvalidArgument, false},
		{"empty Authorization header", func() *http.Request { return get("Authorization", "") }, ErrAnonymous, false},
		{"header and V1 query", func() *http.Request {
			r := presignV1("GET", "/bucket/key", testNow.Add(time.Hour))
			return signV1(r, testAccessKey, testSecret, testNow)
		}, ErrMultipleAuth, false},
		{"V1 and V4 queries", func() *http.Request {
			r := presignV4("GET", "/bucket/key?OSSAccessKeyId=a", testNow, "60")
			return r
		}, ErrMultipleAuth, false},

		// V1 header.
		{"V1", func() *http.Request { return signV1(get(), testAccessKey, testSecret, testNow) }, nil, false},
		{"V1 bucket only", func() *http.Request {
			return signV1(newTestRequest("GET", "/bucket/?acl", testHost, nil), testAccessKey, testSecret, testNow)
		}, nil, false},
		{"V1 bucket without trailing slash", func() *http.Request {
			return signV1(newTestRequest("GET", "/bucket?location", testHost, nil), testAccessKey, testSecret, testNow)
		}, nil, false},
		{"V1 service", func() *http.Request {
			return signV1(newTestRequest("GET", "/", testHost, nil), testAccessKey, testSecret, testNow)
		}, nil, false},
		{"V1 unknown key", func() *http.Request { return signV1(get(), "LTAIother", testSecret, testNow) }, ErrInvalidAccessKeyID, false},
		{"V1 wrong secret", func() *http.Request { return signV1(get(), testAccessKey, "other", testNow) }, ErrSignatureDoesNotMatch, false},
		{"V1 without Date", func() *http.Request {
			r := signV1(get(), testAccessKey, testSecret, testNow)
			r.Header.Del("Date")
			return r
		}, ErrMissingDate, false},
		{"V1 unparsable Date", func() *http.Request {
			r := signV1(get(), testAccessKey, testSecret, testNow)
			r.Header.Set("Date", "yesterday")
			return r
		}, ErrMissingDate, false},
		{"V1 x-oss-date yyyymmddThhmmssZ rules the clock", func() *http.Request {
			r := get("x-oss-date", testNow.Format(iso8601Basic))
			return signV1(r, testAccessKey, testSecret, testNow.Add(-time.Hour))
		}, nil, false},
		{"V1 x-oss-date as HTTP date", func() *http.Request {
			return signV1(get("x-oss-date", testNow.Format(http.TimeFormat)), testAccessKey, testSecret, testNow)
		}, nil, false},
		{"V1 x-oss-date skewed though Date is not", func() *http.Request {
			return signV1(get("x-oss-date", testNow.Add(time.Hour).Format(iso8601Basic)), testAccessKey, testSecret, testNow)
		}, ErrRequestTimeTooSkewed, false},
		{"V1 x-oss-date garbage", func() *http.Request {
			return signV1(get("x-oss-date", "soon"), testAccessKey, testSecret, testNow)
		}, ErrMissingDate, false},
		{"V1 15 minutes skew is allowed", func() *http.Request {
			return signV1(get(), testAccessKey, testSecret, testNow.Add(-15*time.Minute))
		}, nil, false},
		{"V1 16 minutes skew", func() *http.Request {
			return signV1(get(), testAccessKey, testSecret, testNow.Add(16*time.Minute))
		}, ErrRequestTimeTooSkewed, false},
		{"V1 x-oss-meta added after signing", func() *http.Request {
			r := signV1(get(), testAccessKey, testSecret, testNow)
			r.Header.Set("x-oss-meta-evil", "1")
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V1 x-oss header value changed", func() *http.Request {
			r := signV1(get("X-Oss-Meta-A", "1"), testAccessKey, testSecret, testNow)
			r.Header.Set("X-Oss-Meta-A", "2")
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V1 Content-Type changed", func() *http.Request {
			r := signV1(get("Content-Type", "text/plain"), testAccessKey, testSecret, testNow)
			r.Header.Set("Content-Type", "text/html")
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V1 method changed", func() *http.Request {
			r := signV1(get(), testAccessKey, testSecret, testNow)
			r.Method = "DELETE"
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V1 sub-resource added", func() *http.Request {
			r := signV1(get(), testAccessKey, testSecret, testNow)
			r.URL.RawQuery = "acl"
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V1 x-oss-* query parameter added", func() *http.Request {
			r := signV1(get(), testAccessKey, testSecret, testNow)
			r.URL.RawQuery = "x-oss-process=image/resize"
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V1 unsigned parameter added (as OSS, not a sub-resource)", func() *http.Request {
			r := signV1(get(), testAccessKey, testSecret, testNow)
			r.URL.RawQuery = "prefix=a"
			return r
		}, nil, false},
		{"V1 multipart sub-resources", func() *http.Request {
			return signV1(newTestRequest("PUT", "/bucket/key?uploadId=u%2B1&partNumber=1", testHost, nil), testAccessKey, testSecret, testNow)
		}, nil, false},
		{"V1 sub-resource value changed", func() *http.Request {
			r := signV1(newTestRequest("PUT", "/bucket/key?uploadId=u&partNumber=1", testHost, nil), testAccessKey, testSecret, testNow)
			r.URL.RawQuery = "uploadId=u&partNumber=2"
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V1 header scheme only", func() *http.Request { return get("Authorization", "OSS ") }, ErrInvalidArgument, false},
		{"V1 no colon", func() *http.Request { return get("Authorization", "OSS akonly") }, ErrInvalidArgument, false},
		{"V1 empty access key", func() *http.Request { return get("Authorization", "OSS :26NBxoKdsyly4EDv6inkoDft/yA=") }, ErrInvalidArgument, false},
		{"V1 short signature", func() *http.Request { return get("Authorization", "OSS ak:c2ln") }, ErrInvalidArgument, false},
		{"V1 signature not base64", func() *http.Request { return get("Authorization", "OSS ak:!!!!!!!!!!!!!!!!!!!!!!!!!!!=") }, ErrInvalidArgument, false},
		{"V1 header of 17 KiB", func() *http.Request { return get("Authorization", "OSS "+strings.Repeat("a", 17<<10)+":x") }, ErrInvalidArgument, false},

		// V1 presigned.
		{"V1 presigned", func() *http.Request { return presignV1("GET", "/bucket/key", testNow.Add(time.Minute)) }, nil, true},
		{"V1 presigned with sub-resource", func() *http.Request {
			return presignV1("GET", "/bucket/key?response-content-type=text%2Fhtml&versionId=v1", testNow.Add(time.Minute))
		}, nil, true},
		{"V1 presigned, expired", func() *http.Request { return presignV1("GET", "/bucket/key", testNow.Add(-time.Second)) }, ErrExpired, false},
		{"V1 presigned without Expires", func() *http.Request {
			return newTestRequest("GET", "/bucket/key?OSSAccessKeyId=a&Signature=26NBxoKdsyly4EDv6inkoDft%2FyA%3D", testHost, nil)
		}, ErrInvalidArgument, false},
		{"V1 presigned Signature twice", func() *http.Request {
			r := presignV1("GET", "/bucket/key", testNow.Add(time.Minute))
			r.URL.RawQuery += "&Signature=x"
			return r
		}, ErrInvalidArgument, false},
		{"V1 presigned Expires not a number", func() *http.Request {
			return newTestRequest("GET", "/bucket/key?OSSAccessKeyId=a&Expires=-1&Signature=26NBxoKdsyly4EDv6inkoDft%2FyA%3D", testHost, nil)
		}, ErrInvalidArgument, false},
		{"V1 presigned Expires changed", func() *http.Request {
			r := presignV1("GET", "/bucket/key", testNow.Add(time.Minute))
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "Expires=", "Expires=9", 1)
			return r
		}, ErrSignatureDoesNotMatch, false},

		// V4 header.
		{"V4", func() *http.Request { return signV4(get(), testAccessKey, testSecret, testNow) }, nil, false},
		{"V4 with additional headers", func() *http.Request {
			return signV4(get("Range", "bytes=0-1", "X-Custom", "a"), testAccessKey, testSecret, testNow, "host", "range", "x-custom")
		}, nil, false},
		{"V4 additional header changed", func() *http.Request {
			r := signV4(get("Range", "bytes=0-1"), testAccessKey, testSecret, testNow, "range")
			r.Header.Set("Range", "bytes=0-100")
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V4 additional header removed", func() *http.Request {
			r := signV4(get("Range", "bytes=0-1"), testAccessKey, testSecret, testNow, "range")
			r.Header.Del("Range")
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V4 host changed", func() *http.Request {
			r := signV4(get(), testAccessKey, testSecret, testNow, "host")
			r.Host = "other.example.com"
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V4 query parameter added", func() *http.Request {
			r := signV4(get(), testAccessKey, testSecret, testNow)
			r.URL.RawQuery = "prefix=a"
			return r
		}, ErrSignatureDoesNotMatch, false},
		{"V4 wrong secret", func() *http.Request { return signV4(get(), testAccessKey, "other", testNow) }, ErrSignatureDoesNotMatch, false},
		{"V4 skewed", func() *http.Request { return signV4(get(), testAccessKey, testSecret, testNow.Add(-time.Hour)) }, ErrRequestTimeTooSkewed, false},
		{"V4 product s3", func() *http.Request {
			r := signV4(get(), testAccessKey, testSecret, testNow)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/oss/", "/s3/", 1))
			return r
		}, ErrInvalidArgument, false},
		{"V4 scope date is not x-oss-date's", func() *http.Request {
			r := signV4(get(), testAccessKey, testSecret, testNow)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20250101/", "/20250102/", 1))
			return r
		}, ErrInvalidArgument, false},
		{"V4 x-oss-date as HTTP date", func() *http.Request {
			r := signV4(get(), testAccessKey, testSecret, testNow)
			r.Header.Set("x-oss-date", testNow.Format(http.TimeFormat))
			return r
		}, ErrMissingDate, false},
		{"V4 no date at all", func() *http.Request {
			r := signV4(get(), testAccessKey, testSecret, testNow)
			r.Header.Del("x-oss-date")
			return r
		}, ErrMissingDate, false},
		{"V4 x-oss-content-sha256 neither UNSIGNED-PAYLOAD nor hex", func() *http.Request {
			return signV4(get("x-oss-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"), testAccessKey, testSecret, testNow)
		}, ErrInvalidArgument, false},
		{"V4 x-oss-content-sha256 of 64 non-hex characters", func() *http.Request {
			return signV4(get("x-oss-content-sha256", strings.Repeat("z", 64)), testAccessKey, testSecret, testNow)
		}, ErrInvalidArgument, false},
		{"V4 missing Signature", func() *http.Request {
			return get("Authorization", "OSS4-HMAC-SHA256 Credential=a/20250101/cn-hangzhou/oss/aliyun_v4_request", "x-oss-date", "20250101T120000Z")
		}, ErrInvalidArgument, false},
		{"V4 repeated Credential", func() *http.Request {
			return get("Authorization", "OSS4-HMAC-SHA256 Credential=a/20250101/cn-hangzhou/oss/aliyun_v4_request,Credential=a/20250101/cn-hangzhou/oss/aliyun_v4_request,Signature="+strings.Repeat("0", 64))
		}, ErrInvalidArgument, false},
		{"V4 with spaces after commas", func() *http.Request {
			r := signV4(get(), testAccessKey, testSecret, testNow)
			r.Header.Set("Authorization", strings.ReplaceAll(r.Header.Get("Authorization"), ",", ", "))
			return r
		}, nil, false},
		{"V4 Date only, as aliyun-oss-go-sdk sends", func() *http.Request {
			r := get("x-oss-content-sha256", unsignedPayload, "Date", testNow.Format(http.TimeFormat))
			scope := v4Scope{date: "20250101", region: "cn-hangzhou", product: "oss"}
			creq := v4CanonicalRequest(r, "bucket", "key", nil, false, nil, unsignedPayload)
			sig := hmacSHA256(v4SigningKey(testSecret, scope), v4StringToSign(r.Header.Get("Date"), scope, creq))
			r.Header.Set("Authorization", "OSS4-HMAC-SHA256 Credential="+testAccessKey+"/"+scope.String()+",Signature="+hex.EncodeToString(sig))
			return r
		}, nil, false},

		// V4 presigned.
		{"V4 presigned", func() *http.Request { return presignV4("GET", "/bucket/key", testNow, "60") }, nil, true},
		{"V4 presigned, expired", func() *http.Request {
			return presignV4("GET", "/bucket/key", testNow.Add(-61*time.Second), "60")
		}, ErrExpired, false},
		{"V4 presigned 14 minutes in the future", func() *http.Request {
			return presignV4("GET", "/bucket/key", testNow.Add(14*time.Minute), "60")
		}, nil, true},
		{"V4 presigned 16 minutes in the future", func() *http.Request {
			return presignV4("GET", "/bucket/key", testNow.Add(16*time.Minute), "60")
		}, ErrRequestTimeTooSkewed, false},
		{"V4 presigned for 7 days", func() *http.Request {
			return presignV4("GET", "/bucket/key", testNow, "604800")
		}, nil, true},
		{"V4 presigned for 7 days and a second", func() *http.Request {
			return presignV4("GET", "/bucket/key", testNow, "604801")
		}, ErrInvalidArgument, false},
		{"V4 presigned for 0 seconds", func() *http.Request {
			return presignV4("GET", "/bucket/key", testNow, "0")
		}, ErrInvalidArgument, false},
		{"V4 presigned without x-oss-date", func() *http.Request {
			r := presignV4("GET", "/bucket/key", testNow, "60")
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "x-oss-date=", "x-oss-datx=", 1)
			return r
		}, ErrInvalidArgument, false},
		{"V4 presigned with unknown version", func() *http.Request {
			r := presignV4("GET", "/bucket/key", testNow, "60")
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "OSS4-HMAC-SHA256", "OSS5", 1)
			return r
		}, ErrUnsupportedSignature, false},
		{"V4 presigned x-oss header added", func() *http.Request {
			r := presignV4("GET", "/bucket/key", testNow, "60")
			r.Header.Set("x-oss-meta-a", "b")
			return r
		}, ErrSignatureDoesNotMatch, false},

		// Content-MD5 is checked before any body byte is read.
		{"Content-MD5 not base64", func() *http.Request {
			return signV1(get("Content-MD5", "not base64 at all!!!!!!!"), testAccessKey, testSecret, testNow)
		}, ErrInvalidDigest, false},
		{"Content-MD5 of 15 bytes", func() *http.Request {
			return signV1(get("Content-MD5", base64.StdEncoding.EncodeToString(make([]byte, 15))), testAccessKey, testSecret, testNow)
		}, ErrInvalidDigest, false},
		{"Content-MD5 of 24 characters without padding", func() *http.Request {
			return signV1(get("Content-MD5", strings.Repeat("A", 24)), testAccessKey, testSecret, testNow)
		}, ErrInvalidDigest, false},
		{"Content-MD5 twice", func() *http.Request {
			r := get("Content-MD5", md5Base64(nil))
			r.Header.Add("Content-MD5", md5Base64(nil))
			return signV1(r, testAccessKey, testSecret, testNow)
		}, ErrInvalidDigest, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req()
			before := r.Clone(t.Context())
			res, err := testVerifier().Verify(r)
			if !errorIs(t, "Verify()", err, tt.want) {
				return
			}
			if r.URL.String() != before.URL.String() || fmt.Sprint(r.Header) != fmt.Sprint(before.Header) || r.Host != before.Host {
				t.Errorf("Verify() mutated the request")
			}
			if err != nil {
				return
			}
			if res.AccessKey != testAccessKey || res.Presigned != tt.presigned {
				t.Errorf("Result = {%q, Presigned %v}, want {%q, %v}", res.AccessKey, res.Presigned, testAccessKey, tt.presigned)
			}
		})
	}
}

func TestVerifySubResourceTwice(t *testing.T) {
	r := newTestRequest("GET", "/bucket/key?acl&acl", testHost, nil)
	r.Header.Set("Date", testNow.Format(http.TimeFormat))
	r.Header.Set("Authorization", "OSS "+testAccessKey+":26NBxoKdsyly4EDv6inkoDft/yA=")
	_, err := testVerifier().Verify(r)
	errorIs(t, "Verify(?acl&acl)", err, ErrInvalidArgument)
}

func TestVerifyWithoutCredentials(t *testing.T) {
	v := New(Options{Now: fixedNow(testNow)})
	r := signV1(newTestRequest("GET", "/bucket/key", testHost, nil), testAccessKey, testSecret, testNow)
	_, err := v.Verify(r)
	errorIs(t, "Verify() with nil Credentials", err, ErrInvalidAccessKeyID)
}

func TestVirtualHostedBucket(t *testing.T) {
	v := New(Options{
		Credentials:    staticCreds{testAccessKey: testSecret},
		Now:            fixedNow(testNow),
		BucketFromHost: hostSuffix("oss-cn-hangzhou.aliyuncs.com"),
	})
	tests := []struct {
		name, host, target  string
		wantBucket, wantKey string
	}{
		{"virtual-hosted object", "bucket.oss-cn-hangzhou.aliyuncs.com", "/dir/key", "bucket", "dir/key"},
		{"virtual-hosted with port, mixed case", "Bucket.OSS-cn-hangzhou.aliyuncs.com:8080", "/key", "bucket", "key"},
		{"virtual-hosted bucket", "bucket.oss-cn-hangzhou.aliyuncs.com", "/", "bucket", ""},
		{"path style on the endpoint", "oss-cn-hangzhou.aliyuncs.com", "/bucket/dir/key", "bucket", "dir/key"},
		{"path style on another host", "127.0.0.1:9000", "/bucket/key", "bucket", "key"},
		{"service", "oss-cn-hangzhou.aliyuncs.com", "/", "", ""},
		{"escaped slash in key", "bucket.oss-cn-hangzhou.aliyuncs.com", "/a%2Fb", "bucket", "a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRequest("GET", tt.target, tt.host, nil)
			if b, k := v.resource(r); b != tt.wantBucket || k != tt.wantKey {
				t.Errorf("resource(%s%s) = %q, %q, want %q, %q", tt.host, tt.target, b, k, tt.wantBucket, tt.wantKey)
			}
		})
	}
}

// The body checks: Content-MD5 and a hex x-oss-content-sha256, at read
// sizes and payload lengths around the reader's edges. On success the
// whole payload comes out and then io.EOF; on failure everything but the
// last byte comes out, then the error.
func TestBodyChecks(t *testing.T) {
	sizes := []int{0, 1, 2, 32<<10 - 1, 32 << 10, 32<<10 + 1, 100 << 10}
	readSizes := []int{1, 7, 32 << 10}
	type check struct {
		name   string
		sign   func(payload []byte) *http.Request
		wantOK bool
	}
	put := func(payload []byte, headers ...string) *http.Request {
		return newTestRequest("PUT", "/bucket/key", testHost, bytes.NewReader(payload), headers...)
	}
	checks := []check{
		{"no digest", func(p []byte) *http.Request { return signV1(put(p), testAccessKey, testSecret, testNow) }, true},
		{"Content-MD5 matches", func(p []byte) *http.Request {
			return signV1(put(p, "Content-MD5", md5Base64(p)), testAccessKey, testSecret, testNow)
		}, true},
		{"Content-MD5 of other data", func(p []byte) *http.Request {
			return signV1(put(p, "Content-MD5", md5Base64(append([]byte("x"), p...))), testAccessKey, testSecret, testNow)
		}, false},
		{"x-oss-content-sha256 matches", func(p []byte) *http.Request {
			sum := sha256.Sum256(p)
			return signV4(put(p, "x-oss-content-sha256", hex.EncodeToString(sum[:])), testAccessKey, testSecret, testNow)
		}, true},
		{"x-oss-content-sha256 of other data", func(p []byte) *http.Request {
			sum := sha256.Sum256(append([]byte("x"), p...))
			return signV4(put(p, "x-oss-content-sha256", hex.EncodeToString(sum[:])), testAccessKey, testSecret, testNow)
		}, false},
		{"both match", func(p []byte) *http.Request {
			sum := sha256.Sum256(p)
			return signV4(put(p, "Content-MD5", md5Base64(p), "x-oss-content-sha256", hex.EncodeToString(sum[:])), testAccessKey, testSecret, testNow)
		}, true},
	}
	for _, c := range checks {
		for _, size := range sizes {
			for _, rs := range readSizes {
				t.Run(fmt.Sprintf("%s/%d bytes/reads of %d", c.name, size, rs), func(t *testing.T) {
					payload := bytes.Repeat([]byte{0xA5, 0x5A, 0x00, 0xFF}, size/4+1)[:size]
					res, err := testVerifier().Verify(c.sign(payload))
					if err != nil {
						t.Fatalf("Verify() = %v", err)
					}
					got, err := readAllWith(res.Body, rs)
					if c.wantOK {
						if err != nil || !bytes.Equal(got, payload) {
							t.Errorf("Body = %d bytes, %v, want %d bytes, EOF", len(got), err, size)
						}
						return
					}
					errorIs(t, "reading Body", err, ErrBadDigest)
					if want := max(size-1, 0); len(got) != want {
						t.Errorf("read %d bytes before the error, want %d (all but the last)", len(got), want)
					}
					if n, err2 := res.Body.Read(make([]byte, 8)); n != 0 || err2 != err {
						t.Errorf("Read after failure = %d, %v, want 0, %v", n, err2, err)
					}
				})
			}
		}
	}
}

func TestBodyShorterThanContentLength(t *testing.T) {
	payload := bytes.Repeat([]byte("z"), 1000)
	r := signV1(newTestRequest("PUT", "/bucket/key", testHost, bytes.NewReader(payload[:999])), testAccessKey, testSecret, testNow)
	r.ContentLength = 1000
	res, err := testVerifier().Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	errorIs(t, "reading Body", err, ErrIncompleteBody)
	if len(got) >= 999 {
		t.Errorf("read %d bytes, want the last one withheld", len(got))
	}
}

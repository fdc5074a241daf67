package auth

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// The presigned URL of "Authenticating Requests: Using Query Parameters".
const presignedExample = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
	"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
	"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
	"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

func TestPresignedDocExample(t *testing.T) {
	const host = "examplebucket.s3.amazonaws.com"
	tests := []struct {
		name    string
		target  string
		now     time.Time
		creds   staticCreds
		headers []string
		wantErr error
	}{
		{name: "at issue", target: presignedExample, now: exampleTime},
		{name: "last valid second", target: presignedExample, now: exampleTime.Add(86400 * time.Second)},
		{name: "one second late", target: presignedExample, now: exampleTime.Add(86401 * time.Second), wantErr: ErrExpired},
		{name: "clock behind within skew", target: presignedExample, now: exampleTime.Add(-14 * time.Minute)},
		{name: "clock behind beyond skew", target: presignedExample, now: exampleTime.Add(-16 * time.Minute), wantErr: ErrRequestTimeTooSkewed},
		{name: "other object", target: strings.Replace(presignedExample, "test.txt", "test2.txt", 1), now: exampleTime, wantErr: ErrSignatureDoesNotMatch},
		{name: "longer validity", target: strings.Replace(presignedExample, "=86400", "=86401", 1), now: exampleTime, wantErr: ErrSignatureDoesNotMatch},
		{name: "extra query parameter", target: presignedExample + "&versionId=1", now: exampleTime, wantErr: ErrSignatureDoesNotMatch},
		{name: "unknown access key", target: presignedExample, now: exampleTime, creds: staticCreds{}, wantErr: ErrInvalidAccessKeyID},
		{name: "unsigned x-amz header", target: presignedExample, now: exampleTime, headers: []string{"X-Amz-Acl", "public-read"}, wantErr: ErrUnsignedHeaders},
		{name: "also an Authorization header", target: presignedExample, now: exampleTime, headers: []string{"Authorization", "AWS4-HMAC-SHA256 x"}, wantErr: ErrMultipleAuth},
		{name: "signature twice", target: presignedExample + "&X-Amz-Signature=" + validSig, now: exampleTime, wantErr: ErrAuthorizationQueryParametersError},
		{name: "signature version 2", target: "/test.txt?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1369353600&Signature=abc", now: exampleTime, wantErr: ErrUnsupportedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := tt.creds
			if creds == nil {
				creds = staticCreds{exampleAccessKey: exampleSecret}
			}
			v := New(Options{Credentials: creds, Now: func() time.Time { return tt.now }})
			r := newTestRequest("GET", tt.target, host, nil, tt.headers...)
			res, err := v.Verify(r)
			if !errorIs(t, "Verify()", err, tt.wantErr) || err != nil {
				return
			}
			if !res.Presigned || res.AccessKey != exampleAccessKey {
				t.Errorf("Result = %+v, want presigned by %s", res, exampleAccessKey)
			}
			if b, err := io.ReadAll(res.Body); err != nil || len(b) != 0 {
				t.Errorf("body = %q, %v, want empty", b, err)
			}
		})
	}
}

func TestParsePresigned(t *testing.T) {
	const base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig
	tests := []struct {
		name        string
		query       string
		wantErr     error
		wantExpires time.Duration
	}{
		{name: "valid", query: base + "&X-Amz-Expires=60", wantExpires: time.Minute},
		{name: "seven days", query: base + "&X-Amz-Expires=604800", wantExpires: 7 * 24 * time.Hour},
		{name: "more than seven days", query: base + "&X-Amz-Expires=604801", wantErr: ErrAuthorizationQueryParametersError},
		{name: "zero expiry", query: base + "&X-Amz-Expires=0", wantErr: ErrAuthorizationQueryParametersError},
		{name: "negative expiry", query: base + "&X-Amz-Expires=-1", wantErr: ErrAuthorizationQueryParametersError},
		{name: "expiry not a number", query: base + "&X-Amz-Expires=1h", wantErr: ErrAuthorizationQueryParametersError},
		{name: "missing expiry", query: base, wantErr: ErrAuthorizationQueryParametersError},
		{name: "missing signature", query: strings.Replace(base, "&X-Amz-Signature=", "&X=", 1) + "&X-Amz-Expires=60", wantErr: ErrAuthorizationQueryParametersError},
		{name: "repeated date", query: base + "&X-Amz-Expires=60&X-Amz-Date=20130524T000000Z", wantErr: ErrAuthorizationQueryParametersError},
		{name: "bad date", query: strings.Replace(base, "20130524T000000Z", "2013-05-24T00:00:00Z", 1) + "&X-Amz-Expires=60", wantErr: ErrAuthorizationQueryParametersError},
		{name: "bad credential", query: strings.Replace(base, "AK%2F", "", 1) + "&X-Amz-Expires=60", wantErr: ErrAuthorizationQueryParametersError},
		{name: "bad signature", query: strings.Replace(base, validSig, "00", 1) + "&X-Amz-Expires=60", wantErr: ErrAuthorizationQueryParametersError},
		{name: "sigv4a", query: strings.Replace(base, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1) + "&X-Amz-Expires=60", wantErr: ErrUnsupportedSignature},
		{name: "unknown algorithm", query: strings.Replace(base, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1) + "&X-Amz-Expires=60", wantErr: ErrAuthorizationQueryParametersError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := parsePresigned(sigio.ParseQuery(tt.query))
			if !errorIs(t, "parsePresigned()", err, tt.wantErr) || err != nil {
				return
			}
			if q.expires != tt.wantExpires || q.cred.accessKey != "AK" || !q.date.Equal(exampleTime) {
				t.Errorf("parsePresigned() = %+v, want expiry %v, key AK, date %v", q, tt.wantExpires, exampleTime)
			}
		})
	}
}

func FuzzPresignedQuery(f *testing.F) {
	f.Add(presignedExample[len("/test.txt?"):])
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604801&X-Amz-Credential=%2F%2F%2F%2F")
	f.Add("X-Amz-Signature=%zz&&=&X-Amz-Date=+")
	f.Fuzz(func(t *testing.T, raw string) {
		params := sigio.ParseQuery(raw)
		_ = canonicalQuery(params, querySignature)
		q, err := parsePresigned(params)
		if err != nil {
			if !errors.Is(err, ErrAuthorizationQueryParametersError) && !errors.Is(err, ErrUnsupportedSignature) {
				t.Fatalf("parsePresigned(%q) = %v, not a sentinel", raw, err)
			}
			return
		}
		if q.expires < time.Second || q.expires > maxPresignExpires*time.Second || q.cred.accessKey == "" || len(q.signedHeaders) == 0 {
			t.Fatalf("parsePresigned(%q) accepted %+v", raw, q)
		}
		_ = checkPresignedTime(q, exampleTime, 15*time.Minute)
	})
}

// Verify reads the request and never changes it.
func TestVerifyDoesNotMutateRequest(t *testing.T) {
	for _, target := range []string{presignedExample, presignedExample + "&X-Amz-Signature=" + validSig} {
		r := newTestRequest("GET", target, "examplebucket.s3.amazonaws.com", strings.NewReader("body"),
			"X-Amz-Content-Sha256", emptySHA256, "X-Amz-Meta-A", "  spaced   value ")
		before := r.Clone(r.Context())
		exampleVerifier(exampleTime).Verify(r)
		if diff := cmp.Diff(before.Header, r.Header); diff != "" {
			t.Errorf("Verify changed the header (-before +after):\n%s", diff)
		}
		if *before.URL != *r.URL || before.Host != r.Host || before.Method != r.Method || before.ContentLength != r.ContentLength || r.Form != nil {
			t.Errorf("Verify changed the request line or parsed the form: %+v", r)
		}
	}
}

package auth

import (
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// The aws-sig-v4-test-suite cases that apply to S3 (no path normalisation,
// single encoding). The suite signs for service "service" with AKIDEXAMPLE at
// 20150830T123600Z; these reach the signing steps below Verify, which only
// accepts service s3.
func TestSigV4TestSuite(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	sc := scope{date: "20150830", region: "us-east-1", service: "service"}
	tests := []struct {
		name      string
		method    string
		target    string
		headers   []string
		signed    string
		payload   string
		presigned bool
		wantCreq  string // checked when set
		wantSig   string
	}{
		{
			name: "get-vanilla", method: "GET", target: "/",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantCreq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptySHA256,
			wantSig:  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		},
		{
			name: "get-vanilla-query-order-key-case", method: "GET", target: "/?Param2=value2&Param1=value1",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantCreq: "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptySHA256,
			wantSig:  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
		},
		{
			name: "get-vanilla-query-unreserved", method: "GET",
			target:  "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantSig: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
		},
		{
			name: "get-vanilla-utf8-query", method: "GET", target: "/?%E1%88%B4=bar",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantSig: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
		},
		{
			name: "get-header-key-duplicate", method: "GET", target: "/",
			headers: []string{"My-Header1", "value2", "My-Header1", "value2", "My-Header1", "value1", "X-Amz-Date", "20150830T123600Z"},
			signed:  "host;my-header1;x-amz-date", payload: emptySHA256,
			wantSig: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
		},
		{
			name: "get-header-value-order", method: "GET", target: "/",
			headers: []string{"My-Header1", "value4", "My-Header1", "value1", "My-Header1", "value3", "My-Header1", "value2", "X-Amz-Date", "20150830T123600Z"},
			signed:  "host;my-header1;x-amz-date", payload: emptySHA256,
			wantSig: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
		},
		{
			name: "get-header-value-trim", method: "GET", target: "/",
			headers: []string{"My-Header1", " value1", "My-Header2", ` "a   b   c"`, "X-Amz-Date", "20150830T123600Z"},
			signed:  "host;my-header1;my-header2;x-amz-date", payload: emptySHA256,
			wantCreq: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" + emptySHA256,
			wantSig:  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
		},
		{
			name: "get-unreserved", method: "GET", target: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantSig: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
		},
		{
			name: "get-utf8", method: "GET", target: "/%E1%88%B4",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantSig: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
		},
		{
			name: "get-space-unnormalized", method: "GET", target: "/example%20space/",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantSig: "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
		},
		{
			name: "get-slashes-unnormalized", method: "GET", target: "//example//",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantSig: "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5",
		},
		{
			name: "post-vanilla", method: "POST", target: "/",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantSig: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
		},
		{
			name: "post-vanilla-query", method: "POST", target: "/?Param1=value1",
			headers: []string{"X-Amz-Date", "20150830T123600Z"}, signed: "host;x-amz-date", payload: emptySHA256,
			wantSig: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
		},
		{
			name: "post-header-key-sort", method: "POST", target: "/",
			headers: []string{"My-Header1", "value1", "X-Amz-Date", "20150830T123600Z"}, signed: "host;my-header1;x-amz-date", payload: emptySHA256,
			wantSig: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
		},
		{
			name: "post-x-www-form-urlencoded", method: "POST", target: "/",
			headers: []string{"Content-Type", "application/x-www-form-urlencoded", "Content-Length", "13", "X-Amz-Date", "20150830T123600Z",
				"X-Amz-Content-Sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"},
			signed:  "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
			payload: "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
			wantSig: "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
		},
		{
			name: "presigned get-vanilla", method: "GET", presigned: true,
			target: "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request" +
				"&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
			signed: "host", payload: emptySHA256,
			wantCreq: "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request" +
				"&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\n" + emptySHA256,
			wantSig: "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
		},
		{
			name: "presigned get-vanilla-query-order-key-case", method: "GET", presigned: true,
			target: "/?Param2=value2&Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request" +
				"&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
			signed: "host", payload: emptySHA256,
			wantSig: "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5",
		},
		{
			name: "presigned post-x-www-form-urlencoded", method: "POST", presigned: true,
			target: "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request" +
				"&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Signature=00",
			headers: []string{"Content-Type", "application/x-www-form-urlencoded", "Content-Length", "13"},
			signed:  "content-length;content-type;host",
			payload: "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
			wantSig: "89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRequest(tt.method, tt.target, "example.amazonaws.com", nil, tt.headers...)
			skip := ""
			if tt.presigned {
				skip = querySignature
			}
			signed, err := parseSignedHeaders(tt.signed)
			if err != nil {
				t.Fatal(err)
			}
			creq := canonicalRequest(r, sigio.ParseQuery(r.URL.RawQuery), skip, signed, tt.payload)
			if tt.wantCreq != "" {
				if diff := cmp.Diff(tt.wantCreq, creq); diff != "" {
					t.Errorf("canonicalRequest() mismatch (-want +got):\n%s", diff)
				}
			}
			sig := signature(signingKey(secret, sc), stringToSign("20150830T123600Z", sc, creq))
			if got := hex.EncodeToString(sig[:]); got != tt.wantSig {
				t.Errorf("signature = %s, want %s", got, tt.wantSig)
			}
		})
	}
}

// The S3 examples of "Signature Calculations for the Authorization Header:
// Transferring Payload in a Single Chunk", verified end to end, and the same
// requests altered after signing.
func TestS3DocExamples(t *testing.T) {
	const cred = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
	tests := []struct {
		name     string
		method   string
		target   string
		host     string
		body     string
		headers  []string
		wantErr  error
		wantBody string
	}{
		{
			name: "GET object", method: "GET", target: "/test.txt", host: "examplebucket.s3.amazonaws.com",
			headers: []string{"Range", "bytes=0-9", "X-Amz-Content-Sha256", emptySHA256, "X-Amz-Date", "20130524T000000Z",
				"Authorization", cred + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
		},
		{
			name: "PUT object", method: "PUT", target: "/test$file.text", host: "examplebucket.s3.amazonaws.com", body: "Welcome to Amazon S3.",
			headers: []string{"Date", "Fri, 24 May 2013 00:00:00 GMT", "X-Amz-Date", "20130524T000000Z", "X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
				"Authorization", cred + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
			wantBody: "Welcome to Amazon S3.",
		},
		{
			name: "GET bucket lifecycle", method: "GET", target: "/?lifecycle", host: "examplebucket.s3.amazonaws.com",
			headers: []string{"X-Amz-Date", "20130524T000000Z", "X-Amz-Content-Sha256", emptySHA256,
				"Authorization", cred + "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
		},
		{
			name: "GET bucket list objects", method: "GET", target: "/?max-keys=2&prefix=J", host: "examplebucket.s3.amazonaws.com",
			headers: []string{"X-Amz-Date", "20130524T000000Z", "X-Amz-Content-Sha256", emptySHA256,
				"Authorization", cred + "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
		},
		{
			name: "GET object, spaces and commas in Authorization", method: "GET", target: "/test.txt", host: "examplebucket.s3.amazonaws.com",
			headers: []string{"Range", "bytes=0-9", "X-Amz-Content-Sha256", emptySHA256, "X-Amz-Date", "20130524T000000Z",
				"Authorization", "AWS4-HMAC-SHA256 Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41, Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"},
		},
		{
			name: "GET object, range changed", method: "GET", target: "/test.txt", host: "examplebucket.s3.amazonaws.com",
			headers: []string{"Range", "bytes=0-10", "X-Amz-Content-Sha256", emptySHA256, "X-Amz-Date", "20130524T000000Z",
				"Authorization", cred + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
			wantErr: ErrSignatureDoesNotMatch,
		},
		{
			name: "GET object, other host", method: "GET", target: "/test.txt", host: "otherbucket.s3.amazonaws.com",
			headers: []string{"Range", "bytes=0-9", "X-Amz-Content-Sha256", emptySHA256, "X-Amz-Date", "20130524T000000Z",
				"Authorization", cred + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
			wantErr: ErrSignatureDoesNotMatch,
		},
		{
			name: "list objects, query changed", method: "GET", target: "/?max-keys=3&prefix=J", host: "examplebucket.s3.amazonaws.com",
			headers: []string{"X-Amz-Date", "20130524T000000Z", "X-Amz-Content-Sha256", emptySHA256,
				"Authorization", cred + "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
			wantErr: ErrSignatureDoesNotMatch,
		},
		{
			name: "PUT object, body changed", method: "PUT", target: "/test$file.text", host: "examplebucket.s3.amazonaws.com", body: "Welcome to Amazon S4.",
			headers: []string{"Date", "Fri, 24 May 2013 00:00:00 GMT", "X-Amz-Date", "20130524T000000Z", "X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
				"Authorization", cred + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
			wantErr: ErrContentSHA256Mismatch,
		},
		{
			name: "PUT object, unsigned x-amz header added", method: "PUT", target: "/test$file.text", host: "examplebucket.s3.amazonaws.com", body: "Welcome to Amazon S3.",
			headers: []string{"Date", "Fri, 24 May 2013 00:00:00 GMT", "X-Amz-Date", "20130524T000000Z", "X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", "X-Amz-Acl", "public-read",
				"Authorization", cred + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
			wantErr: ErrUnsignedHeaders,
		},
		{
			name: "GET object, credential scoped to another day", method: "GET", target: "/test.txt", host: "examplebucket.s3.amazonaws.com",
			headers: []string{"Range", "bytes=0-9", "X-Amz-Content-Sha256", emptySHA256, "X-Amz-Date", "20130524T000000Z",
				"Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130523/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
			wantErr: ErrAuthorizationHeaderMalformed,
		},
		{
			name: "GET object, no x-amz-content-sha256", method: "GET", target: "/test.txt", host: "examplebucket.s3.amazonaws.com",
			headers: []string{"Range", "bytes=0-9", "X-Amz-Date", "20130524T000000Z",
				"Authorization", cred + "SignedHeaders=host;range;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
			wantErr: ErrMissingContentSHA256,
		},
		{
			name: "GET object, no date", method: "GET", target: "/test.txt", host: "examplebucket.s3.amazonaws.com",
			headers: []string{"Range", "bytes=0-9", "X-Amz-Content-Sha256", emptySHA256,
				"Authorization", cred + "SignedHeaders=host;range;x-amz-content-sha256,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
			wantErr: ErrInvalidDate,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRequest(tt.method, tt.target, tt.host, strings.NewReader(tt.body), tt.headers...)
			res, err := exampleVerifier(exampleTime.Add(5 * time.Minute)).Verify(r)
			if errors.Is(tt.wantErr, ErrContentSHA256Mismatch) {
				if err != nil {
					t.Fatalf("Verify() = %v, want success before the body", err)
				}
				got, err := io.ReadAll(res.Body)
				errorIs(t, "reading body", err, tt.wantErr)
				if len(got) >= len(tt.body) {
					t.Errorf("read %d bytes before the error, want fewer than %d", len(got), len(tt.body))
				}
				return
			}
			if !errorIs(t, "Verify()", err, tt.wantErr) || err != nil {
				return
			}
			got, err := io.ReadAll(res.Body)
			if err != nil || string(got) != tt.wantBody {
				t.Errorf("body = %q, %v, want %q", got, err, tt.wantBody)
			}
			if res.AccessKey != exampleAccessKey || res.Presigned {
				t.Errorf("Result = %+v, want access key %s, not presigned", res, exampleAccessKey)
			}
		})
	}
}

// signForTest signs r with this package's own primitives, for the edge
// cases no published vector covers (the vectors above pin the primitives).
func signForTest(r *http.Request, signed, amzDate string, sc scope) {
	names, err := parseSignedHeaders(signed)
	if err != nil {
		panic(err)
	}
	creq := canonicalRequest(r, sigio.ParseQuery(r.URL.RawQuery), "", names, r.Header.Get("X-Amz-Content-Sha256"))
	sig := signature(signingKey(exampleSecret, sc), stringToSign(amzDate, sc, creq))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+exampleAccessKey+"/"+sc.String()+
		", SignedHeaders="+signed+", Signature="+hex.EncodeToString(sig[:]))
}

func TestHeaderAuthEdges(t *testing.T) {
	s3Scope := scope{date: "20130524", region: "us-east-1", service: serviceS3}
	tests := []struct {
		name    string
		headers []string
		signed  string
		scope   scope
		after   func(r *http.Request) // changes after signing
		creds   staticCreds
		wantErr error
	}{
		{name: "Date header only", headers: []string{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, signed: "date;host;x-amz-content-sha256"},
		{name: "x-amz-date wins over Date", headers: []string{"Date", "Thu, 01 Jan 1970 00:00:00 GMT", "X-Amz-Date", "20130524T000000Z"}, signed: "date;host;x-amz-content-sha256;x-amz-date"},
		{name: "x-amz-date malformed", headers: []string{"X-Amz-Date", "20130524T000000"}, signed: "host;x-amz-content-sha256;x-amz-date", wantErr: ErrInvalidDate},
		{name: "Date malformed", headers: []string{"Date", "yesterday"}, signed: "date;host;x-amz-content-sha256", wantErr: ErrInvalidDate},
		{name: "service not s3", headers: []string{"X-Amz-Date", "20130524T000000Z"}, signed: "host;x-amz-content-sha256;x-amz-date",
			scope: scope{date: "20130524", region: "us-east-1", service: "ec2"}, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "host not signed", headers: []string{"X-Amz-Date", "20130524T000000Z"}, signed: "x-amz-content-sha256;x-amz-date", wantErr: ErrUnsignedHeaders},
		{name: "x-amz-content-sha256 may go unsigned", headers: []string{"X-Amz-Date", "20130524T000000Z"}, signed: "host;x-amz-date"},
		{name: "two x-amz-content-sha256", headers: []string{"X-Amz-Date", "20130524T000000Z", "X-Amz-Content-Sha256", emptySHA256}, signed: "host;x-amz-date", wantErr: ErrInvalidContentSHA256},
		{name: "two Authorization headers", headers: []string{"X-Amz-Date", "20130524T000000Z"}, signed: "host;x-amz-date",
			after: func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, wantErr: ErrAuthorizationHeaderMalformed},
		{name: "signed expect stripped by a server", headers: []string{"X-Amz-Date", "20130524T000000Z", "Expect", "100-continue"}, signed: "expect;host;x-amz-date",
			after: func(r *http.Request) { r.Header.Del("Expect") }},
		{name: "signed content-length from the request", headers: []string{"X-Amz-Date", "20130524T000000Z", "Content-Length", "0"}, signed: "content-length;host;x-amz-date",
			after: func(r *http.Request) { r.Header.Del("Content-Length") }},
		{name: "signed transfer-encoding from the request", headers: []string{"X-Amz-Date", "20130524T000000Z", "Transfer-Encoding", "chunked"}, signed: "host;transfer-encoding;x-amz-date",
			after: func(r *http.Request) { r.Header.Del("Transfer-Encoding"); r.TransferEncoding = []string{"chunked"} }},
		{name: "signed header absent signs empty", headers: []string{"X-Amz-Date", "20130524T000000Z"}, signed: "host;x-amz-date;x-amz-meta-absent"},
		{name: "no credentials configured", headers: []string{"X-Amz-Date", "20130524T000000Z"}, signed: "host;x-amz-date", creds: staticCreds{}, wantErr: ErrInvalidAccessKeyID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRequest("GET", "/bucket/key", "examplebucket.s3.amazonaws.com", nil, append([]string{"X-Amz-Content-Sha256", emptySHA256}, tt.headers...)...)
			sc := tt.scope
			if sc == (scope{}) {
				sc = s3Scope
			}
			signForTest(r, tt.signed, "20130524T000000Z", sc)
			if tt.after != nil {
				tt.after(r)
			}
			v := exampleVerifier(exampleTime)
			if tt.creds != nil {
				v = New(Options{Now: func() time.Time { return exampleTime }})
			}
			_, err := v.Verify(r)
			errorIs(t, "Verify()", err, tt.wantErr)
		})
	}
}

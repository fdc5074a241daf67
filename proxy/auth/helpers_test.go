package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The example credentials of the AWS documentation.
const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// exampleTime is the request time of every S3 documentation example.
var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// staticCreds is a Credentials backed by a map.
type staticCreds map[string]string

func (c staticCreds) SecretKey(accessKey string) (string, bool) {
	s, ok := c[accessKey]
	return s, ok
}

var _ Credentials = staticCreds(nil)

// exampleVerifier verifies the documentation examples at time now.
func exampleVerifier(now time.Time) *Verifier {
	return New(Options{
		Credentials: staticCreds{exampleAccessKey: exampleSecret},
		Now:         func() time.Time { return now },
	})
}

// sha256Hasher satisfies minio-go's md5simd.Hasher for StreamingSignV4.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func newSHA256Hasher() sha256Hasher { return sha256Hasher{sha256.New()} }

// readAllWith drains r through read chunks of size n (1 = byte at a time).
func readAllWith(r io.Reader, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// errorIs reports a mismatch between err and want (nil meaning success).
func errorIs(t *testing.T, what string, err, want error) bool {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Errorf("%s = %v, want %v", what, err, want)
		return false
	}
	return true
}

// testChunkKey is an arbitrary signing key for chunk-level tests.
var testChunkKey = []byte("0123456789abcdef0123456789abcdef")

const testChunkDate = "20130524T000000Z"

var testChunkScope = scope{date: "20130524", region: "us-east-1", service: "s3"}

// testSeed is an arbitrary seed signature for chunk-level tests.
var testSeed = sha256.Sum256([]byte("seed"))

// encodeChunked frames payload as aws-chunked with chunks of chunkSize
// (the last one shorter), signing each chunk when signed, and appending
// the trailer lines (already "name:value") and, when signed and trailer
// is non-nil, the trailer signature. The signatures are computed here from
// the specification, independently of chunkSigner.
func encodeChunked(payload []byte, chunkSize int, signed bool, trailer []string) []byte {
	prev := hex.EncodeToString(testSeed[:])
	sign := func(kind, digestHex string) string {
		var sts string
		if kind == "PAYLOAD" {
			sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + testChunkDate + "\n" + testChunkScope.String() + "\n" + prev + "\n" + emptySHA256 + "\n" + digestHex
		} else {
			sts = "AWS4-HMAC-SHA256-TRAILER\n" + testChunkDate + "\n" + testChunkScope.String() + "\n" + prev + "\n" + digestHex
		}
		m := hmac.New(sha256.New, testChunkKey)
		m.Write([]byte(sts))
		prev = hex.EncodeToString(m.Sum(nil))
		return prev
	}
	var b strings.Builder
	writeChunk := func(data []byte) {
		b.WriteString(strconv.FormatInt(int64(len(data)), 16))
		if signed {
			sum := sha256.Sum256(data)
			b.WriteString(";chunk-signature=" + sign("PAYLOAD", hex.EncodeToString(sum[:])))
		}
		b.WriteString("\r\n")
		b.Write(data)
		if len(data) > 0 {
			b.WriteString("\r\n")
		}
	}
	for off := 0; off < len(payload); off += chunkSize {
		writeChunk(payload[off:min(off+chunkSize, len(payload))])
	}
	writeChunk(nil)
	if trailer == nil {
		b.WriteString("\r\n")
		return []byte(b.String())
	}
	var lines strings.Builder
	for _, l := range trailer {
		lines.WriteString(l + "\n")
		b.WriteString(l + "\r\n")
	}
	if signed {
		sum := sha256.Sum256([]byte(lines.String()))
		b.WriteString("x-amz-trailer-signature:" + sign("TRAILER", hex.EncodeToString(sum[:])) + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// newTestRequest is httptest.NewRequest with headers.
func newTestRequest(method, target, host string, body io.Reader, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

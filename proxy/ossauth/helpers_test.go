package ossauth

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// staticCreds is a Credentials backed by a map.
type staticCreds map[string]string

func (c staticCreds) SecretKey(accessKey string) (string, bool) {
	s, ok := c[accessKey]
	return s, ok
}

var _ Credentials = staticCreds(nil)

// fixedNow returns a clock stopped at t.
func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// hostSuffix is a BucketFromHost for "bucket.suffix" hosts.
func hostSuffix(suffix string) func(string) (string, bool) {
	return func(host string) (string, bool) { return strings.CutSuffix(host, "."+suffix) }
}

// readAllWith drains r through read calls of size n (1 = byte at a time).
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

// newTestRequest is httptest.NewRequest with a host and headers, as Go's
// server would hand it to a handler.
func newTestRequest(method, target, host string, body io.Reader, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

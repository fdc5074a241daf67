package devstore

import (
	"crypto/md5"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
)

func TestPartRange(t *testing.T) {
	sizes := []int64{5, 5, 1}
	tests := []struct {
		name              string
		sizes             []int64
		n                 int
		wantStart, wantLn int64
		wantOK            bool
	}{
		{"first part", sizes, 1, 0, 5, true},
		{"middle part", sizes, 2, 5, 5, true},
		{"last part", sizes, 3, 10, 1, true},
		{"past the last", sizes, 4, 0, 0, false},
		{"part zero", sizes, 0, 0, 0, false},
		{"negative part", sizes, -1, 0, 0, false},
		{"whole object", []int64{7}, 1, 0, 7, true},
		{"empty object", []int64{0}, 1, 0, 0, true},
		{"no parts", nil, 1, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, n, ok := partRange(tt.sizes, tt.n)
			if start != tt.wantStart || n != tt.wantLn || ok != tt.wantOK {
				t.Errorf("partRange(%v, %d) = %d, %d, %v, want %d, %d, %v", tt.sizes, tt.n, start, n, ok, tt.wantStart, tt.wantLn, tt.wantOK)
			}
		})
	}
}

func TestParsePartSizes(t *testing.T) {
	tests := []struct {
		name   string
		v      string
		size   int64
		want   []int64
		wantOK bool
	}{
		{"three parts", "5242880,5242880,1024", 10486784, []int64{5242880, 5242880, 1024}, true},
		{"one part", "7", 7, []int64{7}, true},
		{"round trip of the maximum", formatPartSizes(make10000(3)), 30000, make10000(3), true},
		{"more than 10000 parts", formatPartSizes(append(make10000(1), 1)), 10001, nil, false},
		{"sum below the object", "5,5", 11, nil, false},
		{"sum above the object", "5,5", 9, nil, false},
		{"empty", "", 0, nil, false},
		{"zero part", "5,0", 5, nil, false},
		{"negative part", "6,-1", 5, nil, false},
		{"not a number", "5,x", 10, nil, false},
		{"empty field", "5,,5", 10, nil, false},
		{"spaces", "5, 5", 10, nil, false},
		{"overflow", "9223372036854775807,9223372036854775807", 9223372036854775807, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parsePartSizes(tt.v, tt.size)
			if ok != tt.wantOK || (ok && !slices.Equal(got, tt.want)) {
				t.Errorf("parsePartSizes(%.40q, %d) = %v, %v, want %v, %v", tt.v, tt.size, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func make10000(size int64) []int64 {
	s := make([]int64, gofakes3.MaxUploadPartNumber)
	for i := range s {
		s[i] = size
	}
	return s
}

// testStore returns a backend holding bucket "b" and a server of it, closed
// when the test ends. next, if not nil, wraps gofakes3 under reads.
func testStore(t *testing.T, next func(http.Handler) http.Handler) (*backend, *httptest.Server) {
	t.Helper()
	b, err := newBackend(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	if next == nil {
		h = handler(b, slog.New(slog.DiscardHandler))
	} else {
		faker := gofakes3.New(b, gofakes3.WithMetadataSizeLimit(0), gofakes3.WithLogger(fakesLogger{slog.New(slog.DiscardHandler)}))
		h = normalize(reads(b, next(faker.Server())))
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return b, srv
}

// completeParts writes the parts to bucket "b" under key with a multipart
// upload and returns the object's ETag as HEAD reports it.
func completeParts(t *testing.T, b *backend, key string, meta map[string]string, parts ...string) string {
	t.Helper()
	id, err := b.CreateMultipartUpload("b", key, meta)
	if err != nil {
		t.Fatal(err)
	}
	var list []gofakes3.CompletedPart
	for i, p := range parts {
		etag, err := b.UploadPart("b", key, id, i+1, int64(len(p)), strings.NewReader(p))
		if err != nil {
			t.Fatalf("UploadPart(%d): %v", i+1, err)
		}
		list = append(list, gofakes3.CompletedPart{PartNumber: i + 1, ETag: etag})
	}
	if _, _, err := b.CompleteMultipartUpload("b", key, id, &gofakes3.CompleteMultipartUploadRequest{Parts: list}); err != nil {
		t.Fatalf("CompleteMultipartUpload(%q): %v", key, err)
	}
	obj, err := b.HeadObject("b", key)
	if err != nil {
		t.Fatal(err)
	}
	return gofakes3.FormatETag(obj.Hash)
}

type httpResult struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, srv *httptest.Server, method, target string, header map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, target, err)
	}
	return httpResult{resp.StatusCode, resp.Header, string(body)}
}

// errorCode returns the Code of an S3 error document, or "".
func errorCode(body string) string {
	var doc struct{ Code string }
	xml.Unmarshal([]byte(body), &doc)
	return doc.Code
}

const (
	lastModified = "Mon, 02 Jan 2006 15:04:05 GMT"
	before       = "Sun, 01 Jan 2006 00:00:00 GMT"
	after        = "Tue, 03 Jan 2006 00:00:00 GMT"
)

func TestReads(t *testing.T) {
	b, srv := testStore(t, nil)
	meta := map[string]string{"X-Amz-Meta-Color": "blue", "Last-Modified": lastModified}
	etag := completeParts(t, b, "mp", meta, "aaaa", "bbbb", "cc")
	if _, err := b.PutObject("b", "single", meta, strings.NewReader("hello"), 5, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutObject("b", "empty", meta, strings.NewReader(""), 0, nil); err != nil {
		t.Fatal(err)
	}

	// want lists headers the response must carry; "" means absent.
	tests := []struct {
		name       string
		method     string
		target     string
		header     map[string]string
		wantStatus int
		wantBody   string // for GET; an error code if wantStatus >= 400
		want       map[string]string
	}{
		{"HEAD middle part", "HEAD", "/b/mp?partNumber=2", nil, 206, "",
			map[string]string{"Content-Length": "4", "Content-Range": "bytes 4-7/10", "X-Amz-Mp-Parts-Count": "3", "ETag": etag, "X-Amz-Meta-Color": "blue"}},
		{"GET last part", "GET", "/b/mp?partNumber=3", nil, 206, "cc",
			map[string]string{"Content-Length": "2", "Content-Range": "bytes 8-9/10", "X-Amz-Mp-Parts-Count": "3", "ETag": etag}},
		{"GET part with a response override", "GET", "/b/mp?partNumber=1&response-content-type=text%2Fx-part", nil, 206, "aaaa",
			map[string]string{"Content-Type": "text/x-part", "Content-Range": "bytes 0-3/10"}},
		{"GET past the last part", "GET", "/b/mp?partNumber=4", nil, 416, "InvalidPartNumber", map[string]string{"X-Amz-Mp-Parts-Count": ""}},
		{"HEAD past the last part", "HEAD", "/b/mp?partNumber=4", nil, 416, "", nil},
		{"GET without partNumber is untouched", "GET", "/b/mp", nil, 200, "aaaabbbbcc", map[string]string{"X-Amz-Mp-Parts-Count": "", "Content-Range": ""}},
		{"GET part 1 of a whole object", "GET", "/b/single?partNumber=1", nil, 206, "hello",
			map[string]string{"Content-Range": "bytes 0-4/5", "X-Amz-Mp-Parts-Count": ""}},
		{"HEAD part 2 of a whole object", "HEAD", "/b/single?partNumber=2", nil, 416, "", nil},
		{"GET part 1 of an empty object", "GET", "/b/empty?partNumber=1", nil, 200, "", map[string]string{"Content-Length": "0", "Content-Range": ""}},
		{"part number 0", "GET", "/b/mp?partNumber=0", nil, 400, "InvalidArgument", nil},
		{"part number 10001", "GET", "/b/mp?partNumber=10001", nil, 400, "InvalidArgument", nil},
		{"part number not a number", "GET", "/b/mp?partNumber=x", nil, 400, "InvalidArgument", nil},
		{"part number with a Range", "GET", "/b/mp?partNumber=1", map[string]string{"Range": "bytes=0-1"}, 400, "InvalidRequest", nil},
		{"missing key", "GET", "/b/nope?partNumber=1", nil, 404, "NoSuchKey", nil},
		{"missing bucket", "GET", "/nobucket/k?partNumber=1", nil, 404, "NoSuchBucket", nil},
		{"part with matching If-Match", "HEAD", "/b/mp?partNumber=1", map[string]string{"If-Match": etag}, 206, "",
			map[string]string{"Content-Length": "4", "X-Amz-Mp-Parts-Count": "3"}},
		{"part with other If-Match", "HEAD", "/b/mp?partNumber=1", map[string]string{"If-Match": `"0123"`}, 412, "", nil},
		{"GET with other If-Match", "GET", "/b/mp", map[string]string{"If-Match": `"0123"`}, 412, "PreconditionFailed", nil},
		{"GET with If-Match list", "GET", "/b/single", map[string]string{"If-Match": `"0123", ` + etagOf("hello")}, 200, "hello", nil},
		{"GET with If-Match *", "GET", "/b/single", map[string]string{"If-Match": "*"}, 200, "hello", nil},
		{"GET with unquoted If-Match", "GET", "/b/single", map[string]string{"If-Match": strings.Trim(etagOf("hello"), `"`)}, 200, "hello", nil},
		{"If-Unmodified-Since before the object", "GET", "/b/single", map[string]string{"If-Unmodified-Since": before}, 412, "PreconditionFailed", nil},
		{"If-Unmodified-Since after the object", "GET", "/b/single", map[string]string{"If-Unmodified-Since": after}, 200, "hello", nil},
		{"If-Match wins over If-Unmodified-Since", "GET", "/b/single",
			map[string]string{"If-Match": etagOf("hello"), "If-Unmodified-Since": before}, 200, "hello", nil},
		{"If-None-Match on a part", "GET", "/b/mp?partNumber=2", map[string]string{"If-None-Match": etag}, 304, "", nil},
		{"If-Match fails before If-None-Match", "GET", "/b/mp?partNumber=2", map[string]string{"If-Match": `"0123"`, "If-None-Match": etag}, 412, "PreconditionFailed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := send(t, srv, tt.method, tt.target, tt.header)
			if res.status != tt.wantStatus {
				t.Fatalf("%s %s = %d %q, want %d", tt.method, tt.target, res.status, res.body, tt.wantStatus)
			}
			switch {
			case tt.wantStatus >= 400 && tt.method == "GET":
				if got := errorCode(res.body); got != tt.wantBody {
					t.Errorf("%s %s error code %q, want %q", tt.method, tt.target, got, tt.wantBody)
				}
			case res.body != tt.wantBody:
				t.Errorf("%s %s body = %q, want %q", tt.method, tt.target, res.body, tt.wantBody)
			}
			for k, want := range tt.want {
				if got := res.header.Get(k); got != want {
					t.Errorf("%s %s header %s = %q, want %q", tt.method, tt.target, k, got, want)
				}
			}
			for k := range res.header {
				if strings.HasPrefix(k, internalPrefix) {
					t.Errorf("%s %s returned internal header %s", tt.method, tt.target, k)
				}
			}
		})
	}
}

// etagOf returns the ETag the store gives an object holding s.
func etagOf(s string) string {
	sum := md5.Sum([]byte(s))
	return gofakes3.FormatETag(sum[:])
}

// TestReadsObjectReplaced replaces the object between reads' look-up and
// gofakes3's read: the response must not come from the new object under
// the old object's part layout or preconditions.
func TestReadsObjectReplaced(t *testing.T) {
	var b *backend
	b, srv := testStore(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := b.PutObject("b", "k", nil, strings.NewReader("replaced"), 8, nil); err != nil {
				t.Error(err)
			}
			next.ServeHTTP(w, r)
		})
	})
	tests := []struct {
		name       string
		method     string
		target     string
		header     map[string]string
		wantStatus int
		wantCode   string
	}{
		{"GET part", "GET", "/b/k?partNumber=1", nil, 503, "ServiceUnavailable"},
		{"HEAD part", "HEAD", "/b/k?partNumber=2", nil, 503, ""},
		{"GET with If-Match of the old object", "GET", "/b/k", map[string]string{"If-Match": etagOf("aaaabb")}, 412, "PreconditionFailed"},
		{"GET without conditions is untouched", "GET", "/b/k", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			completeParts(t, b, "k", nil, "aaaa", "bb")
			res := send(t, srv, tt.method, tt.target, tt.header)
			if res.status != tt.wantStatus || errorCode(res.body) != tt.wantCode {
				t.Errorf("%s %s = %d %q, want %d %s", tt.method, tt.target, res.status, res.body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus == 200 && res.body != "replaced" {
				t.Errorf("%s %s body = %q, want replaced", tt.method, tt.target, res.body)
			}
			for _, h := range []string{"Content-Range", "X-Amz-Mp-Parts-Count"} {
				if v := res.header.Get(h); v != "" && tt.wantStatus != 200 {
					t.Errorf("%s %s kept header %s: %q", tt.method, tt.target, h, v)
				}
			}
		})
	}
}

package proxy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/proxy/auth"
	"github.com/sseproxy/sseproxy/proxy/s3"
	"github.com/sseproxy/sseproxy/sse"
)

// errCode is the S3 code err becomes, "" for nil.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	return toS3Error(err).Code
}

// rangeResult is what GET does with a Range header on an object of some size.
type rangeResult struct {
	Ranged      bool  // false: the whole object, 200
	Satisfiable bool  // false: 416
	Off, N      int64 // the bytes served when ranged and satisfiable
}

func TestParseRangeResolve(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		size    int64
		want    rangeResult
		wantErr *s3.Error
	}{
		{"absent", "", 10, rangeResult{}, nil},
		{"first byte", "bytes=0-0", 10, rangeResult{true, true, 0, 1}, nil},
		{"whole as range", "bytes=0-9", 10, rangeResult{true, true, 0, 10}, nil},
		{"middle", "bytes=2-5", 10, rangeResult{true, true, 2, 4}, nil},
		{"last byte", "bytes=9-9", 10, rangeResult{true, true, 9, 1}, nil},
		{"open ended", "bytes=5-", 10, rangeResult{true, true, 5, 5}, nil},
		{"open ended at last byte", "bytes=9-", 10, rangeResult{true, true, 9, 1}, nil},
		{"open ended at size", "bytes=10-", 10, rangeResult{true, false, 0, 0}, nil},
		{"suffix", "bytes=-10", 100, rangeResult{true, true, 90, 10}, nil},
		{"suffix of one", "bytes=-1", 100, rangeResult{true, true, 99, 1}, nil},
		{"suffix longer than size", "bytes=-10", 5, rangeResult{true, true, 0, 5}, nil},
		{"suffix of size", "bytes=-5", 5, rangeResult{true, true, 0, 5}, nil},
		{"suffix zero", "bytes=-0", 10, rangeResult{}, s3.ErrInvalidRange},
		{"last past size", "bytes=5-100", 10, rangeResult{true, true, 5, 5}, nil},
		{"first past size", "bytes=100-200", 10, rangeResult{true, false, 0, 0}, nil},
		{"first at size", "bytes=10-10", 10, rangeResult{true, false, 0, 0}, nil},
		{"last at max int64", "bytes=0-9223372036854775807", 10, rangeResult{true, true, 0, 10}, nil},
		{"first at max int64", "bytes=9223372036854775807-", 10, rangeResult{true, false, 0, 0}, nil},
		{"64 KiB package edge", "bytes=65535-65536", 1 << 20, rangeResult{true, true, 65535, 2}, nil},
		{"spaces around spec", "bytes= 1-2 ", 10, rangeResult{true, true, 1, 2}, nil},
		{"size 0 first byte", "bytes=0-0", 0, rangeResult{true, false, 0, 0}, nil},
		{"size 0 open ended", "bytes=0-", 0, rangeResult{true, false, 0, 0}, nil},
		{"size 0 suffix", "bytes=-1", 0, rangeResult{true, false, 0, 0}, nil},
		{"multi-range", "bytes=0-1,3-4", 10, rangeResult{}, nil},
		{"multi-range with suffix zero", "bytes=-0,0-1", 10, rangeResult{}, nil},
		{"last before first", "bytes=5-4", 10, rangeResult{}, nil},
		{"garbage", "bytes=abc", 10, rangeResult{}, nil},
		{"no dash", "bytes=5", 10, rangeResult{}, nil},
		{"empty spec", "bytes=", 10, rangeResult{}, nil},
		{"dash only", "bytes=-", 10, rangeResult{}, nil},
		{"negative suffix", "bytes=--1", 10, rangeResult{}, nil},
		{"negative first", "bytes=-1-2", 10, rangeResult{}, nil},
		{"garbage last", "bytes=1-x", 10, rangeResult{}, nil},
		{"first overflows", "bytes=99999999999999999999-", 10, rangeResult{}, nil},
		{"other unit", "items=0-1", 10, rangeResult{}, nil},
		{"no unit", "0-1", 10, rangeResult{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br, ok, err := parseRange(tt.header)
			if tt.wantErr != nil || err != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("parseRange(%q) error = %v, want %v", tt.header, err, tt.wantErr)
				}
				return
			}
			got := rangeResult{Ranged: ok}
			if ok {
				got.Off, got.N, got.Satisfiable = br.resolve(tt.size)
				if !got.Satisfiable {
					got.Off, got.N = 0, 0
				}
			}
			if got != tt.want {
				t.Errorf("parseRange(%q).resolve(%d) = %+v, want %+v", tt.header, tt.size, got, tt.want)
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=5-", "bytes=-10", "bytes=-0", "bytes=0-1,2-3", "bytes=9-1", "bytes=+1-+2"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			return
		}
		br, ok, err := parseRange(header)
		if err != nil {
			if ok || !errors.Is(err, s3.ErrInvalidRange) {
				t.Fatalf("parseRange(%q) = %v, %v, want InvalidRange alone", header, ok, err)
			}
			return
		}
		if !ok {
			return
		}
		off, n, sat := br.resolve(size)
		if sat && (off < 0 || n <= 0 || off > size-n) {
			t.Fatalf("parseRange(%q).resolve(%d) = %d, %d, want a non-empty range within the object", header, size, off, n)
		}
	})
}

func TestETagMatches(t *testing.T) {
	tests := []struct {
		list, etag string
		want       bool
	}{
		{`"abc"`, `"abc"`, true},
		{`abc`, `"abc"`, true},
		{`"abc"`, `abc`, true},
		{`W/"abc"`, `"abc"`, true},
		{`"x", "abc"`, `"abc"`, true},
		{`"x","abc"`, `"abc"`, true},
		{`"x" , W/"abc" `, `"abc"`, true},
		{`"x", "y"`, `"abc"`, false},
		{`*`, `"abc"`, true},
		{` * `, `"abc"`, true},
		{`"x", *`, `"abc"`, true},
		{`"ABC"`, `"abc"`, false},
		{`"abc-2"`, `"abc"`, false},
		{`"ab"`, `"abc"`, false},
		{`"abc"`, `"0123456789abcdef0123456789abcdef-3"`, false},
		{`"0123456789abcdef0123456789abcdef-3"`, `"0123456789abcdef0123456789abcdef-3"`, true},
	}
	for _, tt := range tests {
		if got := etagMatches(tt.list, tt.etag); got != tt.want {
			t.Errorf("etagMatches(%q, %q) = %v, want %v", tt.list, tt.etag, got, tt.want)
		}
	}
}

func TestCheckPreconditions(t *testing.T) {
	modified := time.Date(2024, 5, 1, 12, 0, 0, 500e6, time.UTC) // stores keep sub-second times
	const (
		same    = "Wed, 01 May 2024 12:00:00 GMT"
		before  = "Wed, 01 May 2024 11:59:59 GMT"
		after   = "Wed, 01 May 2024 12:00:01 GMT"
		md5     = "0123456789abcdef0123456789abcdef"
		storeET = `"stored-etag"`
	)
	plain := object{info: backend.ObjectInfo{ETag: storeET, LastModified: modified}}
	encrypted := object{info: backend.ObjectInfo{ETag: storeET, LastModified: modified}, encrypted: true, record: sse.Record{ETag: md5}}
	tests := []struct {
		name   string
		o      object
		header http.Header
		want   string // S3 error code, "" for none
	}{
		{"no conditions", plain, nil, ""},
		{"if-match matches", plain, http.Header{"If-Match": {storeET}}, ""},
		{"if-match star", plain, http.Header{"If-Match": {"*"}}, ""},
		{"if-match differs", plain, http.Header{"If-Match": {`"other"`}}, "PreconditionFailed"},
		{"if-none-match matches", plain, http.Header{"If-None-Match": {storeET}}, "NotModified"},
		{"if-none-match star", plain, http.Header{"If-None-Match": {"*"}}, "NotModified"},
		{"if-none-match differs", plain, http.Header{"If-None-Match": {`"other"`}}, ""},
		{"if-modified-since same second", plain, http.Header{"If-Modified-Since": {same}}, "NotModified"},
		{"if-modified-since later", plain, http.Header{"If-Modified-Since": {after}}, "NotModified"},
		{"if-modified-since earlier", plain, http.Header{"If-Modified-Since": {before}}, ""},
		{"if-modified-since garbage", plain, http.Header{"If-Modified-Since": {"yesterday"}}, ""},
		{"if-unmodified-since same second", plain, http.Header{"If-Unmodified-Since": {same}}, ""},
		{"if-unmodified-since earlier", plain, http.Header{"If-Unmodified-Since": {before}}, "PreconditionFailed"},
		{"if-unmodified-since garbage", plain, http.Header{"If-Unmodified-Since": {"yesterday"}}, ""},
		{"if-match true overrides if-unmodified-since", plain, http.Header{"If-Match": {storeET}, "If-Unmodified-Since": {before}}, ""},
		{"if-none-match false overrides if-modified-since", plain, http.Header{"If-None-Match": {`"other"`}, "If-Modified-Since": {same}}, ""},
		{"412 before 304", plain, http.Header{"If-Match": {`"other"`}, "If-None-Match": {storeET}}, "PreconditionFailed"},
		{"if-unmodified-since 412 before 304", plain, http.Header{"If-Unmodified-Since": {before}, "If-None-Match": {storeET}}, "PreconditionFailed"},
		{"if-match and if-none-match both match", plain, http.Header{"If-Match": {storeET}, "If-None-Match": {storeET}}, "NotModified"},
		{"encrypted matches plaintext md5", encrypted, http.Header{"If-Match": {`"` + md5 + `"`}}, ""},
		{"encrypted not the stored etag", encrypted, http.Header{"If-Match": {storeET}}, "PreconditionFailed"},
		{"encrypted if-none-match md5", encrypted, http.Header{"If-None-Match": {md5}}, "NotModified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/b/k", nil)
			for k, vs := range tt.header {
				r.Header[k] = vs
			}
			rec := httptest.NewRecorder()
			req := &request{Request: s3.Request{Op: s3.OpGetObject, Bucket: "b", Key: "k"}, r: r, w: &responseWriter{ResponseWriter: rec}}
			err := checkPreconditions(req, tt.o)
			if got := errCode(err); got != tt.want {
				t.Fatalf("checkPreconditions(%v) = %v, want %q", tt.header, err, tt.want)
			}
			if tt.want != "NotModified" {
				return
			}
			// A 304 carries the validators the client compares.
			if got, want := rec.Header().Get("ETag"), tt.o.etag(); got != want {
				t.Errorf("checkPreconditions(%v) 304 ETag = %q, want %q", tt.header, got, want)
			}
			if got := rec.Header().Get("Last-Modified"); got != same {
				t.Errorf("checkPreconditions(%v) 304 Last-Modified = %q, want %q", tt.header, got, same)
			}
		})
	}
}

// testRecord is an upload's record as CreateMultipartUpload makes it with
// the local keyring: its default key and an 81-byte wrapped key.
func testRecord(keyID string) sse.Record {
	wrapped := make([]byte, 81)
	for i := range wrapped {
		wrapped[i] = byte(i * 7)
	}
	return sse.Record{Algorithm: sse.AlgorithmAES256, KeyID: keyID, WrappedKey: wrapped, Multipart: true}
}

var uploadCmp = cmp.AllowUnexported(upload{})

func TestUploadIDRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		rec       sse.Record
		backendID string
	}{
		{"minio id", testRecord("default"), "ZjFmNzQ1YjgtYjM1Ni00YWU3LTk3ZTctOTIzNGQzMWNhYmI0"},
		{"aws id with dots", testRecord("default"), "VXBsb2FkIElE.ZS.5tMnRz-_x"},
		{"one-byte key id", testRecord("k"), "u"},
		{"key id of 128 bytes", testRecord(strings.Repeat("k", 128)), "u"},
		{"key id of 255 bytes", testRecord(strings.Repeat("k", 255)), "u"},
		{"arn key id", testRecord("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"), "u"},
		{"one-byte wrapped key", sse.Record{Algorithm: sse.AlgorithmAES256, KeyID: "default", WrappedKey: []byte{0}, Multipart: true}, "u"},
		{"aws:kms", sse.Record{Algorithm: sse.AlgorithmKMS, KeyID: "alias/app", WrappedKey: testRecord("k").WrappedKey, Multipart: true}, "u"},
		{"aws:kms with context", sse.Record{Algorithm: sse.AlgorithmKMS, KeyID: "alias/app", WrappedKey: testRecord("k").WrappedKey,
			Context: base64.StdEncoding.EncodeToString([]byte(`{"department":"finance","project":"x"}`)), Multipart: true}, "u"},
		{"aws:kms with a 2 KiB context", sse.Record{Algorithm: sse.AlgorithmKMS, KeyID: "k", WrappedKey: []byte{1},
			Context: base64.StdEncoding.EncodeToString([]byte(`{"a":"` + strings.Repeat("x", 1526) + `"}`)), Multipart: true}, "u"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := encodeUploadID(tt.rec, tt.backendID)
			if !strings.HasPrefix(id, uploadIDPrefix) {
				t.Errorf("encodeUploadID = %q, want the %q prefix", id, uploadIDPrefix)
			}
			if strings.ContainsAny(id, "+/=&?# \n") {
				t.Errorf("encodeUploadID = %q, want it safe in a query without escaping", id)
			}
			got, err := parseUploadID(id)
			if err != nil {
				t.Fatalf("parseUploadID(%q) = %v", id, err)
			}
			want := upload{backendID: tt.backendID, encrypted: true, record: tt.rec}
			if diff := cmp.Diff(want, got, uploadCmp); diff != "" {
				t.Errorf("parseUploadID(encodeUploadID(...)) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUploadIDLongKeyID: sse.Record allows key IDs of up to 512 bytes (an
// AWS KMS alias ARN can pass 255), but the upload ID stores the key ID's
// length in one byte. encodeUploadID must not hand out an ID that parses to
// another key ID: every UploadPart of that upload would then fail.
func TestUploadIDLongKeyID(t *testing.T) {
	for _, n := range []int{256, 300, 512} {
		rec := testRecord(strings.Repeat("k", n))
		if err := rec.Validate(); err != nil {
			t.Fatalf("Validate(key id of %d bytes) = %v", n, err)
		}
		id := encodeUploadID(rec, "u")
		got, err := parseUploadID(id)
		want := upload{backendID: "u", encrypted: true, record: rec}
		if err != nil || !cmp.Equal(want, got, uploadCmp) {
			t.Errorf("parseUploadID(encodeUploadID(key id of %d bytes)) = key id of %d bytes, %v; want the record back",
				n, len(got.record.KeyID), err)
		}
	}
}

// rawUploadID builds an upload ID from its fields as multipart.go lays
// them out, so that malformed ones can be made field by field.
func rawUploadID(alg byte, keyIDLen int, keyID string, ctxLen int, ctx string, wrapped []byte, backendID string) string {
	b := []byte{alg, byte(keyIDLen >> 8), byte(keyIDLen)}
	b = append(b, keyID...)
	b = append(b, byte(ctxLen>>8), byte(ctxLen))
	b = append(b, ctx...)
	b = append(b, wrapped...)
	return uploadIDPrefix + base64.RawURLEncoding.EncodeToString(b) + "." + backendID
}

func TestParseUploadID(t *testing.T) {
	valid := encodeUploadID(testRecord("default"), "backend-id")
	ctx := base64.StdEncoding.EncodeToString([]byte(`{"a":"b"}`))
	w := []byte{1, 2, 3}
	tests := []struct {
		name string
		id   string
		want upload
		err  error
	}{
		{"plain backend id", "ZjFmNzQ1YjgtYjM1Ni00YWU3", upload{backendID: "ZjFmNzQ1YjgtYjM1Ni00YWU3"}, nil},
		{"plain id with dots", "a.b.c", upload{backendID: "a.b.c"}, nil},
		{"prefix in another case is plain", "SSE1." + valid[len(uploadIDPrefix):], upload{backendID: "SSE1." + valid[len(uploadIDPrefix):]}, nil},
		{"AES256", rawUploadID(1, 1, "k", 0, "", w, "u"), upload{backendID: "u", encrypted: true,
			record: sse.Record{Algorithm: sse.AlgorithmAES256, KeyID: "k", WrappedKey: w, Multipart: true}}, nil},
		{"aws:kms with context", rawUploadID(2, 1, "k", len(ctx), ctx, w, "u"), upload{backendID: "u", encrypted: true,
			record: sse.Record{Algorithm: sse.AlgorithmKMS, KeyID: "k", WrappedKey: w, Context: ctx, Multipart: true}}, nil},
		{"empty", "", upload{}, s3.ErrNoSuchUpload},
		{"prefix only", "sse1.", upload{}, s3.ErrNoSuchUpload},
		{"no backend id", strings.TrimSuffix(valid, "backend-id"), upload{}, s3.ErrNoSuchUpload},
		{"no separator", strings.TrimSuffix(valid, ".backend-id"), upload{}, s3.ErrNoSuchUpload},
		{"bad base64", "sse1.!!!!.u", upload{}, s3.ErrNoSuchUpload},
		{"padded base64", "sse1." + base64.URLEncoding.EncodeToString([]byte{1, 1, 'k', 0, 0, 1, 2}) + ".u", upload{}, s3.ErrNoSuchUpload},
		{"one byte", "sse1." + base64.RawURLEncoding.EncodeToString([]byte{1}) + ".u", upload{}, s3.ErrNoSuchUpload},
		{"unknown algorithm 0", rawUploadID(0, 1, "k", 0, "", w, "u"), upload{}, s3.ErrNoSuchUpload},
		{"unknown algorithm 3", rawUploadID(3, 1, "k", 0, "", w, "u"), upload{}, s3.ErrNoSuchUpload},
		{"empty key id", rawUploadID(1, 0, "", 0, "", w, "u"), upload{}, s3.ErrNoSuchUpload},
		{"key id past the end", rawUploadID(1, 9, "kk", 0, "", nil, "u"), upload{}, s3.ErrNoSuchUpload},
		{"no context length", "sse1." + base64.RawURLEncoding.EncodeToString([]byte{1, 1, 'k', 0}) + ".u", upload{}, s3.ErrNoSuchUpload},
		{"context past the end", rawUploadID(2, 1, "k", 500, ctx, w, "u"), upload{}, s3.ErrNoSuchUpload},
		{"no wrapped key", rawUploadID(1, 1, "k", 0, "", nil, "u"), upload{}, s3.ErrNoSuchUpload},
		{"key id with a space", rawUploadID(1, 3, "a b", 0, "", w, "u"), upload{}, s3.ErrNoSuchUpload},
		{"key id not ascii", rawUploadID(1, 2, "é", 0, "", w, "u"), upload{}, s3.ErrNoSuchUpload},
		{"context on AES256", rawUploadID(1, 1, "k", len(ctx), ctx, w, "u"), upload{}, s3.ErrNoSuchUpload},
		{"context not JSON", rawUploadID(2, 1, "k", 4, "YWJj", w, "u"), upload{}, s3.ErrNoSuchUpload},
		{"too long", "sse1." + strings.Repeat("A", 8192) + ".u", upload{}, s3.ErrNoSuchUpload},
		{"wrapped key too long", rawUploadID(1, 1, "k", 0, "", make([]byte, 1025), "u"), upload{}, s3.ErrNoSuchUpload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseUploadID(tt.id)
			if !errors.Is(err, tt.err) {
				t.Fatalf("parseUploadID(%q) error = %v, want %v", tt.id, err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got, uploadCmp); err == nil && diff != "" {
				t.Errorf("parseUploadID(%q) mismatch (-want +got):\n%s", tt.id, diff)
			}
		})
	}
}

func FuzzParseUploadID(f *testing.F) {
	f.Add(encodeUploadID(testRecord("default"), "backend-id"))
	f.Add(encodeUploadID(testRecord(strings.Repeat("k", 255)), "a.b"))
	f.Add("sse1.AQ.u")
	f.Add("sse1..")
	f.Add("plain-id")
	f.Fuzz(func(t *testing.T, id string) {
		u, err := parseUploadID(id)
		if err != nil {
			if !errors.Is(err, s3.ErrNoSuchUpload) {
				t.Fatalf("parseUploadID(%q) = %v, want NoSuchUpload", id, err)
			}
			return
		}
		if u.backendID == "" {
			t.Fatalf("parseUploadID(%q) = empty backend id", id)
		}
		if !u.encrypted {
			if u.backendID != id {
				t.Fatalf("parseUploadID(%q) = backend id %q, want the id itself", id, u.backendID)
			}
			return
		}
		if err := u.record.Validate(); err != nil {
			t.Fatalf("parseUploadID(%q) record does not validate: %v", id, err)
		}
		// What is accepted round-trips: its canonical encoding parses to the
		// same upload. (The text itself may differ: the base64 decoder
		// accepts line breaks and non-zero trailing bits.)
		again := encodeUploadID(u.record, u.backendID)
		u2, err := parseUploadID(again)
		if err != nil || !cmp.Equal(u, u2, uploadCmp) {
			t.Fatalf("parseUploadID(%q) = %+v, but its encoding %q parses to %+v, %v", id, u, again, u2, err)
		}
	})
}

func TestCheckSSEHeaders(t *testing.T) {
	ctx := base64.StdEncoding.EncodeToString([]byte(`{"department":"finance"}`))
	tests := []struct {
		name   string
		op     s3.Op
		header http.Header
		want   string // S3 error code, "" for none
	}{
		{"no header on put", s3.OpPutObject, nil, ""},
		{"no header on get", s3.OpGetObject, nil, ""},
		{"AES256 on put", s3.OpPutObject, http.Header{hdrSSE: {"AES256"}}, ""},
		{"AES256 on create multipart upload", s3.OpCreateMultipartUpload, http.Header{hdrSSE: {"AES256"}}, ""},
		{"AES256 on copy", s3.OpCopyObject, http.Header{hdrSSE: {"AES256"}}, ""},
		{"AES256 on get", s3.OpGetObject, http.Header{hdrSSE: {"AES256"}}, "InvalidArgument"},
		{"AES256 on head", s3.OpHeadObject, http.Header{hdrSSE: {"AES256"}}, "InvalidArgument"},
		{"AES256 on upload part", s3.OpUploadPart, http.Header{hdrSSE: {"AES256"}}, "InvalidArgument"},
		{"AES256 on upload part copy", s3.OpUploadPartCopy, http.Header{hdrSSE: {"AES256"}}, "InvalidArgument"},
		{"AES256 on complete is compared with the upload later", s3.OpCompleteMultipart, http.Header{hdrSSE: {"AES256"}}, ""},
		{"AES128", s3.OpPutObject, http.Header{hdrSSE: {"AES128"}}, "InvalidEncryptionAlgorithmError"},
		{"lower case aes256", s3.OpPutObject, http.Header{hdrSSE: {"aes256"}}, "InvalidEncryptionAlgorithmError"},
		{"empty value", s3.OpPutObject, http.Header{hdrSSE: {""}}, "InvalidEncryptionAlgorithmError"},
		{"aws:kms", s3.OpPutObject, http.Header{hdrSSE: {"aws:kms"}}, ""},
		{"aws:kms with key id", s3.OpPutObject, http.Header{hdrSSE: {"aws:kms"}, hdrSSEKeyID: {"arn:aws:kms:us-east-1:111122223333:key/k1"}}, ""},
		{"aws:kms with context", s3.OpCreateMultipartUpload, http.Header{hdrSSE: {"aws:kms"}, hdrSSEContext: {ctx}}, ""},
		{"aws:kms with key id with a space", s3.OpPutObject, http.Header{hdrSSE: {"aws:kms"}, hdrSSEKeyID: {"my key"}}, "InvalidArgument"},
		{"aws:kms with empty key id", s3.OpPutObject, http.Header{hdrSSE: {"aws:kms"}, hdrSSEKeyID: {""}}, "InvalidArgument"},
		{"aws:kms with context not base64", s3.OpPutObject, http.Header{hdrSSE: {"aws:kms"}, hdrSSEContext: {"{}"}}, "InvalidArgument"},
		{"aws:kms with context not an object", s3.OpPutObject, http.Header{hdrSSE: {"aws:kms"}, hdrSSEContext: {base64.StdEncoding.EncodeToString([]byte(`["a"]`))}}, "InvalidArgument"},
		{"aws:kms on get", s3.OpGetObject, http.Header{hdrSSE: {"aws:kms"}}, "InvalidArgument"},
		{"aws:kms:dsse", s3.OpPutObject, http.Header{hdrSSE: {"aws:kms:dsse"}}, "NotImplemented"},
		{"AES256 with key id", s3.OpPutObject, http.Header{hdrSSE: {"AES256"}, hdrSSEKeyID: {"k1"}}, "InvalidArgument"},
		{"AES256 with context", s3.OpPutObject, http.Header{hdrSSE: {"AES256"}, hdrSSEContext: {ctx}}, "InvalidArgument"},
		{"key id alone", s3.OpPutObject, http.Header{hdrSSEKeyID: {"k1"}}, "InvalidArgument"},
		{"context alone", s3.OpPutObject, http.Header{hdrSSEContext: {ctx}}, "InvalidArgument"},
		{"SSE-C on put", s3.OpPutObject, http.Header{"X-Amz-Server-Side-Encryption-Customer-Algorithm": {"AES256"}}, "NotImplemented"},
		{"SSE-C key on get", s3.OpGetObject, http.Header{"X-Amz-Server-Side-Encryption-Customer-Key": {"a2V5"}}, "NotImplemented"},
		{"SSE-C with AES256", s3.OpPutObject, http.Header{hdrSSE: {"AES256"}, "X-Amz-Server-Side-Encryption-Customer-Key-Md5": {"bWQ1"}}, "NotImplemented"},
		{"copy source SSE-C", s3.OpCopyObject, http.Header{"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm": {"AES256"}}, "NotImplemented"},
		{"bucket key header is not SSE", s3.OpPutObject, http.Header{"X-Amz-Server-Side-Encryption-Bucket-Key-Enabled": {"true"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPut, "/b/k", nil)
			for k, vs := range tt.header {
				for _, v := range vs {
					r.Header.Add(k, v) // canonicalises, as the server does
				}
			}
			req := &request{Request: s3.Request{Op: tt.op, Bucket: "b", Key: "k"}, r: r}
			err := checkSSEHeaders(req)
			if got := errCode(err); got != tt.want {
				t.Errorf("checkSSEHeaders(%s, %v) = %v, want %q", tt.op, tt.header, err, tt.want)
			}
		})
	}
}

func TestUserMetadata(t *testing.T) {
	tests := []struct {
		name    string
		header  http.Header
		want    map[string]string
		wantErr string
	}{
		{"none", http.Header{"Content-Type": {"text/plain"}}, map[string]string{}, ""},
		{"one", http.Header{"X-Amz-Meta-Color": {"red"}}, map[string]string{"color": "red"}, ""},
		{"names lowercased", http.Header{"X-Amz-Meta-Mixed-Case": {"V"}}, map[string]string{"mixed-case": "V"}, ""},
		{"values joined", http.Header{"X-Amz-Meta-List": {"a", "b"}}, map[string]string{"list": "a,b"}, ""},
		{"other headers ignored", http.Header{"X-Amz-Meta-A": {"1"}, "X-Amz-Date": {"x"}, "Cache-Control": {"no-cache"}}, map[string]string{"a": "1"}, ""},
		{"name like ours but not ours", http.Header{"X-Amz-Meta-Sseproxy": {"v"}, "X-Amz-Meta-My-Sseproxy-Alg": {"v"}}, map[string]string{"sseproxy": "v", "my-sseproxy-alg": "v"}, ""},
		{"reserved", http.Header{"X-Amz-Meta-Sseproxy-Alg": {"AES256"}}, nil, "InvalidArgument"},
		{"reserved upper case", http.Header{"X-AMZ-META-SSEPROXY-KEY-ID": {"k"}}, nil, "InvalidArgument"},
		{"reserved unknown name", http.Header{"X-Amz-Meta-Sseproxy-Anything": {"v"}}, nil, "InvalidArgument"},
		{"reserved by case folding", http.Header{"X-Amz-Meta-ſseproxy-Alg": {"AES256"}}, nil, "InvalidArgument"},
		{"reserved with oss prefix inside", http.Header{"X-Amz-Meta-X-Oss-Meta-Sseproxy-Alg": {"v"}}, nil, "InvalidArgument"},
		{"2 KiB exactly", http.Header{"X-Amz-Meta-A": {strings.Repeat("v", 2047)}}, map[string]string{"a": strings.Repeat("v", 2047)}, ""},
		{"2 KiB plus one", http.Header{"X-Amz-Meta-A": {strings.Repeat("v", 2048)}}, nil, "MetadataTooLarge"},
		{"2 KiB plus one over two names", http.Header{"X-Amz-Meta-A": {strings.Repeat("v", 1000)}, "X-Amz-Meta-B": {strings.Repeat("v", 1047)}}, nil, "MetadataTooLarge"},
		{"long name counts", http.Header{"X-Amz-Meta-" + strings.Repeat("n", 2000): {strings.Repeat("v", 49)}}, nil, "MetadataTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := userMetadata(tt.header)
			if code := errCode(err); code != tt.wantErr {
				t.Fatalf("userMetadata(%.80v) error = %v, want %q", tt.header, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
				t.Errorf("userMetadata(%.80v) mismatch (-want +got):\n%s", tt.header, diff)
			}
		})
	}
}

func TestStandardHeaders(t *testing.T) {
	tests := []struct {
		name string
		in   http.Header
		want http.Header
	}{
		{"none", http.Header{}, http.Header{}},
		{"all standard headers copied", http.Header{
			"Content-Type": {"text/plain"}, "Content-Encoding": {"gzip"}, "Content-Disposition": {"attachment"},
			"Content-Language": {"en"}, "Cache-Control": {"no-cache"}, "Expires": {"Wed, 01 May 2024 12:00:00 GMT"},
		}, http.Header{
			"Content-Type": {"text/plain"}, "Content-Encoding": {"gzip"}, "Content-Disposition": {"attachment"},
			"Content-Language": {"en"}, "Cache-Control": {"no-cache"}, "Expires": {"Wed, 01 May 2024 12:00:00 GMT"},
		}},
		{"others dropped", http.Header{"X-Amz-Meta-A": {"1"}, "Content-Md5": {"x"}, "Content-Length": {"5"}, "X-Amz-Date": {"d"}}, http.Header{}},
		{"aws-chunked alone removed", http.Header{"Content-Encoding": {"aws-chunked"}}, http.Header{}},
		{"aws-chunked first", http.Header{"Content-Encoding": {"aws-chunked,gzip"}}, http.Header{"Content-Encoding": {"gzip"}}},
		{"aws-chunked last, any case", http.Header{"Content-Encoding": {"gzip, AWS-Chunked"}}, http.Header{"Content-Encoding": {"gzip"}}},
		{"aws-chunked between", http.Header{"Content-Encoding": {"br , aws-chunked , gzip"}}, http.Header{"Content-Encoding": {"br,gzip"}}},
		{"empty elements dropped", http.Header{"Content-Encoding": {"aws-chunked,,"}}, http.Header{}},
		{"no aws-chunked", http.Header{"Content-Encoding": {"gzip,br"}}, http.Header{"Content-Encoding": {"gzip,br"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, standardHeaders(tt.in)); diff != "" {
				t.Errorf("standardHeaders(%v) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want string
	}{
		{"bucket only", "", ""},
		{"simple", "a/b.txt", ""},
		{"unicode", "日本/ü.txt", ""},
		{"1024 bytes", strings.Repeat("k", 1024), ""},
		{"1025 bytes", strings.Repeat("k", 1025), "KeyTooLongError"},
		{"1024 bytes of multibyte runes", strings.Repeat("é", 512), ""},
		{"invalid UTF-8", "a\xffb", "InvalidArgument"},
	}
	for _, tt := range tests {
		if got := errCode(checkNames(s3.Request{Bucket: "b", Key: tt.key})); got != tt.want {
			t.Errorf("checkNames(%s: key of %d bytes) = %q, want %q", tt.name, len(tt.key), got, tt.want)
		}
	}
}

func TestToS3Error(t *testing.T) {
	wrapped := func(err error) error { return fmt.Errorf("context: %w", err) }
	tests := []struct {
		name string
		err  error
		want *s3.Error
	}{
		{"s3 error itself", s3.ErrNoSuchKey, s3.ErrNoSuchKey},
		{"wrapped s3 error", wrapped(s3.ErrMalformedXML), s3.ErrMalformedXML},
		{"s3 error with message", s3.ErrInvalidArgument.WithMessage("m"), &s3.Error{Code: "InvalidArgument", Message: "m", Status: 400}},
		{"signature", auth.ErrSignatureDoesNotMatch, s3.ErrSignatureDoesNotMatch},
		{"wrapped signature", wrapped(auth.ErrSignatureDoesNotMatch), s3.ErrSignatureDoesNotMatch},
		{"anonymous", auth.ErrAnonymous, s3.ErrAccessDenied},
		{"expired presign", auth.ErrExpired, s3.ErrRequestExpired},
		{"kms key not found", keys.ErrNotFound, s3.ErrKMSNotFound},
		{"kms disabled", wrapped(keys.ErrDisabled), s3.ErrKMSDisabled},
		{"kms unavailable", keys.ErrUnavailable, s3.ErrKMSUnavailable},
		{"kms decrypt", keys.ErrDecrypt, s3.ErrDecryptionFailed},
		{"tampered object", sse.ErrAuthentication, s3.ErrDecryptionFailed},
		{"bad stored size", sse.ErrInvalidSize, s3.ErrDecryptionFailed},
		{"bad record", wrapped(sse.ErrInvalidRecord), s3.ErrDecryptionFailed},
		{"store timeout", backend.ErrTimeout, s3.ErrGatewayTimeout},
		{"store unreachable", backend.ErrUnreachable, s3.ErrBadGateway},
		{"deadline", context.DeadlineExceeded, s3.ErrGatewayTimeout},
		{"store no such key", &backend.Error{Status: 404, Code: "NoSuchKey", Message: "gone"}, &s3.Error{Code: "NoSuchKey", Message: "gone", Status: 404}},
		{"store bucket not empty", wrapped(&backend.Error{Status: 409, Code: "BucketNotEmpty", Message: "m"}), &s3.Error{Code: "BucketNotEmpty", Message: "m", Status: 409}},
		{"store slow down", &backend.Error{Status: 503, Code: "SlowDown", Message: "m"}, &s3.Error{Code: "SlowDown", Message: "m", Status: 503}},
		{"unknown", errors.New("boom"), s3.ErrInternal},
		{"canceled", context.Canceled, s3.ErrInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, toS3Error(tt.err)); diff != "" {
				t.Errorf("toS3Error(%v) mismatch (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}

// TestErrorTableOrder checks that every row of errorTable is reachable: no
// earlier row catches its sentinel, bare or wrapped.
func TestErrorTableOrder(t *testing.T) {
	for _, row := range errorTable {
		for _, err := range []error{row.err, fmt.Errorf("x: %w", row.err)} {
			if got := toS3Error(err); got != row.s3 {
				t.Errorf("toS3Error(%v) = %+v, want %+v", err, got, row.s3)
			}
		}
	}
}

// TestEncodeUploadIDBytes pins the upload ID layout documented in
// multipart.go, so that IDs handed out by one release parse in the next.
func TestEncodeUploadIDBytes(t *testing.T) {
	tests := []struct {
		rec sse.Record
		raw []byte
	}{
		{sse.Record{Algorithm: sse.AlgorithmAES256, KeyID: "ab", WrappedKey: []byte{0xff, 0x00}, Multipart: true},
			[]byte{1, 0, 2, 'a', 'b', 0, 0, 0xff, 0x00}},
		{sse.Record{Algorithm: sse.AlgorithmKMS, KeyID: "k", Context: "e30=", WrappedKey: []byte{7}, Multipart: true},
			[]byte{2, 0, 1, 'k', 0, 4, 'e', '3', '0', '=', 7}},
	}
	for _, tt := range tests {
		want := "sse1." + base64.RawURLEncoding.EncodeToString(tt.raw) + ".id"
		if got := encodeUploadID(tt.rec, "id"); got != want {
			t.Errorf("encodeUploadID(%+v, id) = %q, want %q", tt.rec, got, want)
		}
	}
}

func TestSameEncryption(t *testing.T) {
	kms := upload{encrypted: true, record: sse.Record{Algorithm: sse.AlgorithmKMS, KeyID: "k1"}}
	tests := []struct {
		name   string
		u      upload
		header http.Header
		ok     bool
	}{
		{"no header", kms, nil, true},
		{"same algorithm", kms, http.Header{hdrSSE: {"aws:kms"}}, true},
		{"same algorithm and key", kms, http.Header{hdrSSE: {"aws:kms"}, hdrSSEKeyID: {"k1"}}, true},
		{"other key", kms, http.Header{hdrSSE: {"aws:kms"}, hdrSSEKeyID: {"k2"}}, false},
		{"other algorithm", kms, http.Header{hdrSSE: {"AES256"}}, false},
		{"plaintext upload", upload{}, http.Header{hdrSSE: {"AES256"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &request{r: httptest.NewRequest(http.MethodPost, "/b/k?uploadId=x", nil)}
			req.r.Header = tt.header
			if req.r.Header == nil {
				req.r.Header = http.Header{}
			}
			if err := sameEncryption(req, tt.u); (err == nil) != tt.ok {
				t.Errorf("sameEncryption(%v) = %v, want ok %v", tt.header, err, tt.ok)
			}
		})
	}
}

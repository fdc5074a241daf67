package s3

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		name         string
		method       string
		target       string
		err          *Error
		bucket, key  string
		staleLength  string // a Content-Length set before the error, e.g. an object's size
		wantBody     bool
		wantDocument errorDocument
	}{
		{
			name: "no such key", method: "GET", target: "/bucket/dir/key", err: ErrNoSuchKey,
			bucket: "bucket", key: "dir/key", wantBody: true,
			wantDocument: errorDocument{Code: "NoSuchKey", Message: ErrNoSuchKey.Message, BucketName: "bucket", Key: "dir/key", Resource: "/bucket/dir/key"},
		},
		{
			name: "no such bucket", method: "GET", target: "/bucket", err: ErrNoSuchBucket,
			bucket: "bucket", wantBody: true,
			wantDocument: errorDocument{Code: "NoSuchBucket", Message: ErrNoSuchBucket.Message, BucketName: "bucket", Resource: "/bucket"},
		},
		{
			name: "service level", method: "GET", target: "/", err: ErrAccessDenied, wantBody: true,
			wantDocument: errorDocument{Code: "AccessDenied", Message: ErrAccessDenied.Message, Resource: "/"},
		},
		{
			name: "custom message escaped", method: "PUT", target: "/b/k", err: ErrInvalidArgument.WithMessage(`a <b> & "c"`),
			bucket: "b", key: "k", wantBody: true,
			wantDocument: errorDocument{Code: "InvalidArgument", Message: `a <b> & "c"`, BucketName: "b", Key: "k", Resource: "/b/k"},
		},
		{
			name: "key with markup", method: "GET", target: "/b/%3C%26%3E", err: ErrNoSuchKey,
			bucket: "b", key: "<&>", wantBody: true,
			wantDocument: errorDocument{Code: "NoSuchKey", Message: ErrNoSuchKey.Message, BucketName: "b", Key: "<&>", Resource: "/b/<&>"},
		},
		{
			name: "stale content length replaced", method: "GET", target: "/b/k", err: ErrInvalidRange,
			bucket: "b", key: "k", staleLength: "12345", wantBody: true,
			wantDocument: errorDocument{Code: "InvalidRange", Message: ErrInvalidRange.Message, BucketName: "b", Key: "k", Resource: "/b/k"},
		},
		{
			name: "server error", method: "POST", target: "/b?delete", err: ErrInternal, bucket: "b", wantBody: true,
			wantDocument: errorDocument{Code: "InternalError", Message: ErrInternal.Message, BucketName: "b", Resource: "/b"},
		},
		{name: "HEAD", method: "HEAD", target: "/b/k", err: ErrNoSuchKey, bucket: "b", key: "k", staleLength: "10"},
		{name: "HEAD forbidden", method: "HEAD", target: "/b", err: ErrAccessDenied, bucket: "b"},
		{name: "not modified", method: "GET", target: "/b/k", err: ErrNotModified, bucket: "b", key: "k", staleLength: "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const requestID = "0123456789abcdef"
			r := httptest.NewRequest(tt.method, tt.target, nil)
			w := httptest.NewRecorder()
			if tt.staleLength != "" {
				w.Header().Set("Content-Length", tt.staleLength)
			}
			WriteError(w, r, tt.err, tt.bucket, tt.key, requestID)
			call := "WriteError(" + tt.method + " " + tt.target + ", " + tt.err.Code + ")"

			if w.Code != tt.err.Status {
				t.Errorf("%s status = %d, want %d", call, w.Code, tt.err.Status)
			}
			if got := w.Header().Get("x-amz-request-id"); got != requestID {
				t.Errorf("%s x-amz-request-id = %q, want %q", call, got, requestID)
			}
			if !tt.wantBody {
				if w.Body.Len() != 0 {
					t.Errorf("%s body = %q, want none", call, w.Body)
				}
				if got := w.Header().Get("Content-Length"); got != "" {
					t.Errorf("%s Content-Length = %q, want none", call, got)
				}
				return
			}
			if got := w.Header().Get("Content-Type"); got != "application/xml" {
				t.Errorf("%s Content-Type = %q, want application/xml", call, got)
			}
			if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
				t.Errorf("%s Content-Length = %q, want %q (the body's length)", call, got, want)
			}
			if !bytes.HasPrefix(w.Body.Bytes(), []byte(xml.Header)) {
				t.Errorf("%s body = %q, want it to start with the XML declaration", call, w.Body)
			}
			var got errorDocument
			if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("%s body %q does not decode: %v", call, w.Body, err)
			}
			want := tt.wantDocument
			want.XMLName = xml.Name{Local: "Error"}
			want.RequestID = requestID
			want.HostID = "sseproxy"
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s document mismatch (-want +got):\n%s", call, diff)
			}
		})
	}
}

// TestWriteErrorTransport reads WriteError's answers with a real client, as
// SDKs do: the error document of a GET, and a bodiless HEAD and 304 whose
// stale Content-Length must not make the client wait for a body.
func TestWriteErrorTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000") // as a handler that failed late would have
		e := ErrNoSuchKey
		if r.Header.Get("If-None-Match") != "" {
			e = ErrNotModified
		}
		WriteError(w, r, e, "b", "k", "req-1")
	}))
	defer srv.Close()

	tests := []struct {
		name       string
		method     string
		header     http.Header
		wantStatus int
		wantCode   string // "" for no body
	}{
		{"GET", "GET", nil, http.StatusNotFound, "NoSuchKey"},
		{"HEAD", "HEAD", nil, http.StatusNotFound, ""},
		{"not modified", "GET", http.Header{"If-None-Match": {`"x"`}}, http.StatusNotModified, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+"/b/k", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tt.header
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("%s /b/k: %v", tt.method, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("%s /b/k: reading body: %v", tt.method, err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s /b/k status = %d, want %d", tt.method, resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("x-amz-request-id"); got != "req-1" {
				t.Errorf("%s /b/k x-amz-request-id = %q, want %q", tt.method, got, "req-1")
			}
			if tt.wantCode == "" {
				if len(body) != 0 {
					t.Errorf("%s /b/k body = %q, want none", tt.method, body)
				}
				return
			}
			var doc errorDocument
			if err := xml.Unmarshal(body, &doc); err != nil {
				t.Fatalf("%s /b/k body %q: %v", tt.method, body, err)
			}
			if doc.Code != tt.wantCode || doc.RequestID != "req-1" {
				t.Errorf("%s /b/k document = %+v, want Code %q and RequestId %q", tt.method, doc, tt.wantCode, "req-1")
			}
		})
	}
}

func TestWriteXML(t *testing.T) {
	w := httptest.NewRecorder()
	in := LocationConstraint{Xmlns: Namespace, Location: "eu-west-1"}
	if err := WriteXML(w, in); err != nil {
		t.Fatalf("WriteXML(%+v) = %v, want nil", in, err)
	}
	if w.Code != http.StatusOK {
		t.Errorf("WriteXML status = %d, want 200", w.Code)
	}
	if got := w.Header().Get("Content-Type"); got != "application/xml" {
		t.Errorf("WriteXML Content-Type = %q, want application/xml", got)
	}
	if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
		t.Errorf("WriteXML Content-Length = %q, want %q", got, want)
	}
	want := xml.Header + `<LocationConstraint xmlns="` + Namespace + `">eu-west-1</LocationConstraint>`
	if got := w.Body.String(); got != want {
		t.Errorf("WriteXML body = %q, want %q", got, want)
	}
}

func TestWriteXMLUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	if err := WriteXML(w, map[string]string{"a": "b"}); err == nil {
		t.Fatal("WriteXML(map) = nil, want an error")
	}
	if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
		t.Errorf("WriteXML(map) wrote headers %v and body %q, want nothing, so the caller can answer with an error", w.Header(), w.Body)
	}
}

func TestErrorWithMessage(t *testing.T) {
	orig := *ErrInvalidArgument
	got := ErrInvalidArgument.WithMessage("specific")
	want := &Error{Code: "InvalidArgument", Message: "specific", Status: http.StatusBadRequest}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithMessage mismatch (-want +got):\n%s", diff)
	}
	if *ErrInvalidArgument != orig {
		t.Errorf("WithMessage changed the sentinel: %+v, want %+v", *ErrInvalidArgument, orig)
	}
	if got, want := got.Error(), "s3: InvalidArgument: specific"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestErrorTable checks what clients depend on in every sentinel: a code
// that is one word and a status that is not a success.
func TestErrorTable(t *testing.T) {
	for _, e := range []*Error{
		ErrAccessDenied, ErrRequestExpired, ErrInvalidAccessKeyID, ErrSignatureDoesNotMatch,
		ErrRequestTimeTooSkewed, ErrAuthorizationHeaderMalformed, ErrAuthorizationQueryParametersErr,
		ErrContentSHA256Mismatch, ErrBadDigest, ErrInvalidDigest, ErrIncompleteBody, ErrInvalidRequest,
		ErrInvalidArgument, ErrInvalidEncryptionAlgorithm, ErrMissingContentLength, ErrEntityTooLarge,
		ErrInvalidRange, ErrPreconditionFailed, ErrNotModified, ErrNoSuchKey, ErrNoSuchUpload,
		ErrInvalidPart, ErrInvalidPartOrder, ErrNoSuchBucket, ErrInvalidBucketName, ErrKeyTooLong,
		ErrMalformedXML, ErrMetadataTooLarge, ErrMethodNotAllowed, ErrNotImplemented, ErrInternal,
		ErrBadGateway, ErrGatewayTimeout, ErrServiceUnavailable, ErrKMSUnavailable, ErrKMSNotFound,
		ErrKMSDisabled, ErrDecryptionFailed, ErrUnsupportedSignature, ErrInvalidChunkSize, ErrMalformedTrailer,
	} {
		if e.Code == "" || strings.ContainsAny(e.Code, " <>&") {
			t.Errorf("%+v: Code %q, want a non-empty word", e, e.Code)
		}
		if e.Status < 300 || e.Status > 599 {
			t.Errorf("%s: Status %d, want 3xx-5xx", e.Code, e.Status)
		}
		if e.Message == "" {
			t.Errorf("%s: empty Message", e.Code)
		}
	}
}

package backend

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sseproxy/sseproxy/proxy/auth"
)

// The credentials the adapter signs with in these tests.
const (
	testAccessKey = "AKIDBACKENDTEST"
	testSecretKey = "backend-test-secret"
)

type testCreds struct{}

func (testCreds) SecretKey(ak string) (string, bool) { return testSecretKey, ak == testAccessKey }

// newTestClient returns a Client for endpoint with the test credentials and
// the default region.
func newTestClient(t *testing.T, endpoint string) *Client {
	t.Helper()
	c, err := New(Options{Endpoint: endpoint, AccessKey: testAccessKey, SecretKey: testSecretKey})
	if err != nil {
		t.Fatalf("New(%q) = %v", endpoint, err)
	}
	return c
}

// serve starts a store that answers every request with h.
func serve(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return newTestClient(t, srv.URL)
}

// writeS3Error answers as S3 does.
func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header+"<Error><Code>"+code+"</Code><Message>"+msg+
		"</Message><Resource>/b/k</Resource><RequestId>1</RequestId></Error>")
}

func TestNew(t *testing.T) {
	tests := []struct {
		endpoint string
		ok       bool
	}{
		{"http://127.0.0.1:9000", true},
		{"https://s3.example.com", true},
		{"http://localhost:9000/", true},
		{"", false},
		{"127.0.0.1:9000", false},
		{"localhost", false},
		{"s3.example.com:443", false},
		{"ftp://s3.example.com", false},
		{"file:///etc/passwd", false},
		{"http://", false},
		{"http:///bucket", false},
		{"http//127.0.0.1:9000", false},
		{"://127.0.0.1:9000", false},
		{"http://[::1", false},
		{"http://127.0.0.1:9000\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			c, err := New(Options{Endpoint: tt.endpoint})
			if tt.ok {
				if err != nil || c == nil {
					t.Errorf("New(%q) = %v, %v, want a client", tt.endpoint, c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New(%q) = a client, want an error", tt.endpoint)
			}
			if !strings.HasPrefix(err.Error(), "backend: ") {
				t.Errorf("New(%q) error = %q, want the package prefix", tt.endpoint, err)
			}
		})
	}
}

// ops are adapter calls on bucket with fixed other arguments, for the error
// tables.
var ops = map[string]func(ctx context.Context, c *Client, bucket string) error{
	"GetObject": func(ctx context.Context, c *Client, bucket string) error {
		body, _, err := c.GetObject(ctx, bucket, "k", GetOptions{})
		if err == nil {
			body.Close()
		}
		return err
	},
	"HeadObject": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.HeadObject(ctx, bucket, "k")
		return err
	},
	"PutObject": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.PutObject(ctx, bucket, "k", strings.NewReader("hello"), 5, PutOptions{})
		return err
	},
	"DeleteObject": func(ctx context.Context, c *Client, bucket string) error { return c.DeleteObject(ctx, bucket, "k") },
	"DeleteObjects": func(ctx context.Context, c *Client, bucket string) error {
		res := c.DeleteObjects(ctx, bucket, []string{"k"})
		if len(res) != 1 {
			return fmt.Errorf("DeleteObjects returned %d results, want 1", len(res))
		}
		return res[0].Err
	},
	"ListObjects": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.ListObjects(ctx, bucket, ListQuery{})
		return err
	},
	"ListBuckets": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.ListBuckets(ctx)
		return err
	},
	"MakeBucket":   func(ctx context.Context, c *Client, bucket string) error { return c.MakeBucket(ctx, bucket, "") },
	"RemoveBucket": func(ctx context.Context, c *Client, bucket string) error { return c.RemoveBucket(ctx, bucket) },
	"HeadBucket":   func(ctx context.Context, c *Client, bucket string) error { return c.HeadBucket(ctx, bucket) },
	"BucketLocation": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.BucketLocation(ctx, bucket)
		return err
	},
	"CreateUpload": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.CreateUpload(ctx, bucket, "k", PutOptions{})
		return err
	},
	"UploadPart": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.UploadPart(ctx, bucket, "k", "u", 1, strings.NewReader("hello"), 5)
		return err
	},
	"CompleteUpload": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.CompleteUpload(ctx, bucket, "k", "u", []Part{{Number: 1, ETag: `"e"`}})
		return err
	},
	"AbortUpload": func(ctx context.Context, c *Client, bucket string) error { return c.AbortUpload(ctx, bucket, "k", "u") },
	"ListParts": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.ListParts(ctx, bucket, "k", "u", 0, 1000)
		return err
	},
	"ListUploads": func(ctx context.Context, c *Client, bucket string) error {
		_, err := c.ListUploads(ctx, bucket, UploadsQuery{MaxUploads: 1000})
		return err
	},
	"PartInfo": func(ctx context.Context, c *Client, bucket string) error {
		_, _, err := c.PartInfo(ctx, bucket, "k", 1, `"e"`)
		return err
	},
}

// TestErrorAnswers checks that the store's error answers become *Error
// values with its status and code, and are never taken for transport
// failures.
func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name       string
		op         string
		status     int
		code       string // "" for a bodiless answer
		wantStatus int
		wantCode   string
	}{
		{"no such key", "GetObject", 404, "NoSuchKey", 404, "NoSuchKey"},
		{"no such bucket on get", "GetObject", 404, "NoSuchBucket", 404, "NoSuchBucket"},
		{"no such key on head", "HeadObject", 404, "", 404, "NoSuchKey"},
		{"forbidden head", "HeadObject", 403, "", 403, "AccessDenied"},
		{"precondition failed head", "HeadObject", 412, "", 412, "PreconditionFailed"},
		{"access denied on put", "PutObject", 403, "AccessDenied", 403, "AccessDenied"},
		{"no such bucket on delete", "DeleteObject", 404, "NoSuchBucket", 404, "NoSuchBucket"},
		{"no such bucket on list", "ListObjects", 404, "NoSuchBucket", 404, "NoSuchBucket"},
		{"list answer without XML", "ListObjects", 500, "", 500, "Internal Server Error"},
		{"list access denied", "ListObjects", 403, "AccessDenied", 403, "AccessDenied"},
		{"list buckets denied", "ListBuckets", 403, "AccessDenied", 403, "AccessDenied"},
		{"bucket exists", "MakeBucket", 409, "BucketAlreadyOwnedByYou", 409, "BucketAlreadyOwnedByYou"},
		{"bucket not empty", "RemoveBucket", 409, "BucketNotEmpty", 409, "BucketNotEmpty"},
		{"head missing bucket", "HeadBucket", 404, "", 404, "NoSuchBucket"},
		{"head forbidden bucket", "HeadBucket", 403, "", 403, "AccessDenied"},
		{"create upload denied", "CreateUpload", 403, "AccessDenied", 403, "AccessDenied"},
		{"no such upload on part", "UploadPart", 404, "NoSuchUpload", 404, "NoSuchUpload"},
		{"invalid part on complete", "CompleteUpload", 400, "InvalidPart", 400, "InvalidPart"},
		{"no such upload on list parts", "ListParts", 404, "NoSuchUpload", 404, "NoSuchUpload"},
		{"no such bucket on list uploads", "ListUploads", 404, "NoSuchBucket", 404, "NoSuchBucket"},
		{"no such bucket on batch delete", "DeleteObjects", 404, "NoSuchBucket", 404, "NoSuchBucket"},
		{"no such upload on abort", "AbortUpload", 404, "NoSuchUpload", 404, "NoSuchUpload"},
		{"object changed before part info", "PartInfo", 412, "", 412, "PreconditionFailed"},
		{"location of a missing bucket", "BucketLocation", 404, "", 404, "NoSuchBucket"},
		{"slow down", "ListObjects", 503, "SlowDown", 503, "SlowDown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.code == "" || r.Method == http.MethodHead {
					w.WriteHeader(tt.status)
					return
				}
				writeS3Error(w, tt.status, tt.code, "the store's message")
			})
			err := ops[tt.op](t.Context(), c, "bucket")
			checkAnswer(t, tt.op, err, tt.wantStatus, tt.wantCode)
		})
	}
}

// TestErrorAnswerWith200 checks the answers S3 gives with status 200 and an
// <Error> document (CompleteMultipartUpload, DeleteObjects after they have
// begun): they must be errors with an error status, or the proxy would pass
// the failure on to its client as a 200 and not log it.
func TestErrorAnswerWith200(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, xml.Header+"<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>")
	})
	for _, op := range []string{"CompleteUpload", "DeleteObjects"} {
		t.Run(op, func(t *testing.T) {
			err := ops[op](t.Context(), c, "bucket")
			checkAnswer(t, op, err, http.StatusInternalServerError, "InternalError")
		})
	}
}

// TestInvalidBucketName checks bucket names that minio-go refuses before
// sending anything: every call must answer as a store would, 400
// InvalidBucketName, and never ErrUnreachable (the proxy's 502).
func TestInvalidBucketName(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		// What a store answers to the requests minio-go does send.
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		writeS3Error(w, http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	})
	for _, bucket := range []string{"ab", "bad..name"} {
		for name, op := range ops {
			if name == "ListBuckets" {
				continue
			}
			t.Run(bucket+"/"+name, func(t *testing.T) {
				err := op(t.Context(), c, bucket)
				checkAnswer(t, fmt.Sprintf("%s(%q)", name, bucket), err, http.StatusBadRequest, "InvalidBucketName")
			})
		}
	}
}

// TestClientSideError checks minio-go's own argument checks, which have a
// code but no status.
func TestClientSideError(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the store got %s %s, want no request", r.Method, r.URL)
	})
	_, err := c.HeadObject(t.Context(), "a", "k") // too short a bucket name
	checkAnswer(t, "HeadObject(bucket a)", err, http.StatusBadRequest, "InvalidBucketName")
}

func checkAnswer(t *testing.T, call string, err error, wantStatus int, wantCode string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s = %v (%T), want a *backend.Error", call, err, err)
	}
	if e.Status != wantStatus || e.Code != wantCode {
		t.Errorf("%s = status %d code %q, want %d %q", call, e.Status, e.Code, wantStatus, wantCode)
	}
	if got := Code(err); got != wantCode {
		t.Errorf("Code(%s error) = %q, want %q", call, got, wantCode)
	}
	if errors.Is(err, ErrUnreachable) || errors.Is(err, ErrTimeout) {
		t.Errorf("%s = %v, an answer of the store, want it neither ErrUnreachable nor ErrTimeout", call, err)
	}
}

// TestTransportFailures checks that a store that cannot be reached, drops
// the connection or does not answer in time is reported as ErrUnreachable
// or ErrTimeout, for every kind of call.
func TestTransportFailures(t *testing.T) {
	// A port nothing listens on: listen, note the address, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()

	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(hang) }) // runs first: releases the handlers Close waits for

	dropping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		conn.Close()
	}))
	t.Cleanup(dropping.Close)

	modes := []struct {
		name     string
		endpoint string
		ctx      func(t *testing.T) context.Context
		want     error // nil: neither sentinel
	}{
		{"connection refused", refused, func(t *testing.T) context.Context { return t.Context() }, ErrUnreachable},
		{"connection dropped", dropping.URL, func(t *testing.T) context.Context { return t.Context() }, ErrUnreachable},
		{"store hangs", hanging.URL, func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, ErrTimeout},
		{"caller canceled", hanging.URL, func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, nil},
	}
	for _, m := range modes {
		for name, op := range ops {
			t.Run(m.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				c := newTestClient(t, m.endpoint)
				err := op(m.ctx(t), c, "bucket")
				if err == nil {
					t.Fatalf("%s = nil, want an error", name)
				}
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%s = %v (%T), want a *backend.Error", name, err, err)
				}
				if e.Status != 0 || Code(err) != "" {
					t.Errorf("%s = status %d code %q, want neither (the store did not answer)", name, e.Status, Code(err))
				}
				for _, sentinel := range []error{ErrUnreachable, ErrTimeout} {
					if got, want := errors.Is(err, sentinel), sentinel == m.want; got != want {
						t.Errorf("errors.Is(%s error %q, %v) = %v, want %v", name, err, sentinel, got, want)
					}
				}
			})
		}
	}
}

// listDocument is a MinIO answer to ListObjectsV2 with metadata=true and
// encoding-type=url.
const listDocument = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>dir%2F</Prefix>` +
	`<NextContinuationToken>1/Ab+c=</NextContinuationToken><KeyCount>4</KeyCount><MaxKeys>3</MaxKeys>` +
	`<Delimiter>%2F</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>` +
	`<Contents><Key>dir%2Fa+b%2B%C3%A9.txt</Key><LastModified>2024-05-01T12:30:45.123Z</LastModified>` +
	`<ETag>&#34;0f343b0931126a20f133d67c2b018a3b&#34;</ETag><Size>1090</Size>` +
	`<Owner><ID>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</ID><DisplayName>minio</DisplayName></Owner>` +
	`<StorageClass>STANDARD</StorageClass><UserMetadata><X-Amz-Meta-Sseproxy-Alg>AES256</X-Amz-Meta-Sseproxy-Alg>` +
	`<content-type>x</content-type><X-AMZ-META-Color>red</X-AMZ-META-Color></UserMetadata><UserTags>a=b</UserTags></Contents>` +
	`<Contents><Key>dir/plain</Key><LastModified>2024-05-02T00:00:00Z</LastModified><ETag>"e2"</ETag><Size>0</Size>` +
	`<StorageClass>STANDARD</StorageClass></Contents>` +
	`<Contents><Key>dir/empty-meta</Key><Size>7</Size><UserMetadata></UserMetadata></Contents>` +
	`<CommonPrefixes><Prefix>dir%2Fsub%2F</Prefix></CommonPrefixes><CommonPrefixes><Prefix>dir/a+b/</Prefix></CommonPrefixes>` +
	`</ListBucketResult>`

func TestListObjectsParse(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    ListPage
		wantErr bool
	}{
		{
			name: "minio with metadata",
			body: listDocument,
			want: ListPage{
				Objects: []ObjectInfo{
					{
						Key: "dir/a b+é.txt", Size: 1090, ETag: `"0f343b0931126a20f133d67c2b018a3b"`, StorageClass: "STANDARD",
						LastModified: time.Date(2024, 5, 1, 12, 30, 45, 123e6, time.UTC), Header: http.Header{},
						Metadata: map[string]string{"sseproxy-alg": "AES256", "color": "red"}, MetadataKnown: true,
					},
					{
						Key: "dir/plain", ETag: `"e2"`, StorageClass: "STANDARD",
						LastModified: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), Header: http.Header{},
					},
					{Key: "dir/empty-meta", Size: 7, Header: http.Header{}, Metadata: map[string]string{}, MetadataKnown: true},
				},
				CommonPrefixes:        []string{"dir/sub/", "dir/a b/"},
				IsTruncated:           true,
				NextContinuationToken: "1/Ab+c=",
			},
		},
		{
			name: "store without metadata or encoding",
			body: `<ListBucketResult><Contents><Key>a+b%41</Key><Size>3</Size></Contents>` +
				`<CommonPrefixes><Prefix>p+q/</Prefix></CommonPrefixes><IsTruncated>false</IsTruncated></ListBucketResult>`,
			want: ListPage{
				Objects:        []ObjectInfo{{Key: "a+b%41", Size: 3, Header: http.Header{}}},
				CommonPrefixes: []string{"p+q/"},
			},
		},
		{name: "empty bucket", body: `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><KeyCount>0</KeyCount></ListBucketResult>`},
		{name: "bad key escape", body: `<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%zz</Key></Contents></ListBucketResult>`, wantErr: true},
		{name: "bad prefix escape", body: `<ListBucketResult><EncodingType>url</EncodingType><CommonPrefixes><Prefix>a%</Prefix></CommonPrefixes></ListBucketResult>`, wantErr: true},
		{name: "not XML", body: `garbage`, wantErr: true},
		{name: "truncated XML", body: `<ListBucketResult><Contents><Key>a</Key>`, wantErr: true},
		{name: "bad size", body: `<ListBucketResult><Contents><Key>a</Key><Size>big</Size></Contents></ListBucketResult>`, wantErr: true},
		{name: "nested metadata", body: `<ListBucketResult><Contents><Key>a</Key><UserMetadata><X-Amz-Meta-A><b/></X-Amz-Meta-A></UserMetadata></Contents></ListBucketResult>`,
			want: ListPage{Objects: []ObjectInfo{{Key: "a", Header: http.Header{}, Metadata: map[string]string{"a": ""}, MetadataKnown: true}}}},
		{name: "error document with 200", body: `<Error><Code>InternalError</Code><Message>m</Message></Error>`, wantErr: true},
		{name: "HTML with 200", body: `<html><body>maintenance</body></html>`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/xml")
				_, _ = io.WriteString(w, tt.body)
			})
			got, err := c.ListObjects(t.Context(), "bucket", ListQuery{})
			if tt.wantErr {
				var e *Error
				if !errors.As(err, &e) || e.Status != 0 {
					t.Fatalf("ListObjects(%s) = %+v, %v, want a *backend.Error without status", tt.name, got, err)
				}
				// A store that answers what no S3 store would is a bad gateway.
				if !errors.Is(err, ErrUnreachable) {
					t.Errorf("errors.Is(ListObjects(%s) error %v, ErrUnreachable) = false, want true", tt.name, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ListObjects(%s) = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ListObjects(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// TestListObjectsRequest checks the request ListObjects sends: the
// parameters a MinIO needs to list metadata, correctly encoded, under a
// SigV4 signature the store verifies.
func TestListObjectsRequest(t *testing.T) {
	tests := []struct {
		name string
		q    ListQuery
		want map[string]string // query parameters; absent ones must not be sent
	}{
		{"defaults", ListQuery{}, map[string]string{"max-keys": "1000"}},
		{"all set", ListQuery{Prefix: "dir/", Delimiter: "/", StartAfter: "dir/a", ContinuationToken: "1/Ab+c=", MaxKeys: 5},
			map[string]string{"max-keys": "5", "prefix": "dir/", "delimiter": "/", "start-after": "dir/a", "continuation-token": "1/Ab+c="}},
		{"max keys too large", ListQuery{MaxKeys: 5000}, map[string]string{"max-keys": "1000"}},
		{"max keys negative", ListQuery{MaxKeys: -1}, map[string]string{"max-keys": "1000"}},
		{"max keys one", ListQuery{MaxKeys: 1}, map[string]string{"max-keys": "1"}},
		{"prefix needing escapes", ListQuery{Prefix: "a b+c&d=e%f/ü*~'"}, map[string]string{"max-keys": "1000", "prefix": "a b+c&d=e%f/ü*~'"}},
	}
	verifier := auth.New(auth.Options{Credentials: testCreds{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seen struct {
				method, path, authz string
				query               map[string][]string
				verr                error
			}
			got := make(chan seen, 1)
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				_, verr := verifier.Verify(r)
				got <- seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.URL.Query(), verr}
				_, _ = io.WriteString(w, `<ListBucketResult></ListBucketResult>`)
			})
			if _, err := c.ListObjects(t.Context(), "bucket", tt.q); err != nil {
				t.Fatalf("ListObjects(%+v) = %v", tt.q, err)
			}
			s := <-got
			if s.method != http.MethodGet || s.path != "/bucket/" {
				t.Errorf("ListObjects(%+v) sent %s %s, want GET /bucket/", tt.q, s.method, s.path)
			}
			want := map[string][]string{"list-type": {"2"}, "metadata": {"true"}, "encoding-type": {"url"}}
			for k, v := range tt.want {
				want[k] = []string{v}
			}
			if diff := cmp.Diff(want, s.query); diff != "" {
				t.Errorf("ListObjects(%+v) query mismatch (-want +got):\n%s", tt.q, diff)
			}
			const scope = "/us-east-1/s3/aws4_request, "
			if !strings.HasPrefix(s.authz, "AWS4-HMAC-SHA256 Credential="+testAccessKey+"/") || !strings.Contains(s.authz, scope) {
				t.Errorf("ListObjects(%+v) Authorization = %q, want SigV4 for %s in scope %q", tt.q, s.authz, testAccessKey, scope)
			}
			if s.verr != nil {
				t.Errorf("ListObjects(%+v): the store's SigV4 check = %v, want a valid signature", tt.q, s.verr)
			}
		})
	}
}

func TestGetObject(t *testing.T) {
	const object = "0123456789abcdefghijklmnopqrstuvwxyz" // 36 bytes
	lastModified := time.Date(2024, 5, 1, 12, 30, 45, 0, time.UTC)
	tests := []struct {
		name        string
		opts        GetOptions
		wantRange   string
		wantIfMatch string
		wantBody    string
	}{
		{"whole object", GetOptions{}, "", "", object},
		{"first byte", GetOptions{Offset: 0, Length: 1}, "bytes=0-0", "", "0"},
		{"middle", GetOptions{Offset: 10, Length: 10}, "bytes=10-19", "", "abcdefghij"},
		{"last byte", GetOptions{Offset: 35, Length: 1}, "bytes=35-35", "", "z"},
		{"quoted if-match", GetOptions{Offset: 1, Length: 2, IfMatch: `"etag1"`}, "bytes=1-2", `"etag1"`, "12"},
		{"bare if-match", GetOptions{IfMatch: "etag1"}, "", `"etag1"`, object},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seen struct{ rng, ifMatch string }
			got := make(chan seen, 1)
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				got <- seen{r.Header.Get("Range"), r.Header.Get("If-Match")}
				h := w.Header()
				h.Set("ETag", `"etag1"`)
				h.Set("Last-Modified", lastModified.Format(http.TimeFormat))
				h.Set("Content-Type", "text/plain")
				h.Set("Cache-Control", "no-cache")
				h.Set("X-Amz-Meta-Sseproxy-Alg", "AES256")
				h.Set("X-Amz-Meta-Color", "red")
				h.Set("X-Amz-Storage-Class", "STANDARD_IA")
				h.Set("X-Unrelated", "x")
				http.ServeContent(w, r, "", lastModified, strings.NewReader(object))
			})
			body, info, err := c.GetObject(t.Context(), "bucket", "k", tt.opts)
			if err != nil {
				t.Fatalf("GetObject(%+v) = %v", tt.opts, err)
			}
			data, err := io.ReadAll(body)
			body.Close()
			if err != nil {
				t.Fatalf("GetObject(%+v): reading body: %v", tt.opts, err)
			}
			if string(data) != tt.wantBody {
				t.Errorf("GetObject(%+v) body = %q, want %q", tt.opts, data, tt.wantBody)
			}
			if s := <-got; s.rng != tt.wantRange || s.ifMatch != tt.wantIfMatch {
				t.Errorf("GetObject(%+v) sent Range %q If-Match %q, want %q %q", tt.opts, s.rng, s.ifMatch, tt.wantRange, tt.wantIfMatch)
			}
			want := ObjectInfo{
				Key: "k", Size: int64(len(object)), ETag: `"etag1"`, LastModified: lastModified, StorageClass: "STANDARD_IA",
				Header:   http.Header{"Content-Type": {"text/plain"}, "Cache-Control": {"no-cache"}},
				Metadata: map[string]string{"sseproxy-alg": "AES256", "color": "red"}, MetadataKnown: true,
			}
			if diff := cmp.Diff(want, info); diff != "" {
				t.Errorf("GetObject(%+v) info mismatch (-want +got):\n%s", tt.opts, diff)
			}
		})
	}
}

func TestGetObjectIfMatchFails(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		writeS3Error(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	})
	_, _, err := c.GetObject(t.Context(), "bucket", "k", GetOptions{Offset: 0, Length: 10, IfMatch: `"old"`})
	checkAnswer(t, "GetObject(If-Match old)", err, http.StatusPreconditionFailed, "PreconditionFailed")
}

func TestPutObject(t *testing.T) {
	type seen struct {
		header http.Header
		body   []byte
		err    error
	}
	got := make(chan seen, 1)
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		got <- seen{r.Header.Clone(), body, err}
		if err != nil {
			return
		}
		w.Header().Set("ETag", `"5d41402abc4b2a76b9719d911017c592"`)
	})
	o := PutOptions{
		Header:   http.Header{"Content-Type": {"text/plain"}, "Content-Encoding": {"gzip"}, "Cache-Control": {"max-age=60"}},
		Metadata: map[string]string{"sseproxy-alg": "AES256", "color": "red"},
	}
	info, err := c.PutObject(t.Context(), "bucket", "k", strings.NewReader("hello"), 5, o)
	if err != nil {
		t.Fatalf("PutObject = %v", err)
	}
	if want := `"5d41402abc4b2a76b9719d911017c592"`; info.ETag != want || info.Key != "k" || info.Size != 5 {
		t.Errorf("PutObject = %+v, want key k, size 5, ETag %s", info, want)
	}
	s := <-got
	if s.err != nil || string(s.body) != "hello" {
		t.Errorf("store got body %q, %v, want %q", s.body, s.err, "hello")
	}
	for name, want := range map[string]string{
		"Content-Length": "5", "Content-Type": "text/plain", "Content-Encoding": "gzip", "Cache-Control": "max-age=60",
		"X-Amz-Meta-Sseproxy-Alg": "AES256", "X-Amz-Meta-Color": "red",
	} {
		if v := s.header.Get(name); v != want {
			t.Errorf("store got %s %q, want %q", name, v, want)
		}
	}
}

// TestPutObjectShortBody checks that a body that ends before size bytes
// fails the PUT and never reaches the store as a complete object.
func TestPutObjectShortBody(t *testing.T) {
	stored := make(chan bool, 1)
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		stored <- err == nil
		if err != nil {
			return
		}
		w.Header().Set("ETag", `"e"`)
	})
	_, err := c.PutObject(t.Context(), "bucket", "k", bytes.NewReader([]byte("hel")), 5, PutOptions{})
	if err == nil {
		t.Fatal("PutObject(3 of 5 bytes) = nil, want an error")
	}
	select {
	case ok := <-stored:
		if ok {
			t.Error("PutObject(3 of 5 bytes): the store read a complete body")
		}
	default: // the request never reached the handler
	}
}

// FuzzListParse feeds hostile listing documents to the decoder ListObjects
// uses: it must not panic, and what it accepts must be consistent.
func FuzzListParse(f *testing.F) {
	f.Add([]byte(listDocument))
	f.Add([]byte(`<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%zz</Key></Contents></ListBucketResult>`))
	f.Add([]byte(`<ListBucketResult><Contents><UserMetadata><a><b>c</b></a><X-Amz-Meta-Ä>v</X-Amz-Meta-Ä></UserMetadata></Contents></ListBucketResult>`))
	f.Add([]byte(`<ListBucketResult><Contents><UserMetadata>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc listV2Document
		if err := xml.Unmarshal(data, &doc); err != nil {
			return
		}
		p, err := doc.page()
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("page() = %v (%T), want a *backend.Error", err, err)
			}
			return
		}
		if len(p.Objects) != len(doc.Contents) || len(p.CommonPrefixes) != len(doc.CommonPrefixes) {
			t.Fatalf("page() = %d objects %d prefixes, want %d %d", len(p.Objects), len(p.CommonPrefixes), len(doc.Contents), len(doc.CommonPrefixes))
		}
		for i, o := range p.Objects {
			if known := doc.Contents[i].UserMetadata != nil; o.MetadataKnown != known {
				t.Fatalf("page() object %d MetadataKnown = %v, want %v", i, o.MetadataKnown, known)
			}
			for k := range o.Metadata {
				if k != strings.ToLower(k) {
					t.Fatalf("page() object %d metadata name %q, want it lowercased", i, k)
				}
			}
		}
	})
}

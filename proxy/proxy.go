// Package proxy is sseproxy's S3 front: an http.Handler that authenticates
// S3 requests, classifies them against an explicit allowlist of operations,
// encrypts object bodies on the way to the backend and decrypts them on the
// way back. It holds no state of its own: object keys live wrapped in backend
// metadata, master keys in the KMS.
package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/proxy/auth"
	"github.com/sseproxy/sseproxy/proxy/ossauth"
	"github.com/sseproxy/sseproxy/proxy/s3"
)

// ObjectStore is what the proxy needs of the backend for objects. All
// methods honour ctx; errors are *backend.Error values.
type ObjectStore interface {
	PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, o backend.PutOptions) (backend.ObjectInfo, error)
	GetObject(ctx context.Context, bucket, key string, o backend.GetOptions) (io.ReadCloser, backend.ObjectInfo, error)
	HeadObject(ctx context.Context, bucket, key string) (backend.ObjectInfo, error)
	DeleteObject(ctx context.Context, bucket, key string) error
	DeleteObjects(ctx context.Context, bucket string, keys []string) []backend.DeleteResult
	ListObjects(ctx context.Context, bucket string, q backend.ListQuery) (backend.ListPage, error)
	// CopyObject copies an object server-side with new headers and user
	// metadata, unless the source's ETag is no longer etag.
	CopyObject(ctx context.Context, srcBucket, srcKey, bucket, key, etag string, o backend.PutOptions) (backend.ObjectInfo, error)
	// CopyParts copies a multipart object server-side part by part,
	// keeping its part boundaries.
	CopyParts(ctx context.Context, srcBucket, srcKey, bucket, key string, size, partSize int64, etag string, o backend.PutOptions) (backend.ObjectInfo, error)
}

// UploadStore is what the proxy needs of the backend for multipart uploads.
type UploadStore interface {
	CreateUpload(ctx context.Context, bucket, key string, o backend.PutOptions) (string, error)
	UploadPart(ctx context.Context, bucket, key, uploadID string, n int, r io.Reader, size int64) (backend.Part, error)
	CompleteUpload(ctx context.Context, bucket, key, uploadID string, parts []backend.Part) (backend.ObjectInfo, error)
	AbortUpload(ctx context.Context, bucket, key, uploadID string) error
	ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (backend.PartsPage, error)
	ListUploads(ctx context.Context, bucket string, q backend.UploadsQuery) (backend.UploadsPage, error)
	// PartInfo returns the stored size of part n of a completed multipart
	// object (failing unless its ETag is still etag) and its part count.
	PartInfo(ctx context.Context, bucket, key string, n int, etag string) (size int64, parts int, err error)
}

// BucketStore is what the proxy needs of the backend for buckets.
type BucketStore interface {
	ListBuckets(ctx context.Context) ([]backend.Bucket, error)
	MakeBucket(ctx context.Context, bucket, region string) error
	RemoveBucket(ctx context.Context, bucket string) error
	HeadBucket(ctx context.Context, bucket string) error
	BucketLocation(ctx context.Context, bucket string) (string, error)
}

// Store is a backend for objects, uploads and buckets; *backend.Client is one.
type Store interface {
	ObjectStore
	UploadStore
	BucketStore
}

var _ Store = (*backend.Client)(nil)

// Authenticator verifies a request's signature and returns the verified,
// decoded body. *auth.Verifier is one.
type Authenticator interface {
	Verify(r *http.Request) (*auth.Result, error)
}

var _ Authenticator = (*auth.Verifier)(nil)

// Encryption modes of Options.DefaultEncryption.
const (
	EncryptionNone   = "none"
	EncryptionAES256 = "AES256"
	EncryptionKMS    = "aws:kms"
)

// Options configures a Handler. Store, KMS and Auth are required.
type Options struct {
	Store Store
	KMS   keys.KMS
	Auth  Authenticator
	// KeyID is the CMK that wraps the data keys of AES256 (SSE-S3) objects;
	// "" lets the KMS choose its default key.
	KeyID string
	// KMSKeyID is the CMK of aws:kms requests that name none; "" lets the
	// KMS choose its default key.
	KMSKeyID string
	// BucketRules supplies per-bucket default encryption; nil = none.
	BucketRules BucketRules
	// Authorize limits credentials to buckets and CMKs; nil = no limits.
	Authorize Authorizer
	// OSSAuth verifies Alibaba OSS signatures; nil = OSS requests are
	// refused.
	OSSAuth OSSAuthenticator
	// Rebind, when the KMS can re-bind a wrapped key to another object name
	// (keys.Rebinder), lets copies to another name keep the data key and
	// stay server-side; nil = such copies stream through the proxy.
	Rebind keys.Rebinder
	// DefaultEncryption applies to a PUT without an SSE header when the
	// bucket has no rule: EncryptionAES256 (the default), EncryptionKMS
	// (under KMSKeyID) or EncryptionNone.
	DefaultEncryption string
	// Domains are the base domains of virtual-hosted-style requests.
	Domains []string
	// Logger receives one access-log line per request; default a no-op.
	Logger *zap.Logger
	// Observer receives request metrics; default none.
	Observer Observer
}

// Handler is the S3 front. It is safe for concurrent use.
type Handler struct {
	o       Options
	layouts layoutCache
}

// New returns a Handler for o.
func New(o Options) (*Handler, error) {
	if o.Store == nil || o.KMS == nil || o.Auth == nil {
		return nil, errors.New("proxy: Store, KMS and Auth are required")
	}
	switch o.DefaultEncryption {
	case "":
		o.DefaultEncryption = EncryptionAES256
	case EncryptionAES256, EncryptionKMS, EncryptionNone:
	default:
		return nil, errors.New("proxy: invalid default encryption " + o.DefaultEncryption)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	return &Handler{o: o}, nil
}

// request is the per-request state handlers share.
type request struct {
	s3.Request
	id     string
	w      *responseWriter
	r      *http.Request
	ctx    context.Context
	auth   *auth.Result
	logger *zap.Logger
	// signed is the request as the client signed it; r differs from it for
	// OSS requests, whose x-oss-* headers r presents as x-amz-*.
	signed *http.Request
	oss    bool // answer in the OSS dialect
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.ContentLength == 0 && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		// net/http sends "100 Continue" only when a handler reads a body,
		// and an empty body is never read. botocore (aws-cli 2.9) then
		// keeps its early-response state on the connection and hangs on
		// the next PUT, so answer the expectation explicitly.
		w.WriteHeader(http.StatusContinue)
	}
	body := &countingReader{r: r.Body}
	r = r.WithContext(r.Context()) // a shallow copy: the inbound request stays untouched
	r.Body = body
	signed := r
	rw := &responseWriter{ResponseWriter: w}
	oss := ossauth.IsOSS(r)
	if oss {
		r = ossRequest(r)
		rw.ResponseWriter = &ossWriter{ResponseWriter: w}
	}
	req := &request{
		Request: s3.Classify(r, h.o.Domains),
		id:      newRequestID(),
		w:       rw,
		r:       r,
		signed:  signed,
		oss:     oss,
		ctx:     r.Context(),
		logger:  h.o.Logger,
	}
	rw.Header().Set("x-amz-request-id", req.id)
	rw.Header().Set("Server", "sseproxy")
	h.o.Observer.RequestStarted(string(req.Op))
	defer func() {
		status := rw.status
		if !rw.wroteHeader {
			status = 499 // the client went away or the stream was aborted
		}
		h.o.Observer.RequestDone(string(req.Op), status, body.n, rw.bytes, time.Since(start))
		h.o.Logger.Info("request",
			zap.String("request_id", req.id), zap.String("op", string(req.Op)),
			zap.String("bucket", req.Bucket), zap.String("key", req.Key),
			zap.String("access_key", accessKey(req.auth)),
			zap.Int("status", rw.status), zap.Int64("bytes", rw.bytes),
			zap.Duration("duration", time.Since(start)), unsupported(req))
	}()
	if err := h.serve(req); err != nil {
		observeError(h.o.Observer, err)
		h.writeError(req, err)
	}
}

// unsupported names what a refused request asked for, for the access log.
func unsupported(req *request) zap.Field {
	if req.Op != s3.OpUnsupported {
		return zap.Skip()
	}
	return zap.String("unsupported", req.r.Method+" ?"+req.r.URL.RawQuery)
}

func accessKey(a *auth.Result) string {
	if a == nil {
		return ""
	}
	return a.AccessKey
}

func (h *Handler) serve(req *request) error {
	verify := h.o.Auth.Verify
	if req.oss {
		verify = h.verifyOSS
	}
	res, err := verify(req.signed)
	if err != nil {
		return err
	}
	req.auth = res
	if req.Op == s3.OpUnsupported {
		return s3.ErrNotImplemented
	}
	if err := checkNames(req.Request); err != nil {
		return err
	}
	if err := h.allowBucket(req, req.Bucket); err != nil {
		return err
	}
	if err := checkSSEHeaders(req); err != nil {
		return err
	}
	switch req.Op {
	case s3.OpPutObject:
		return h.putObject(req)
	case s3.OpGetObject:
		return h.getObject(req)
	case s3.OpHeadObject:
		return h.headObject(req)
	case s3.OpDeleteObject:
		return h.deleteObject(req)
	case s3.OpDeleteObjects:
		return h.deleteObjects(req)
	case s3.OpListObjects:
		return h.listObjectsV1(req)
	case s3.OpListObjectsV2:
		return h.listObjectsV2(req)
	case s3.OpListBuckets:
		return h.listBuckets(req)
	case s3.OpCreateBucket:
		return h.createBucket(req)
	case s3.OpDeleteBucket:
		return h.deleteBucket(req)
	case s3.OpHeadBucket:
		return h.headBucket(req)
	case s3.OpGetBucketLocation:
		return h.bucketLocation(req)
	case s3.OpCreateMultipartUpload:
		return h.createMultipartUpload(req)
	case s3.OpUploadPart:
		return h.uploadPart(req)
	case s3.OpCompleteMultipart:
		return h.completeMultipartUpload(req)
	case s3.OpAbortMultipartUpload:
		return h.abortMultipartUpload(req)
	case s3.OpListParts:
		return h.listParts(req)
	case s3.OpListMultipartUploads:
		return h.listMultipartUploads(req)
	case s3.OpCopyObject:
		return h.copyObject(req)
	case s3.OpUploadPartCopy:
		return h.uploadPartCopy(req)
	case s3.OpPutBucketEncryption:
		return h.putBucketEncryption(req)
	case s3.OpGetBucketEncryption:
		return h.getBucketEncryption(req)
	case s3.OpDeleteBucketEncryption:
		return h.deleteBucketEncryption(req)
	}
	return s3.ErrNotImplemented
}

// writeError answers err, unless the response is already under way, in
// which case the connection is aborted: a truncated 200 must never look like
// success.
func (h *Handler) writeError(req *request, err error) {
	if req.w.wroteHeader {
		req.logger.Warn("aborting response", zap.String("request_id", req.id), zap.Error(err))
		panic(http.ErrAbortHandler)
	}
	e := toS3Error(err)
	if e == s3.ErrInternal || e.Status >= 500 {
		req.logger.Error("request failed", zap.String("request_id", req.id),
			zap.String("op", string(req.Op)), zap.String("bucket", req.Bucket),
			zap.String("key", req.Key), zap.Error(err))
	}
	if req.oss {
		writeOSSError(req.w, req.r, e, req.Bucket, req.Key, req.id)
		return
	}
	s3.WriteError(req.w, req.r, e, req.Bucket, req.Key, req.id)
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// responseWriter records the status and the body bytes written.
type responseWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Flush lets streamed responses reach the client.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// countingReader counts the request body bytes read.
type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// bufPool holds the copy buffers of the body paths: big enough for several
// DARE packages per syscall.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

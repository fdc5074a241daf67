// Package backend is the proxy's client of the object store behind it. It
// wraps minio-go's Core (exact-size PUTs, raw ranges, the proxy's own SigV4
// signature on every request) and keeps minio-go's types inside: callers see
// only this package's types and errors.
package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Options configures a Client. Endpoint is required.
type Options struct {
	// Endpoint is the store's base URL, e.g. "http://127.0.0.1:9000".
	Endpoint string
	// Region is the region requests are signed for; default "us-east-1".
	Region string
	// AccessKey and SecretKey are the proxy's own backend credentials.
	AccessKey, SecretKey string
	// Transport carries the requests; default a tuned clone of
	// http.DefaultTransport. The TLS fields below configure that default
	// transport and cannot be combined with Transport.
	Transport http.RoundTripper

	// CAFile is a PEM bundle of CA certificates trusted for an https
	// Endpoint in addition to the system roots; default none.
	CAFile string
	// ClientCertFile and ClientKeyFile are the PEM certificate and key
	// presented when the store asks for a client certificate; both or
	// neither. They are read once, by New.
	ClientCertFile, ClientKeyFile string
	// InsecureSkipVerify accepts any certificate from the store. It exists
	// for tests; callers should warn loudly when they set it.
	InsecureSkipVerify bool
}

// tlsConfig returns the TLS configuration o asks for, or nil for the
// transport's default.
func (o Options) tlsConfig() (*tls.Config, error) {
	if o.CAFile == "" && o.ClientCertFile == "" && o.ClientKeyFile == "" && !o.InsecureSkipVerify {
		return nil, nil
	}
	// InsecureSkipVerify is opt-in and warned about by the caller.
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("backend: CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("backend: CA file %s: no PEM certificate found", o.CAFile)
		}
		c.RootCAs = pool
	}
	if o.ClientCertFile != "" || o.ClientKeyFile != "" {
		if o.ClientCertFile == "" || o.ClientKeyFile == "" {
			return nil, errors.New("backend: ClientCertFile and ClientKeyFile must be set together")
		}
		cert, err := tls.LoadX509KeyPair(o.ClientCertFile, o.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("backend: client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// Client talks to one S3-compatible store. It is safe for concurrent use.
type Client struct {
	core     minio.Core
	region   string
	endpoint *url.URL
	creds    credentials.Value
	http     *http.Client
}

// New returns a Client for o.Endpoint. It does not contact the store.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("backend: invalid endpoint %q", o.Endpoint)
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	tlsConf, err := o.tlsConfig()
	if err != nil {
		return nil, err
	}
	if tlsConf != nil && o.Transport != nil {
		return nil, errors.New("backend: TLS options cannot be combined with a Transport")
	}
	tr := o.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if tlsConf != nil {
			t.TLSClientConfig = tlsConf
		}
		if u.Scheme == "http" { // TLS writes records of its own size
			t.DialContext = bulkDialer(t.DialContext)
		}
		t.MaxIdleConnsPerHost = 256
		t.MaxIdleConns = 256
		// No large WriteBufferSize: request bodies bypass the transport's
		// write buffer (bulkConn), which then holds only request heads, and
		// every pooled connection would keep 256 KiB for them.
		t.ReadBufferSize = 256 << 10
		t.DisableCompression = true
		tr = t
	}
	mc, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       o.Region,
		Transport:    tr,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	return &Client{
		core:     minio.Core{Client: mc},
		region:   o.Region,
		endpoint: u,
		creds:    credentials.Value{AccessKeyID: o.AccessKey, SecretAccessKey: o.SecretKey, SignerType: credentials.SignatureV4},
		http:     &http.Client{Transport: tr},
	}, nil
}

// Error is an error answer of the store, or a failure to reach it.
type Error struct {
	// Status is the HTTP status the store answered; 0 when it was not reached.
	Status int
	// Code is the store's S3 error code, e.g. "NoSuchKey".
	Code    string
	Message string
	err     error
}

func (e *Error) Error() string {
	if e.err != nil {
		return "backend: " + e.err.Error()
	}
	return fmt.Sprintf("backend: %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the transport error, if any.
func (e *Error) Unwrap() error { return e.err }

// Sentinel causes; test with errors.Is.
var (
	// ErrUnreachable is a store that could not be reached (502).
	ErrUnreachable = errors.New("backend: store unreachable")
	// ErrTimeout is a store that did not answer in time (504).
	ErrTimeout = errors.New("backend: store timed out")
)

// Is maps transport failures onto ErrUnreachable and ErrTimeout.
func (e *Error) Is(target error) bool {
	if e.Status != 0 || e.err == nil {
		return false
	}
	var ne net.Error
	timeout := errors.As(e.err, &ne) && ne.Timeout() || errors.Is(e.err, context.DeadlineExceeded)
	switch target {
	case ErrTimeout:
		return timeout
	case ErrUnreachable:
		return !timeout && !errors.Is(e.err, context.Canceled)
	}
	return false
}

// wrap converts a minio-go error into an *Error.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var me minio.ErrorResponse
	if errors.As(err, &me) && me.StatusCode >= 300 {
		return &Error{Status: me.StatusCode, Code: me.Code, Message: me.Message}
	}
	if errors.As(err, &me) && me.StatusCode != 0 {
		// A 200 OK carrying an <Error> (CompleteMultipartUpload, copies):
		// the status S3 documents for the code, else 500.
		status, ok := okErrorStatus[me.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		return &Error{Status: status, Code: me.Code, Message: me.Message}
	}
	if errors.As(err, &me) && me.Code != "" {
		// minio-go's client-side checks (e.g. invalid bucket names) have no status.
		return &Error{Status: http.StatusBadRequest, Code: me.Code, Message: me.Message}
	}
	return &Error{err: err}
}

// okErrorStatus are the statuses of errors S3 may send inside a 200 OK.
var okErrorStatus = map[string]int{
	"InvalidPart": http.StatusBadRequest, "InvalidPartOrder": http.StatusBadRequest,
	"EntityTooSmall": http.StatusBadRequest, "NoSuchUpload": http.StatusNotFound,
	"NoSuchKey": http.StatusNotFound, "PreconditionFailed": http.StatusPreconditionFailed,
}

// checkBucket refuses bucket names S3 would not accept, as the client
// error it is (minio-go's own check would surface as a transport error).
func checkBucket(bucket string) error {
	if err := s3utils.CheckValidBucketName(bucket); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidBucketName", Message: "The specified bucket is not valid."}
	}
	return nil
}

// Code returns the store's error code of err, or "" when err is not an
// answer of the store.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key          string
	Size         int64 // the stored (ciphertext) size of the whole object
	ETag         string
	LastModified time.Time
	StorageClass string
	// Header holds the standard object headers the store returned:
	// Content-Type, Content-Encoding, Content-Disposition, Content-Language,
	// Cache-Control, Expires.
	Header http.Header
	// Metadata holds user metadata, names lowercased without "x-amz-meta-".
	Metadata map[string]string
	// MetadataKnown is false for listing entries whose store did not return
	// user metadata with the listing.
	MetadataKnown bool
}

// StandardHeaders are the object headers stored with an object and returned
// on GET and HEAD.
var StandardHeaders = []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"}

func infoFromHeader(key string, h http.Header) ObjectInfo {
	oi := ObjectInfo{Key: key, Header: http.Header{}, Metadata: map[string]string{}, MetadataKnown: true}
	oi.ETag = h.Get("ETag")
	oi.StorageClass = h.Get("X-Amz-Storage-Class")
	if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		oi.LastModified = t
	}
	oi.Size, _ = strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if cr := h.Get("Content-Range"); cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				oi.Size = n
			}
		}
	}
	for _, name := range StandardHeaders {
		if v := h.Get(name); v != "" {
			oi.Header.Set(name, v)
		}
	}
	for name, vs := range h {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-amz-meta-") && len(vs) > 0 {
			oi.Metadata[strings.TrimPrefix(l, "x-amz-meta-")] = vs[0]
		}
	}
	return oi
}

// PutOptions are the headers and metadata stored with a new object.
type PutOptions struct {
	// Header holds standard object headers (see StandardHeaders).
	Header http.Header
	// Metadata is user metadata, names without "x-amz-meta-".
	Metadata map[string]string
}

func (o PutOptions) minio() minio.PutObjectOptions {
	po := minio.PutObjectOptions{UserMetadata: map[string]string{}, DisableContentSha256: true}
	for k, v := range o.Metadata {
		po.UserMetadata[k] = v
	}
	h := o.Header
	po.ContentType = h.Get("Content-Type")
	po.ContentEncoding = h.Get("Content-Encoding")
	po.ContentDisposition = h.Get("Content-Disposition")
	po.ContentLanguage = h.Get("Content-Language")
	po.CacheControl = h.Get("Cache-Control")
	if t, err := http.ParseTime(h.Get("Expires")); err == nil {
		po.Expires = t
	}
	return po
}

// PutObject stores exactly size bytes from r. If r fails or ends early the
// request is aborted and the store keeps whatever it had before.
func (c *Client) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, o PutOptions) (ObjectInfo, error) {
	if err := checkBucket(bucket); err != nil {
		return ObjectInfo{}, err
	}

	ui, err := c.core.PutObject(ctx, bucket, key, r, size, "", "", o.minio())
	if err != nil {
		return ObjectInfo{}, wrap(err)
	}
	return ObjectInfo{Key: key, Size: ui.Size, ETag: quote(ui.ETag), LastModified: ui.LastModified}, nil
}

// GetOptions selects what GetObject reads.
type GetOptions struct {
	// Offset and Length select [Offset, Offset+Length); Length 0 reads the
	// whole object, a negative Length from Offset to the end.
	Offset, Length int64
	// IfMatch, when set, makes the read fail with PreconditionFailed unless
	// the stored object still has this ETag.
	IfMatch string
}

// GetObject reads an object. ObjectInfo.Size is always the whole object's
// size. The caller closes the body.
func (c *Client) GetObject(ctx context.Context, bucket, key string, g GetOptions) (io.ReadCloser, ObjectInfo, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, ObjectInfo{}, err
	}

	var o minio.GetObjectOptions
	if g.IfMatch != "" {
		if err := o.SetMatchETag(strings.Trim(g.IfMatch, `"`)); err != nil {
			return nil, ObjectInfo{}, err
		}
	}
	offset, length := g.Offset, g.Length
	if length < 0 && offset > 0 {
		if err := o.SetRange(offset, 0); err != nil {
			return nil, ObjectInfo{}, err
		}
	}
	if length > 0 {
		if err := o.SetRange(offset, offset+length-1); err != nil {
			return nil, ObjectInfo{}, err
		}
	}
	body, _, h, err := c.core.GetObject(ctx, bucket, key, o)
	if err != nil {
		return nil, ObjectInfo{}, wrap(err)
	}
	return body, infoFromHeader(key, h), nil
}

// HeadObject returns an object's info.
func (c *Client) HeadObject(ctx context.Context, bucket, key string) (ObjectInfo, error) {
	if err := checkBucket(bucket); err != nil {
		return ObjectInfo{}, err
	}

	oi, err := c.core.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, wrap(err)
	}
	h := oi.Headers
	if h == nil {
		h = oi.Metadata
	}
	info := infoFromHeader(key, h)
	info.Size = oi.Size
	return info, nil
}

// DeleteObject removes an object; removing a missing object succeeds.
func (c *Client) DeleteObject(ctx context.Context, bucket, key string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}

	return wrap(c.core.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}))
}

// DeleteResult is the outcome of deleting one object of a batch.
type DeleteResult struct {
	Key string
	Err error
}

// DeleteObjects removes keys in one batch request (at most 1000).
func (c *Client) DeleteObjects(ctx context.Context, bucket string, keys []string) []DeleteResult {
	if err := checkBucket(bucket); err != nil {
		out := make([]DeleteResult, len(keys))
		for i, k := range keys {
			out[i] = DeleteResult{Key: k, Err: err}
		}
		return out
	}

	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	var out []DeleteResult
	for r := range c.core.RemoveObjectsWithResult(ctx, bucket, ch, minio.RemoveObjectsOptions{}) {
		out = append(out, DeleteResult{Key: r.ObjectName, Err: wrap(r.Err)})
	}
	return out
}

// Bucket is a bucket of the store.
type Bucket struct {
	Name    string
	Created time.Time
}

// ListBuckets lists the store's buckets.
func (c *Client) ListBuckets(ctx context.Context) ([]Bucket, error) {
	bs, err := c.core.ListBuckets(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]Bucket, len(bs))
	for i, b := range bs {
		out[i] = Bucket{Name: b.Name, Created: b.CreationDate}
	}
	return out, nil
}

// MakeBucket creates a bucket in region ("" = the client's region).
func (c *Client) MakeBucket(ctx context.Context, bucket, region string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}

	if region == "" {
		region = c.region
	}
	return wrap(c.core.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region}))
}

// RemoveBucket deletes an empty bucket.
func (c *Client) RemoveBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}

	return wrap(c.core.RemoveBucket(ctx, bucket))
}

// HeadBucket reports whether the bucket exists (NoSuchBucket error if not).
func (c *Client) HeadBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}

	ok, err := c.core.BucketExists(ctx, bucket)
	if err != nil {
		return wrap(err)
	}
	if !ok {
		return &Error{Status: http.StatusNotFound, Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
	}
	return nil
}

// BucketLocation returns the bucket's region.
func (c *Client) BucketLocation(ctx context.Context, bucket string) (string, error) {
	if err := checkBucket(bucket); err != nil {
		return "", err
	}

	if err := c.HeadBucket(ctx, bucket); err != nil {
		return "", err
	}
	loc, err := c.core.GetBucketLocation(ctx, bucket)
	return loc, wrap(err)
}

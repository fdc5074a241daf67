package ossauth

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	ossv2 "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	ossv2creds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	ossv1 "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// The two official OSS Go SDKs behind one interface, each configurable as
// the tests need: signature version, URL style, credentials, an STS token,
// V4 additional headers, and a transport that corrupts bodies after
// signing. These are test-only dependencies: nothing outside _test files
// imports them.

// tamperTransport flips the last byte of every request body after the SDK
// has signed the request (and computed any Content-MD5): corruption in
// transit.
type tamperTransport struct{ next http.RoundTripper }

func (tt tamperTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.ContentLength > 0 {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		b[len(b)-1] ^= 0x01
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = nil
	}
	return tt.next.RoundTrip(req)
}

// testHTTPClient dials addr whatever host a request names.
func testHTTPClient(addr string, tamper bool) *http.Client {
	var rt http.RoundTripper = &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		DisableKeepAlives: true,
	}
	if tamper {
		rt = tamperTransport{rt}
	}
	return &http.Client{Transport: rt}
}

// ossClient is what the tests ask of either SDK.
type ossClient interface {
	putObject(key string, body []byte, contentMD5 string, meta map[string]string) error
	getObject(key string, first, last int64) error
	// getProcessed sends the sub-resources x-oss-process and
	// response-content-type.
	getProcessed(key, process, responseContentType string) error
	initiateMultipart(key string) error
	uploadPart(key, uploadID string, part int, body []byte) error
	getObjectACL(key string) error
	// presign returns a presigned URL and the headers to send with it.
	presign(method, key string, expires time.Duration, contentType string) (string, map[string]string, error)
}

// clientConfig is one way of configuring an SDK client.
type clientConfig struct {
	version    int // OSS signature version, 1 or 4
	pathStyle  bool
	accessKey  string
	secret     string
	tamper     bool
	token      string   // an STS security token, sent and signed
	additional []string // V4 AdditionalHeaders
}

// v1SDK is aliyun-oss-go-sdk.
type v1SDK struct{ bucket *ossv1.Bucket }

func newV1SDK(t *testing.T, srv *httptest.Server, c clientConfig) ossClient {
	t.Helper()
	opts := []ossv1.ClientOption{
		ossv1.HTTPClient(testHTTPClient(srv.Listener.Addr().String(), c.tamper)),
		ossv1.EnableCRC(false), // the test server computes no CRC-64
		ossv1.ForcePathStyle(c.pathStyle),
	}
	if c.version == 4 {
		opts = append(opts, ossv1.AuthVersion(ossv1.AuthV4), ossv1.Region(sdkRegion))
	}
	if c.token != "" {
		opts = append(opts, ossv1.SecurityToken(c.token))
	}
	if c.additional != nil {
		opts = append(opts, ossv1.AdditionalHeaders(c.additional))
	}
	client, err := ossv1.New("http://"+sdkDomain+":"+port(srv), c.accessKey, c.secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := client.Bucket(sdkBucket)
	if err != nil {
		t.Fatal(err)
	}
	return v1SDK{bucket}
}

func (s v1SDK) putObject(key string, body []byte, contentMD5 string, meta map[string]string) error {
	opts := []ossv1.Option{ossv1.ContentMD5(contentMD5)}
	for k, v := range meta {
		opts = append(opts, ossv1.Meta(k, v))
	}
	return s.bucket.PutObject(key, bytes.NewReader(body), opts...)
}

func (s v1SDK) getObject(key string, first, last int64) error {
	rc, err := s.bucket.GetObject(key, ossv1.Range(first, last))
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

func (s v1SDK) getProcessed(key, process, responseContentType string) error {
	rc, err := s.bucket.GetObject(key, ossv1.Process(process), ossv1.ResponseContentType(responseContentType))
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

func (s v1SDK) initiateMultipart(key string) error {
	_, err := s.bucket.InitiateMultipartUpload(key)
	return err
}

func (s v1SDK) uploadPart(key, uploadID string, part int, body []byte) error {
	imur := ossv1.InitiateMultipartUploadResult{Bucket: sdkBucket, Key: key, UploadID: uploadID}
	_, err := s.bucket.UploadPart(imur, bytes.NewReader(body), int64(len(body)), part)
	return err
}

func (s v1SDK) getObjectACL(key string) error {
	_, err := s.bucket.GetObjectACL(key)
	return err
}

func (s v1SDK) presign(method, key string, expires time.Duration, contentType string) (string, map[string]string, error) {
	var opts []ossv1.Option
	headers := map[string]string{}
	if contentType != "" {
		opts = append(opts, ossv1.ContentType(contentType))
		headers["Content-Type"] = contentType
	}
	u, err := s.bucket.SignURL(key, ossv1.HTTPMethod(method), int64(expires/time.Second), opts...)
	return u, headers, err
}

// v2SDK is alibabacloud-oss-go-sdk-v2.
type v2SDK struct{ client *ossv2.Client }

func newV2SDK(t *testing.T, srv *httptest.Server, c clientConfig) ossClient {
	t.Helper()
	cfg := ossv2.LoadDefaultConfig().
		WithCredentialsProvider(ossv2creds.NewStaticCredentialsProvider(c.accessKey, c.secret, c.token)).
		WithRegion(sdkRegion).
		WithEndpoint("http://" + sdkDomain + ":" + port(srv)).
		WithHttpClient(testHTTPClient(srv.Listener.Addr().String(), c.tamper)).
		WithUsePathStyle(c.pathStyle).
		WithRetryMaxAttempts(1).
		WithDisableUploadCRC64Check(true).
		WithDisableDownloadCRC64Check(true)
	if c.additional != nil {
		cfg = cfg.WithAdditionalHeaders(c.additional)
	}
	if c.version == 1 {
		cfg = cfg.WithSignatureVersion(ossv2.SignatureVersionV1)
	} else {
		cfg = cfg.WithSignatureVersion(ossv2.SignatureVersionV4)
	}
	return v2SDK{ossv2.NewClient(cfg)}
}

func (s v2SDK) putObject(key string, body []byte, contentMD5 string, meta map[string]string) error {
	_, err := s.client.PutObject(context.Background(), &ossv2.PutObjectRequest{
		Bucket:     ossv2.Ptr(sdkBucket),
		Key:        ossv2.Ptr(key),
		Body:       bytes.NewReader(body),
		ContentMD5: ossv2.Ptr(contentMD5),
		Metadata:   meta,
	})
	return err
}

func (s v2SDK) getObject(key string, first, last int64) error {
	res, err := s.client.GetObject(context.Background(), &ossv2.GetObjectRequest{
		Bucket: ossv2.Ptr(sdkBucket),
		Key:    ossv2.Ptr(key),
		Range:  ossv2.Ptr(fmt.Sprintf("bytes=%d-%d", first, last)),
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

func (s v2SDK) getProcessed(key, process, responseContentType string) error {
	res, err := s.client.GetObject(context.Background(), &ossv2.GetObjectRequest{
		Bucket:              ossv2.Ptr(sdkBucket),
		Key:                 ossv2.Ptr(key),
		Process:             ossv2.Ptr(process),
		ResponseContentType: ossv2.Ptr(responseContentType),
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

func (s v2SDK) initiateMultipart(key string) error {
	_, err := s.client.InitiateMultipartUpload(context.Background(), &ossv2.InitiateMultipartUploadRequest{
		Bucket: ossv2.Ptr(sdkBucket),
		Key:    ossv2.Ptr(key),
	})
	return err
}

func (s v2SDK) uploadPart(key, uploadID string, part int, body []byte) error {
	_, err := s.client.UploadPart(context.Background(), &ossv2.UploadPartRequest{
		Bucket:     ossv2.Ptr(sdkBucket),
		Key:        ossv2.Ptr(key),
		UploadId:   ossv2.Ptr(uploadID),
		PartNumber: int32(part),
		Body:       bytes.NewReader(body),
	})
	return err
}

func (s v2SDK) getObjectACL(key string) error {
	_, err := s.client.GetObjectAcl(context.Background(), &ossv2.GetObjectAclRequest{
		Bucket: ossv2.Ptr(sdkBucket),
		Key:    ossv2.Ptr(key),
	})
	return err
}

func (s v2SDK) presign(method, key string, expires time.Duration, contentType string) (string, map[string]string, error) {
	var req any
	switch method {
	case http.MethodGet:
		req = &ossv2.GetObjectRequest{Bucket: ossv2.Ptr(sdkBucket), Key: ossv2.Ptr(key)}
	case http.MethodPut:
		p := &ossv2.PutObjectRequest{Bucket: ossv2.Ptr(sdkBucket), Key: ossv2.Ptr(key)}
		if contentType != "" {
			p.ContentType = ossv2.Ptr(contentType)
		}
		req = p
	default:
		return "", nil, fmt.Errorf("presign %s: not in this test", method)
	}
	res, err := s.client.Presign(context.Background(), req, ossv2.PresignExpires(expires))
	if err != nil {
		return "", nil, err
	}
	return res.URL, res.SignedHeaders, nil
}

func port(srv *httptest.Server) string {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}

// sendPresigned sends a presigned URL as a browser or curl would.
func sendPresigned(srv *httptest.Server, method, u string, headers map[string]string, body []byte) error {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := testHTTPClient(srv.Listener.Addr().String(), false).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func md5Base64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

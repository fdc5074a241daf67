package test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	ossv2 "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	ossv2creds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	ossv2signer "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/signer"
	ossv1 "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// The OSS dialect's clients: the two official OSS Go SDKs behind one
// interface (aliyun-oss-go-sdk v3 signs V1, alibabacloud-oss-go-sdk-v2 signs
// V4 or V1), and raw requests signed by the v2 SDK's signers for what no SDK
// call sends (an SSE header on GetObject, an empty header value).

// ossRegion is the region the V4 signatures name; the proxy serves any.
const ossRegion = "cn-hangzhou"

// The OSS SSE request and response headers.
const (
	ossHdrSSE   = "X-Oss-Server-Side-Encryption"
	ossHdrKeyID = "X-Oss-Server-Side-Encryption-Key-Id"
)

// ossSSE is what a request asks of server-side encryption; the zero value
// sends no SSE header.
type ossSSE struct{ alg, keyID string }

func (s ossSSE) header() http.Header {
	h := http.Header{}
	if s.alg != "" {
		h.Set(ossHdrSSE, s.alg)
	}
	if s.keyID != "" {
		h.Set(ossHdrKeyID, s.keyID)
	}
	return h
}

// ossResp is one response as the client saw it. For an SDK's error it holds
// what the SDK kept: the v1 SDK keeps no headers.
type ossResp struct {
	status int
	header http.Header
	body   []byte
}

// ossSDK is what the tests ask of either SDK. Every method returns the
// response of a success; an error is the SDK's (see ossErrorOf).
type ossSDK interface {
	put(bucket, key string, data []byte, s ossSSE, meta map[string]string) (ossResp, error)
	// get reads the object, or the range rng ("first-last" or "first-").
	get(bucket, key, rng string) (ossResp, error)
	head(bucket, key string) (ossResp, error)
	copy(bucket, dst, src string, s ossSSE) (ossResp, error)
	initiate(bucket, key string, s ossSSE, meta map[string]string) (string, ossResp, error)
	uploadPart(bucket, key, uploadID string, n int, data []byte) (string, ossResp, error)
	complete(bucket, key, uploadID string, etags []string) (ossResp, error)
	abort(bucket, key, uploadID string) error
	remove(bucket, key string) (ossResp, error)
	// list returns the plaintext sizes of the objects under prefix, listed
	// with ListObjects (v2 false) or ListObjectsV2.
	list(bucket, prefix string, v2 bool) (map[string]int64, ossResp, error)
	// presign returns a presigned URL and the headers to send with it.
	presign(method, bucket, key string, s ossSSE) (string, http.Header, error)
}

// ossContentType is the Content-Type every SDK PUT sends.
const ossContentType = "text/x-sseproxy-oss"

// namedSDK is a client with the name its subtests carry.
type namedSDK struct {
	name string
	sdk  ossSDK
}

// ossSDKs returns the clients the object tests run with: each SDK with its
// usual signature version.
func ossSDKs(t *testing.T, p *proxyServer) []namedSDK {
	return []namedSDK{
		{"v1 SDK (V1)", newOSSV1(t, p)},
		{"v2 SDK (V4)", ossV2{newOSSV2Client(p, 4)}},
	}
}

// ossV1 is aliyun-oss-go-sdk v3, which signs V1 and, for an IP endpoint,
// addresses buckets path-style.
type ossV1 struct{ c *ossv1.Client }

func newOSSV1(t *testing.T, p *proxyServer) ossV1 {
	t.Helper()
	c, err := ossv1.New(p.Endpoint, clientAccessKey, clientSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	return ossV1{c}
}

func (s ossV1) bucket(name string) *ossv1.Bucket {
	b, err := s.c.Bucket(name)
	if err != nil {
		panic(err) // only for a malformed name, which the tests never use
	}
	return b
}

func v1SSE(s ossSSE) []ossv1.Option {
	var o []ossv1.Option
	if s.alg != "" {
		o = append(o, ossv1.ServerSideEncryption(s.alg))
	}
	if s.keyID != "" {
		o = append(o, ossv1.ServerSideEncryptionKeyID(s.keyID))
	}
	return o
}

func v1Meta(meta map[string]string) []ossv1.Option {
	var o []ossv1.Option
	for k, v := range meta {
		o = append(o, ossv1.Meta(k, v))
	}
	return o
}

func (s ossV1) put(bucket, key string, data []byte, sse ossSSE, meta map[string]string) (ossResp, error) {
	opts := append(append(v1SSE(sse), v1Meta(meta)...), ossv1.ContentType(ossContentType))
	resp, err := s.bucket(bucket).DoPutObject(&ossv1.PutObjectRequest{ObjectKey: key, Reader: bytes.NewReader(data)}, opts)
	if err != nil {
		return ossResp{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return ossResp{resp.StatusCode, resp.Headers, body}, nil
}

func (s ossV1) get(bucket, key, rng string) (ossResp, error) {
	var opts []ossv1.Option
	if rng != "" {
		opts = append(opts, ossv1.NormalizedRange(rng))
	}
	res, err := s.bucket(bucket).DoGetObject(&ossv1.GetObjectRequest{ObjectKey: key}, opts)
	if err != nil {
		return ossResp{}, err
	}
	defer res.Response.Body.Close()
	body, err := io.ReadAll(res.Response.Body)
	return ossResp{res.Response.StatusCode, res.Response.Headers, body}, err
}

func (s ossV1) head(bucket, key string) (ossResp, error) {
	h, err := s.bucket(bucket).GetObjectDetailedMeta(key)
	return ossResp{status: http.StatusOK, header: h}, err
}

func (s ossV1) copy(bucket, dst, src string, sse ossSSE) (ossResp, error) {
	var h http.Header
	_, err := s.bucket(bucket).CopyObject(src, dst, append(v1SSE(sse), ossv1.GetResponseHeader(&h))...)
	return ossResp{status: http.StatusOK, header: h}, err
}

func (s ossV1) initiate(bucket, key string, sse ossSSE, meta map[string]string) (string, ossResp, error) {
	var h http.Header
	opts := append(append(v1SSE(sse), v1Meta(meta)...), ossv1.ContentType(ossContentType), ossv1.GetResponseHeader(&h))
	imur, err := s.bucket(bucket).InitiateMultipartUpload(key, opts...)
	return imur.UploadID, ossResp{status: http.StatusOK, header: h}, err
}

func (s ossV1) uploadPart(bucket, key, uploadID string, n int, data []byte) (string, ossResp, error) {
	var h http.Header
	imur := ossv1.InitiateMultipartUploadResult{Bucket: bucket, Key: key, UploadID: uploadID}
	part, err := s.bucket(bucket).UploadPart(imur, bytes.NewReader(data), int64(len(data)), n, ossv1.GetResponseHeader(&h))
	return part.ETag, ossResp{status: http.StatusOK, header: h}, err
}

func (s ossV1) complete(bucket, key, uploadID string, etags []string) (ossResp, error) {
	var h http.Header
	imur := ossv1.InitiateMultipartUploadResult{Bucket: bucket, Key: key, UploadID: uploadID}
	parts := make([]ossv1.UploadPart, len(etags))
	for i, e := range etags {
		parts[i] = ossv1.UploadPart{PartNumber: i + 1, ETag: e}
	}
	_, err := s.bucket(bucket).CompleteMultipartUpload(imur, parts, ossv1.GetResponseHeader(&h))
	return ossResp{status: http.StatusOK, header: h}, err
}

func (s ossV1) abort(bucket, key, uploadID string) error {
	return s.bucket(bucket).AbortMultipartUpload(ossv1.InitiateMultipartUploadResult{Bucket: bucket, Key: key, UploadID: uploadID})
}

func (s ossV1) remove(bucket, key string) (ossResp, error) {
	var h http.Header
	err := s.bucket(bucket).DeleteObject(key, ossv1.GetResponseHeader(&h))
	return ossResp{status: http.StatusNoContent, header: h}, err
}

func (s ossV1) list(bucket, prefix string, v2 bool) (map[string]int64, ossResp, error) {
	var h http.Header
	opts := []ossv1.Option{ossv1.Prefix(prefix), ossv1.MaxKeys(1000), ossv1.GetResponseHeader(&h)}
	var objs []ossv1.ObjectProperties
	if v2 {
		res, err := s.bucket(bucket).ListObjectsV2(opts...)
		if err != nil {
			return nil, ossResp{}, err
		}
		objs = res.Objects
	} else {
		res, err := s.bucket(bucket).ListObjects(opts...)
		if err != nil {
			return nil, ossResp{}, err
		}
		objs = res.Objects
	}
	sizes := map[string]int64{}
	for _, o := range objs {
		sizes[o.Key] = o.Size
	}
	return sizes, ossResp{status: http.StatusOK, header: h}, nil
}

func (s ossV1) presign(method, bucket, key string, sse ossSSE) (string, http.Header, error) {
	u, err := s.bucket(bucket).SignURL(key, ossv1.HTTPMethod(method), 300, v1SSE(sse)...)
	return u, sse.header(), err
}

// ossV2 is alibabacloud-oss-go-sdk-v2.
type ossV2 struct{ c *ossv2.Client }

// newOSSV2Client returns a v2 SDK client of p signing with the given OSS
// signature version (1 or 4), path-style as an IP endpoint needs.
func newOSSV2Client(p *proxyServer, version int) *ossv2.Client {
	return newOSSV2ClientAs(p, version, clientAccessKey, clientSecretKey)
}

func newOSSV2ClientAs(p *proxyServer, version int, ak, sk string) *ossv2.Client {
	cfg := ossv2.LoadDefaultConfig().
		WithCredentialsProvider(ossv2creds.NewStaticCredentialsProvider(ak, sk)).
		WithRegion(ossRegion).
		WithEndpoint(p.Endpoint).
		WithUsePathStyle(true).
		WithRetryMaxAttempts(1).
		WithSignatureVersion(ossv2.SignatureVersionV4)
	if version == 1 {
		cfg = cfg.WithSignatureVersion(ossv2.SignatureVersionV1)
	}
	return ossv2.NewClient(cfg)
}

var bg = context.Background()

func ptrOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s ossV2) put(bucket, key string, data []byte, sse ossSSE, meta map[string]string) (ossResp, error) {
	res, err := s.c.PutObject(bg, &ossv2.PutObjectRequest{
		Bucket: &bucket, Key: &key, Body: bytes.NewReader(data), Metadata: meta, ContentType: ossv2.Ptr(ossContentType),
		ServerSideEncryption: ptrOrNil(sse.alg), ServerSideEncryptionKeyId: ptrOrNil(sse.keyID),
	})
	if err != nil {
		return ossResp{}, err
	}
	return ossResp{status: res.StatusCode, header: res.Headers}, nil
}

func (s ossV2) get(bucket, key, rng string) (ossResp, error) {
	req := &ossv2.GetObjectRequest{Bucket: &bucket, Key: &key}
	if rng != "" {
		req.Range = ossv2.Ptr("bytes=" + rng)
	}
	res, err := s.c.GetObject(bg, req)
	if err != nil {
		return ossResp{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return ossResp{res.StatusCode, res.Headers, body}, err
}

func (s ossV2) head(bucket, key string) (ossResp, error) {
	res, err := s.c.HeadObject(bg, &ossv2.HeadObjectRequest{Bucket: &bucket, Key: &key})
	if err != nil {
		return ossResp{}, err
	}
	return ossResp{status: res.StatusCode, header: res.Headers}, nil
}

func (s ossV2) copy(bucket, dst, src string, sse ossSSE) (ossResp, error) {
	res, err := s.c.CopyObject(bg, &ossv2.CopyObjectRequest{
		Bucket: &bucket, Key: &dst, SourceBucket: &bucket, SourceKey: &src,
		ServerSideEncryption: ptrOrNil(sse.alg), ServerSideEncryptionKeyId: ptrOrNil(sse.keyID),
	})
	if err != nil {
		return ossResp{}, err
	}
	return ossResp{status: res.StatusCode, header: res.Headers}, nil
}

func (s ossV2) initiate(bucket, key string, sse ossSSE, meta map[string]string) (string, ossResp, error) {
	res, err := s.c.InitiateMultipartUpload(bg, &ossv2.InitiateMultipartUploadRequest{
		Bucket: &bucket, Key: &key, Metadata: meta, ContentType: ossv2.Ptr(ossContentType),
		ServerSideEncryption: ptrOrNil(sse.alg), ServerSideEncryptionKeyId: ptrOrNil(sse.keyID),
	})
	if err != nil {
		return "", ossResp{}, err
	}
	return ossv2.ToString(res.UploadId), ossResp{status: res.StatusCode, header: res.Headers}, nil
}

func (s ossV2) uploadPart(bucket, key, uploadID string, n int, data []byte) (string, ossResp, error) {
	res, err := s.c.UploadPart(bg, &ossv2.UploadPartRequest{
		Bucket: &bucket, Key: &key, UploadId: &uploadID, PartNumber: int32(n), Body: bytes.NewReader(data),
	})
	if err != nil {
		return "", ossResp{}, err
	}
	return ossv2.ToString(res.ETag), ossResp{status: res.StatusCode, header: res.Headers}, nil
}

func (s ossV2) complete(bucket, key, uploadID string, etags []string) (ossResp, error) {
	parts := make([]ossv2.UploadPart, len(etags))
	for i, e := range etags {
		parts[i] = ossv2.UploadPart{PartNumber: int32(i + 1), ETag: ossv2.Ptr(e)}
	}
	res, err := s.c.CompleteMultipartUpload(bg, &ossv2.CompleteMultipartUploadRequest{
		Bucket: &bucket, Key: &key, UploadId: &uploadID,
		CompleteMultipartUpload: &ossv2.CompleteMultipartUpload{Parts: parts},
	})
	if err != nil {
		return ossResp{}, err
	}
	return ossResp{status: res.StatusCode, header: res.Headers}, nil
}

func (s ossV2) abort(bucket, key, uploadID string) error {
	_, err := s.c.AbortMultipartUpload(bg, &ossv2.AbortMultipartUploadRequest{Bucket: &bucket, Key: &key, UploadId: &uploadID})
	return err
}

func (s ossV2) remove(bucket, key string) (ossResp, error) {
	res, err := s.c.DeleteObject(bg, &ossv2.DeleteObjectRequest{Bucket: &bucket, Key: &key})
	if err != nil {
		return ossResp{}, err
	}
	return ossResp{status: res.StatusCode, header: res.Headers}, nil
}

func (s ossV2) list(bucket, prefix string, v2 bool) (map[string]int64, ossResp, error) {
	var objs []ossv2.ObjectProperties
	var rc ossv2.ResultCommon
	if v2 {
		res, err := s.c.ListObjectsV2(bg, &ossv2.ListObjectsV2Request{Bucket: &bucket, Prefix: &prefix, MaxKeys: 1000})
		if err != nil {
			return nil, ossResp{}, err
		}
		objs, rc = res.Contents, res.ResultCommon
	} else {
		res, err := s.c.ListObjects(bg, &ossv2.ListObjectsRequest{Bucket: &bucket, Prefix: &prefix, MaxKeys: 1000})
		if err != nil {
			return nil, ossResp{}, err
		}
		objs, rc = res.Contents, res.ResultCommon
	}
	sizes := map[string]int64{}
	for _, o := range objs {
		sizes[ossv2.ToString(o.Key)] = o.Size
	}
	return sizes, ossResp{status: rc.StatusCode, header: rc.Headers}, nil
}

func (s ossV2) presign(method, bucket, key string, sse ossSSE) (string, http.Header, error) {
	var req any
	switch method {
	case http.MethodGet:
		req = &ossv2.GetObjectRequest{Bucket: &bucket, Key: &key}
	case http.MethodPut:
		req = &ossv2.PutObjectRequest{Bucket: &bucket, Key: &key,
			ServerSideEncryption: ptrOrNil(sse.alg), ServerSideEncryptionKeyId: ptrOrNil(sse.keyID)}
	default:
		return "", nil, errors.New("presign: no " + method + " in these tests")
	}
	res, err := s.c.Presign(bg, req, ossv2.PresignExpires(5*time.Minute))
	if err != nil {
		return "", nil, err
	}
	h := http.Header{}
	for k, v := range res.SignedHeaders {
		h.Set(k, v)
	}
	return res.URL, h, nil
}

// ossErrorOf returns the response behind an SDK's service error.
func ossErrorOf(err error) (ossResp, bool) {
	var e2 *ossv2.ServiceError
	if errors.As(err, &e2) {
		return ossResp{e2.StatusCode, e2.Headers, e2.Snapshot}, true
	}
	var e1 ossv1.ServiceError
	if errors.As(err, &e1) {
		return ossResp{status: e1.StatusCode, body: []byte(e1.RawMessage)}, true
	}
	return ossResp{}, false
}

// ossErrorDoc is OSS's error document.
type ossErrorDoc struct {
	XMLName   xml.Name
	Code      string  `xml:"Code"`
	Message   string  `xml:"Message"`
	RequestID string  `xml:"RequestId"`
	HostID    string  `xml:"HostId"`
	EC        *string `xml:"EC"`
}

func ossErrorCode(body []byte) string {
	var d ossErrorDoc
	_ = xml.Unmarshal(body, &d)
	return d.Code
}

// checkOSSError asserts that r is an OSS error answer: the status (any 4xx
// or 5xx when status is 0), a code among codes (any when none are given),
// and OSS's error document: <Error> with Code, Message, RequestId (the
// x-oss-request-id header when the client kept headers) and HostId. (EC is
// checked once, in TestOSSHeaderMatrix, not in every row.)
func checkOSSError(t *testing.T, what string, r ossResp, status int, codes ...string) {
	t.Helper()
	if status != 0 && r.status != status || status == 0 && r.status < 400 {
		want := "4xx/5xx"
		if status != 0 {
			want = http.StatusText(status)
		}
		t.Errorf("%s = %d %s, want %d %s (%s)", what, r.status, ossErrorCode(r.body), status, strings.Join(codes, "|"), want)
	}
	if r.header != nil {
		checkRequestID(t, what, r.header)
	}
	var d ossErrorDoc
	if err := xml.Unmarshal(r.body, &d); err != nil || d.XMLName.Local != "Error" {
		t.Errorf("%s: error body is not OSS's <Error> document (%v):\n%s", what, err, r.body)
		return
	}
	if len(codes) > 0 && !slices.Contains(codes, d.Code) {
		t.Errorf("%s: Code = %q, want %s", what, d.Code, strings.Join(codes, " or "))
	}
	if d.Code == "" || d.Message == "" || d.RequestID == "" || d.HostID == "" {
		t.Errorf("%s: error document lacks Code, Message, RequestId or HostId:\n%s", what, r.body)
	}
	if r.header != nil && d.RequestID != r.header.Get("X-Oss-Request-Id") {
		t.Errorf("%s: RequestId %q differs from x-oss-request-id %q", what, d.RequestID, r.header.Get("X-Oss-Request-Id"))
	}
	if r.header != nil && !strings.Contains(r.header.Get("Content-Type"), "xml") {
		t.Errorf("%s: error Content-Type = %q, want application/xml", what, r.header.Get("Content-Type"))
	}
}

// checkSDKError asserts that err is an OSS service error (see checkOSSError).
func checkSDKError(t *testing.T, what string, err error, status int, codes ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded, want %d %s", what, status, strings.Join(codes, "|"))
		return
	}
	r, ok := ossErrorOf(err)
	if !ok {
		t.Errorf("%s = %v, want an OSS service error %d %s", what, err, status, strings.Join(codes, "|"))
		return
	}
	checkOSSError(t, what, r, status, codes...)
}

// checkAtRest asserts that key is stored as ciphertext of exactly size
// bytes, under the record alg (and keyID, unless ""), with the user
// metadata meta as S3 names it.
func checkAtRest(t *testing.T, bucket, key string, plain []byte, size int64, alg, keyID string, meta map[string]string) {
	t.Helper()
	stored, m := getDirect(t, bucket, key)
	if int64(len(stored)) != size {
		t.Errorf("%s stored %d bytes, want %d of ciphertext", key, len(stored), size)
	}
	if len(plain) >= 32 && bytes.Contains(stored, plain[:32]) {
		t.Errorf("%s is stored as plaintext", key)
	}
	if m["Sseproxy-Alg"] != alg || keyID != "" && m["Sseproxy-Key-Id"] != keyID {
		t.Errorf("%s stored under %q %q, want %q %q", key, m["Sseproxy-Alg"], m["Sseproxy-Key-Id"], alg, keyID)
	}
	for k, v := range meta {
		if got := m[http.CanonicalHeaderKey(k)]; got != v {
			t.Errorf("%s stored user metadata %q = %q, want %q (all: %v)", key, k, got, v, m)
		}
	}
}

func checkRequestID(t *testing.T, what string, h http.Header) {
	t.Helper()
	if h.Get("X-Oss-Request-Id") == "" {
		t.Errorf("%s: no x-oss-request-id in the response headers %v", what, h)
	}
}

// checkOSSSSE asserts a response's OSS SSE headers: alg "" wants none,
// "AES256" wants no key id, "KMS" wants the key id keyID.
func checkOSSSSE(t *testing.T, what string, h http.Header, alg, keyID string) {
	t.Helper()
	gotAlg, gotKey := h.Get(ossHdrSSE), h.Get(ossHdrKeyID)
	if alg != "KMS" {
		keyID = ""
	}
	if gotAlg != alg || gotKey != keyID {
		t.Errorf("%s: x-oss-server-side-encryption = %q, -key-id = %q; want %q, %q", what, gotAlg, gotKey, alg, keyID)
	}
}

// ossRaw sends a request signed by the v2 SDK's V1 or V4 signer, as the
// SDKs sign theirs, with exactly the headers given (empty values too).
// query is sent in order; names without a value are sent bare.
func ossRaw(t *testing.T, p *proxyServer, version int, method, bucket, key string, query [][2]string, hdr http.Header, body []byte) ossResp {
	t.Helper()
	return ossRawAs(t, p, version, clientAccessKey, clientSecretKey, method, bucket, key, query, hdr, body)
}

func ossRawAs(t *testing.T, p *proxyServer, version int, ak, sk, method, bucket, key string, query [][2]string, hdr http.Header, body []byte) ossResp {
	t.Helper()
	req := ossRequest(t, p, version, ak, sk, method, bucket, key, query, hdr, body, time.Time{})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s /%s/%s: %v", method, bucket, key, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s /%s/%s: reading the body: %v", method, bucket, key, err)
	}
	return ossResp{resp.StatusCode, resp.Header, data}
}

// ossRequest builds a signed request; a non-zero expires presigns it
// (query authentication) to expire then.
func ossRequest(t *testing.T, p *proxyServer, version int, ak, sk, method, bucket, key string, query [][2]string, hdr http.Header, body []byte, expires time.Time) *http.Request {
	t.Helper()
	u := p.Endpoint + "/"
	if bucket != "" {
		u += bucket + "/" + (&url.URL{Path: key}).EscapedPath()
	}
	var q []string
	var sub []string
	for _, kv := range query {
		s := url.QueryEscape(kv[0])
		if kv[1] != "" {
			s += "=" + strings.ReplaceAll(url.QueryEscape(kv[1]), "+", "%20")
		}
		q = append(q, s)
		if !listParams[kv[0]] {
			sub = append(sub, kv[0])
		}
	}
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, vs := range hdr {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	sc := &ossv2signer.SigningContext{
		Product: ossv2.Ptr("oss"), Region: ossv2.Ptr(ossRegion),
		Request: req, SubResource: sub,
		Credentials: &ossv2creds.Credentials{AccessKeyID: ak, AccessKeySecret: sk},
	}
	if bucket != "" {
		sc.Bucket, sc.Key = &bucket, &key
	}
	if !expires.IsZero() {
		sc.AuthMethodQuery, sc.Time = true, expires
	}
	var signer ossv2signer.Signer = &ossv2signer.SignerV4{}
	if version == 1 {
		signer = &ossv2signer.SignerV1{}
	}
	if err := signer.Sign(bg, sc); err != nil {
		t.Fatal(err)
	}
	return req
}

// listParams are query parameters that V1 does not sign.
var listParams = map[string]bool{"prefix": true, "marker": true, "max-keys": true, "delimiter": true,
	"encoding-type": true, "list-type": true, "start-after": true}

// sendURL sends a presigned URL as a browser or curl would.
func sendURL(t *testing.T, method, u string, hdr http.Header, body []byte) ossResp {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, vs := range hdr {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s presigned URL: %v", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s presigned URL: reading the body: %v", method, err)
	}
	return ossResp{resp.StatusCode, resp.Header, data}
}

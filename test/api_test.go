package test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/sseproxy/sseproxy/test/testenv"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// abortedPut starts an UNSIGNED-PAYLOAD PUT of data and drops the connection
// halfway through the body.
func abortedPut(t *testing.T, p *proxyServer, bucket, key string, data []byte) {
	t.Helper()
	body := io.MultiReader(bytes.NewReader(data[:len(data)/2]), errReader{})
	req, err := http.NewRequest(http.MethodPut, p.Endpoint+"/"+bucket+"/"+key, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(data))
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, clientAccessKey, clientSecretKey, "", "us-east-1")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("aborted PUT answered %d", resp.StatusCode)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("client gave up") }

// TestSSEHeaderRules: the seed's matrix for x-amz-server-side-encryption.
func TestSSEHeaderRules(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	bucket := newBucket(t, p.client(t))
	put := func(key string, h http.Header) (*http.Response, []byte) {
		return rawRequest(t, p, http.MethodPut, "/"+bucket+"/"+key, h, []byte("data"))
	}
	resp, body := put("ok", http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}})
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Server-Side-Encryption") != "AES256" {
		t.Errorf("PUT AES256 = %d %s, sse %q; want 200 with AES256 echoed", resp.StatusCode, errorCode(body), resp.Header.Get("X-Amz-Server-Side-Encryption"))
	}
	resp, _ = put("default", nil)
	if resp.Header.Get("X-Amz-Server-Side-Encryption") != "AES256" {
		t.Errorf("PUT under default AES256 echoed %q, want AES256", resp.Header.Get("X-Amz-Server-Side-Encryption"))
	}
	tests := []struct {
		name, method, path string
		header             http.Header
		status             int
		code               string
	}{
		{"invalid algorithm", http.MethodPut, "/" + bucket + "/bad", http.Header{"X-Amz-Server-Side-Encryption": {"AES128"}}, 400, "InvalidEncryptionAlgorithmError"},
		{"empty algorithm", http.MethodPut, "/" + bucket + "/bad", http.Header{"X-Amz-Server-Side-Encryption": {""}}, 400, "InvalidEncryptionAlgorithmError"},
		{"header on GET", http.MethodGet, "/" + bucket + "/ok", http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}}, 400, "InvalidArgument"},
		{"header on DELETE", http.MethodDelete, "/" + bucket + "/ok", http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}}, 400, "InvalidArgument"},
		{"header on list", http.MethodGet, "/" + bucket, http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}}, 400, "InvalidArgument"},
		{"key id with AES256", http.MethodPut, "/" + bucket + "/bad", http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}, "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": {"k"}}, 400, "InvalidArgument"},
		{"SSE-C", http.MethodPut, "/" + bucket + "/bad", http.Header{"X-Amz-Server-Side-Encryption-Customer-Algorithm": {"AES256"}}, 501, "NotImplemented"},
		{"reserved metadata", http.MethodPut, "/" + bucket + "/bad", http.Header{"X-Amz-Meta-Sseproxy-Alg": {"none"}}, 400, "InvalidArgument"},
		{"unsupported subresource", http.MethodGet, "/" + bucket + "/ok?tagging", nil, 501, "NotImplemented"},
		{"unsupported bucket op", http.MethodGet, "/" + bucket + "?versioning", nil, 501, "NotImplemented"},
		{"copy from a version", http.MethodPut, "/" + bucket + "/copy", http.Header{"X-Amz-Copy-Source": {"/" + bucket + "/ok?versionId=3"}}, 501, "NotImplemented"},
		{"SSE header on UploadPart", http.MethodPut, "/" + bucket + "/ok?partNumber=1&uploadId=x", http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}}, 400, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var payload []byte
			if tt.method == http.MethodPut {
				payload = []byte("data")
			}
			resp, body := rawRequest(t, p, tt.method, tt.path, tt.header, payload)
			if resp.StatusCode != tt.status || errorCode(body) != tt.code {
				t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, resp.StatusCode, errorCode(body), tt.status, tt.code)
			}
			if resp.Header.Get("X-Amz-Request-Id") == "" {
				t.Errorf("no x-amz-request-id on the error")
			}
		})
	}
	if _, err := p.client(t).StatObject(context.Background(), bucket, "bad", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("a refused PUT stored an object: StatObject = %v", err)
	}
}

// TestBucketsAndDeletes covers the bucket operations, DeleteObject(s),
// delimiter listings and pagination.
func TestBucketsAndDeletes(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	if ok, err := c.BucketExists(ctx, bucket); !ok || err != nil {
		t.Errorf("BucketExists = %v, %v; want true", ok, err)
	}
	if ok, err := c.BucketExists(ctx, bucket+"-missing"); ok || err != nil {
		t.Errorf("BucketExists(missing) = %v, %v; want false", ok, err)
	}
	bs, err := c.ListBuckets(ctx)
	found := false
	for _, b := range bs {
		found = found || b.Name == bucket
	}
	if err != nil || !found {
		t.Errorf("ListBuckets = %v, %v; want %s listed", bs, err, bucket)
	}
	if loc, err := c.GetBucketLocation(ctx, bucket); err != nil || loc != "us-east-1" {
		t.Errorf("GetBucketLocation = %q, %v; want us-east-1", loc, err)
	}
	keys := []string{"a/1", "a/2", "b/1", "c", "d e+f~g"}
	for i := 0; i < 7; i++ {
		keys = append(keys, "many/"+string(rune('a'+i)))
	}
	for _, k := range keys {
		if _, err := c.PutObject(ctx, bucket, k, strings.NewReader(k), int64(len(k)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject(%q) = %v", k, err)
		}
	}
	for _, v1 := range []bool{false, true} {
		var top []string
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{UseV1: v1, MaxKeys: 2}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			top = append(top, o.Key)
			if !strings.HasSuffix(o.Key, "/") && o.Size != int64(len(o.Key)) {
				t.Errorf("listed %q size %d, want %d", o.Key, o.Size, len(o.Key))
			}
		}
		want := "a/ b/ c d e+f~g many/"
		if strings.Join(top, " ") != want {
			t.Errorf("ListObjects(v1=%v, delimiter /, max-keys 2) = %q, want %q", v1, strings.Join(top, " "), want)
		}
	}
	if err := c.RemoveBucket(ctx, bucket); minio.ToErrorResponse(err).Code != "BucketNotEmpty" {
		t.Errorf("RemoveBucket(non-empty) = %v, want BucketNotEmpty", err)
	}
	if err := c.RemoveObject(ctx, bucket, "c", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	for e := range c.RemoveObjects(ctx, bucket, ch, minio.RemoveObjectsOptions{}) {
		t.Errorf("RemoveObjects: %v", e.Err)
	}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		t.Errorf("after deleting everything, listed %q", o.Key)
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil {
		t.Errorf("RemoveBucket = %v", err)
	}
	if _, err := getAll(c, bucket, "x", minio.GetObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchBucket" {
		t.Errorf("GET in a deleted bucket = %v, want NoSuchBucket", err)
	}
}

// TestPresignedAndVirtualHost: presigned GET/PUT URLs and virtual-hosted-style
// addressing work; an expired presigned URL is refused.
func TestPresignedAndVirtualHost(t *testing.T) {
	p := startProxy(t, proxyConfig{domains: []string{"s3.test"}})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	u, err := c.PresignedPutObject(ctx, bucket, "pre", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, u.String(), strings.NewReader("presigned body"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("presigned PUT = %v %v", resp, err)
	}
	resp.Body.Close()
	g, err := c.PresignedGetObject(ctx, bucket, "pre", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(g.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "presigned body" {
		t.Errorf("presigned GET = %d %q, want 200 presigned body", resp.StatusCode, body)
	}
	expired, err := c.PresignedGetObject(ctx, bucket, "pre", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the one unavoidable wait: a URL must expire
	resp, err = http.Get(expired.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || errorCode(body) != "AccessDenied" {
		t.Errorf("expired presigned GET = %d %s, want 403 AccessDenied", resp.StatusCode, errorCode(body))
	}

	// Virtual-hosted style: BUCKET.s3.test resolves (by our dialer) to the proxy.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, p.Host)
	}
	vc, err := minio.New("s3.test:"+strings.Split(p.Host, ":")[1], &minio.Options{
		Creds: credentials.NewStaticV4(clientAccessKey, clientSecretKey, ""), Region: "us-east-1",
		BucketLookup: minio.BucketLookupDNS, Transport: &http.Transport{DialContext: dial},
	})
	if err != nil {
		t.Fatal(err)
	}
	data := payload(70000, 5)
	if _, err := vc.PutObject(ctx, bucket, "vhost/obj", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("virtual-hosted PutObject = %v", err)
	}
	got, err := getAll(c, bucket, "vhost/obj", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("path-style GET of a virtual-hosted PUT = %d bytes, %v", len(got), err)
	}
}

// TestAWSCLI drives the proxy with Debian's aws-cli v2: mb, cp up and down
// (signed payloads), ls with plaintext sizes, s3api head-object, rm, rb.
func TestAWSCLI(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	dir := t.TempDir()
	// aws-cli's defaults: multipart above 8 MiB in 8 MiB parts, ranged
	// parallel GETs for downloads above 8 MiB.
	cfg := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(cfg, []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aws := func(args ...string) string {
		t.Helper()
		cmd := testenv.AWSCLI(t, p.Endpoint, clientAccessKey, clientSecretKey, args...)
		cmd.Env = append(cmd.Env, "AWS_CONFIG_FILE="+cfg)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	bucket := "awscli-" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
	aws("s3", "mb", "s3://"+bucket)
	src := filepath.Join(dir, "src.bin")
	data := payload(40<<20+123, 9)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	aws("s3", "cp", src, "s3://"+bucket+"/x/file.bin")
	dst := filepath.Join(dir, "dst.bin")
	aws("s3", "cp", "s3://"+bucket+"/x/file.bin", dst)
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("aws s3 cp round trip = %d bytes, %v; want %d identical", len(got), err, len(data))
	}
	if out := aws("s3", "ls", "--recursive", "s3://"+bucket); !strings.Contains(out, " 41943163 x/file.bin") {
		t.Errorf("aws s3 ls = %q, want plaintext size 41943163", out)
	}
	if out := aws("s3api", "head-object", "--bucket", bucket, "--key", "x/file.bin"); !strings.Contains(out, `"ServerSideEncryption": "AES256"`) {
		t.Errorf("aws s3api head-object = %s, want ServerSideEncryption AES256", out)
	}
	stored, _ := getDirect(t, bucket, "x/file.bin")
	if bytes.Equal(stored[:1000], data[:1000]) {
		t.Errorf("aws-cli upload stored as plaintext")
	}
	aws("s3", "rm", "s3://"+bucket+"/x/file.bin")
	aws("s3", "rb", "s3://"+bucket)
}

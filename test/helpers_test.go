package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// signedRequest builds a SigV4-signed request with a signed payload hash.
func signedRequest(t *testing.T, endpoint, method, path string, hdr http.Header, body []byte, ak, sk string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	return signer.SignV4(*req, ak, sk, "", "us-east-1")
}

// errorCode extracts <Code> from an S3 error document.
func errorCode(body []byte) string {
	var e struct {
		Code string `xml:"Code"`
	}
	_ = xml.Unmarshal(body, &e)
	return e.Code
}

// putDirect stores an object in the backend directly, bypassing the proxy.
func putDirect(t *testing.T, bucket, key string, data []byte, meta map[string]string) {
	t.Helper()
	_, err := direct(t).PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{UserMetadata: meta, DisableMultipart: true})
	if err != nil {
		t.Fatalf("direct PutObject(%s) = %v", key, err)
	}
}

// getDirect reads an object's stored bytes and user metadata from the backend.
func getDirect(t *testing.T, bucket, key string) ([]byte, map[string]string) {
	t.Helper()
	c := direct(t)
	obj, err := c.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(obj); err != nil {
		t.Fatalf("direct GetObject(%s) = %v", key, err)
	}
	info, err := c.StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), info.UserMetadata
}

// getAll reads an object through a client; it returns the error of the read.
func getAll(c *minio.Client, bucket, key string, opts minio.GetObjectOptions) ([]byte, error) {
	obj, err := c.GetObject(context.Background(), bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(obj)
	return buf.Bytes(), err
}

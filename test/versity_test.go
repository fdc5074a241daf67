package test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sseproxy/sseproxy/test/testenv"
)

// TestVersityBackend runs sseproxy in front of versitygw (posix), a second
// S3 implementation, to show the proxy is not MinIO-specific. versitygw does
// not return user metadata in listings, so listing sizes come from the HEAD
// fallback: an encrypted object and a plaintext object of a size that is
// also a valid ciphertext size must both list their true sizes.
func TestVersityBackend(t *testing.T) {
	bin := testenv.Binary(t, "versitygw")
	vgw, err := testenv.StartVersityGW(t.TempDir(), bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vgw.Close)
	p := startProxy(t, proxyConfig{backend: vgw})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)

	sizes := []int{0, 1, 65536, 200_000}
	for i, size := range sizes {
		data := payload(size, uint64(i+1))
		key := fmt.Sprintf("enc-%d", size)
		if _, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(size), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatalf("PutObject(%s) = %v", key, err)
		}
		if got, err := getAll(c, bucket, key, minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
			t.Errorf("GET %s = %d bytes, %v", key, len(got), err)
		}
	}
	// A plaintext object written around the proxy, whose size is also the
	// ciphertext size of 65536 bytes: only its (absent) record tells.
	vc, err := minio.New(strings.TrimPrefix(vgw.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(vgw.AccessKey, vgw.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	plain := payload(65568, 9)
	if _, err := vc.PutObject(ctx, bucket, "legacy", bytes.NewReader(plain), int64(len(plain)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	stored, err := getAllFrom(vc, bucket, "enc-200000")
	if err != nil || bytes.Equal(stored[:64], payload(200_000, 4)[:64]) {
		t.Errorf("object at rest in versitygw is not ciphertext (%v)", err)
	}
	want := map[string]int64{"enc-0": 0, "enc-1": 1, "enc-65536": 65536, "enc-200000": 200_000, "legacy": 65568}
	for _, v1 := range []bool{false, true} {
		n := 0
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{UseV1: v1}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			if o.Size != want[o.Key] {
				t.Errorf("ListObjects(v1=%v) %s size = %d, want %d", v1, o.Key, o.Size, want[o.Key])
			}
			n++
		}
		if n != len(want) {
			t.Errorf("ListObjects(v1=%v) listed %d objects, want %d", v1, n, len(want))
		}
	}
	// Ranges and a multipart upload through versitygw.
	data := payload(200_000, 4)
	resp, body := rawRequest(t, p, http.MethodGet, "/"+bucket+"/enc-200000", http.Header{"Range": {"bytes=65530-131080"}}, nil)
	if resp.StatusCode != 206 || !bytes.Equal(body, data[65530:131081]) {
		t.Errorf("ranged GET = %d, %d bytes", resp.StatusCode, len(body))
	}
	big := payload(11<<20, 5)
	if _, err := c.PutObject(ctx, bucket, "mp", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
		t.Fatalf("multipart PutObject = %v", err)
	}
	if got, err := getAll(c, bucket, "mp", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, big) {
		t.Errorf("GET of the multipart object = %d bytes, %v", len(got), err)
	}
	resp, body = rawRequest(t, p, http.MethodGet, "/"+bucket+"/mp", http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", 5<<20-10, 5<<20+10)}}, nil)
	if resp.StatusCode != 206 || !bytes.Equal(body, big[5<<20-10:5<<20+11]) {
		t.Errorf("ranged GET across parts = %d, %d bytes", resp.StatusCode, len(body))
	}
}

func getAllFrom(c *minio.Client, bucket, key string) ([]byte, error) {
	return getAll(c, bucket, key, minio.GetObjectOptions{})
}

package test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sseproxy/sseproxy/sse"
)

func core(t *testing.T, host, ak, sk string) *minio.Core {
	t.Helper()
	c, err := minio.NewCore(host, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMultipartMinioGo: minio-go's multipart PutObject (5 MiB parts, 4
// concurrent) round-trips byte-exact; the object is ciphertext at rest; HEAD,
// listings and every range across part and package edges read exactly.
func TestMultipartMinioGo(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	const size = 4*(5<<20) + 3<<20 + 77
	data := payload(size, 21)
	info, err := c.PutObject(ctx, bucket, "mp", bytes.NewReader(data), size, minio.PutObjectOptions{PartSize: 5 << 20, NumThreads: 4})
	if err != nil {
		t.Fatalf("multipart PutObject = %v", err)
	}
	if !strings.HasSuffix(info.ETag, "-5") {
		t.Errorf("PutObject ETag = %q, want a 5-part multipart ETag", info.ETag)
	}
	got, err := getAll(c, bucket, "mp", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GET = %d bytes, %v; want %d identical", len(got), err, size)
	}
	st, err := c.StatObject(ctx, bucket, "mp", minio.StatObjectOptions{})
	if err != nil || st.Size != size || st.Metadata.Get("X-Amz-Server-Side-Encryption") != "AES256" {
		t.Errorf("HEAD = size %d sse %q %v; want %d AES256", st.Size, st.Metadata.Get("X-Amz-Server-Side-Encryption"), err, size)
	}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{}) {
		if o.Size != size {
			t.Errorf("listed size = %d, want %d", o.Size, size)
		}
	}
	stored, _ := getDirect(t, bucket, "mp")
	want, _ := sse.EncryptedSize(size)
	if int64(len(stored)) != want || bytes.Contains(stored, data[5<<20:5<<20+64]) {
		t.Errorf("stored %d bytes, want %d of ciphertext", len(stored), want)
	}
	const part = 5 << 20
	ranges := []struct{ off, n int64 }{
		{0, 1}, {part - 1, 1}, {part - 1, 2}, {part, 1}, {part - 65536, 3 * 65536},
		{part + 65535, 2}, {2*part - 10, part + 20}, {size - 1, 1}, {size - 100000, 100000}, {123, size - 123},
	}
	for _, r := range ranges {
		t.Run(fmt.Sprintf("range %d+%d", r.off, r.n), func(t *testing.T) {
			resp, body := rawRequest(t, p, http.MethodGet, "/"+bucket+"/mp",
				http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", r.off, r.off+r.n-1)}}, nil)
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[r.off:r.off+r.n]) {
				t.Errorf("GET range = %d, %d bytes; want 206 with plaintext[%d:%d]", resp.StatusCode, len(body), r.off, r.off+r.n)
			}
		})
	}
}

// TestMultipartStateless: parts uploaded out of order and concurrently
// through two proxy instances that share only the backend and the keyring
// form one readable object; the upload can be completed through either.
func TestMultipartStateless(t *testing.T) {
	a := startProxy(t, proxyConfig{})
	b := startProxy(t, proxyConfig{keyring: a.Keyring})
	ctx := context.Background()
	ca, cb := core(t, a.Host, clientAccessKey, clientSecretKey), core(t, b.Host, clientAccessKey, clientSecretKey)
	bucket := newBucket(t, a.client(t))
	const part = 5 << 20
	data := payload(3*part+1234, 31)
	id, err := ca.NewMultipartUpload(ctx, bucket, "stateless", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]minio.CompletePart, 4)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, n := range []int{4, 2, 3, 1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ca
			if n%2 == 0 {
				c = cb
			}
			chunk := data[(n-1)*part : min(n*part, len(data))]
			p, err := c.PutObjectPart(ctx, bucket, "stateless", id, n, bytes.NewReader(chunk), int64(len(chunk)), minio.PutObjectPartOptions{})
			if err != nil {
				errs <- fmt.Errorf("part %d: %w", n, err)
				return
			}
			parts[n-1] = minio.CompletePart{PartNumber: n, ETag: p.ETag}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lp, err := cb.ListObjectParts(ctx, bucket, "stateless", id, 0, 100)
	if err != nil || len(lp.ObjectParts) != 4 || lp.ObjectParts[0].Size != part || lp.ObjectParts[3].Size != 1234 {
		t.Errorf("ListParts = %+v, %v; want 4 parts with plaintext sizes", lp.ObjectParts, err)
	}
	if _, err := cb.CompleteMultipartUpload(ctx, bucket, "stateless", id, parts, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("Complete via the second proxy = %v", err)
	}
	got, err := getAll(a.client(t), bucket, "stateless", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GET = %d bytes, %v; want %d identical", len(got), err, len(data))
	}
}

// TestMultipartErrors: S3's errors for bad completions, aborts that leave
// nothing, layouts sseproxy cannot map, and SSE headers on UploadPart.
func TestMultipartErrors(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	ctx := context.Background()
	c := core(t, p.Host, clientAccessKey, clientSecretKey)
	bucket := newBucket(t, p.client(t))

	// Unaligned non-last part: refused at completion with a clear InvalidPart.
	id, err := c.NewMultipartUpload(ctx, bucket, "odd", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	odd := payload(5_000_000, 1)
	p1, err := c.PutObjectPart(ctx, bucket, "odd", id, 1, bytes.NewReader(odd), int64(len(odd)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.PutObjectPart(ctx, bucket, "odd", id, 2, bytes.NewReader(odd[:10]), 10, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CompleteMultipartUpload(ctx, bucket, "odd", id, []minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}, {PartNumber: 2, ETag: p2.ETag}}, minio.PutObjectOptions{})
	if minio.ToErrorResponse(err).Code != "InvalidPart" {
		t.Errorf("Complete with a 5,000,000-byte first part = %v, want InvalidPart", err)
	}
	_, err = c.CompleteMultipartUpload(ctx, bucket, "odd", id, []minio.CompletePart{{PartNumber: 2, ETag: p2.ETag}, {PartNumber: 1, ETag: p1.ETag}}, minio.PutObjectOptions{})
	if minio.ToErrorResponse(err).Code != "InvalidPartOrder" {
		t.Errorf("Complete with parts out of order = %v, want InvalidPartOrder", err)
	}
	// UploadPart does not take the SSE header.
	resp, body := rawRequest(t, p, http.MethodPut, "/"+bucket+"/odd?partNumber=3&uploadId="+id, http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}}, []byte("x"))
	if resp.StatusCode != 400 || errorCode(body) != "InvalidArgument" {
		t.Errorf("UploadPart with SSE header = %d %s, want 400 InvalidArgument", resp.StatusCode, errorCode(body))
	}
	// Abort leaves nothing behind.
	if err := c.AbortMultipartUpload(ctx, bucket, "odd", id); err != nil {
		t.Fatal(err)
	}
	res, err := c.ListMultipartUploads(ctx, bucket, "", "", "", "", 100)
	if err != nil || len(res.Uploads) != 0 {
		t.Errorf("after abort ListMultipartUploads = %+v, %v; want none", res.Uploads, err)
	}
	if _, err := c.PutObjectPart(ctx, bucket, "odd", id, 1, bytes.NewReader(odd), int64(len(odd)), minio.PutObjectPartOptions{}); minio.ToErrorResponse(err).Code != "NoSuchUpload" {
		t.Errorf("UploadPart after abort = %v, want NoSuchUpload", err)
	}
	// A bare backend upload ID would let plaintext parts through: refused.
	bare := strings.SplitN(strings.TrimPrefix(id, "sse1."), ".", 2)[1]
	if _, err := c.PutObjectPart(ctx, bucket, "odd", bare, 1, bytes.NewReader(odd), int64(len(odd)), minio.PutObjectPartOptions{}); minio.ToErrorResponse(err).Code != "NoSuchUpload" {
		t.Errorf("UploadPart with a key-less upload ID = %v, want NoSuchUpload", err)
	}
	if _, err := c.StatObject(ctx, bucket, "odd", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("an aborted upload left an object: %v", err)
	}
}

// TestMultipartTamper: a multipart object rebuilt in the backend with two
// parts swapped, or with a part dropped, fails to read.
func TestMultipartTamper(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	ctx := context.Background()
	c := p.client(t)
	bucket := newBucket(t, c)
	const part = 5 << 20
	data := payload(3*part+500, 41)
	if _, err := c.PutObject(ctx, bucket, "orig", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: part}); err != nil {
		t.Fatal(err)
	}
	stored, meta := getDirect(t, bucket, "orig")
	cp, _ := sse.EncryptedSize(part)
	pieces := [][]byte{stored[:cp], stored[cp : 2*cp], stored[2*cp : 3*cp], stored[3*cp:]}
	d := core(t, strings.TrimPrefix(backendServer.Endpoint, "http://"), backendServer.AccessKey, backendServer.SecretKey)
	rebuild := func(name string, wantOK bool, order ...int) {
		t.Helper()
		id, err := d.NewMultipartUpload(ctx, bucket, "orig", minio.PutObjectOptions{UserMetadata: meta})
		if err != nil {
			t.Fatal(err)
		}
		var done []minio.CompletePart
		for i, k := range order {
			pp, err := d.PutObjectPart(ctx, bucket, "orig", id, i+1, bytes.NewReader(pieces[k]), int64(len(pieces[k])), minio.PutObjectPartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			done = append(done, minio.CompletePart{PartNumber: i + 1, ETag: pp.ETag})
		}
		if _, err := d.CompleteMultipartUpload(ctx, bucket, "orig", id, done, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := getAll(c, bucket, "orig", minio.GetObjectOptions{})
		if wantOK {
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s: GET = %d bytes, %v; want the original", name, len(got), err)
			}
			return
		}
		if err == nil {
			t.Errorf("%s: GET succeeded", name)
		}
		if len(got) > part || !bytes.Equal(got, data[:len(got)]) {
			t.Errorf("%s: GET returned %d bytes, want only authentic bytes of the first part", name, len(got))
		}
	}
	rebuild("rebuilt in order", true, 0, 1, 2, 3)
	rebuild("parts 2 and 3 swapped", false, 0, 2, 1, 3)
	rebuild("part 2 dropped", false, 0, 2, 3)
}

// TestMultipartFailedPartRetry: a part upload that fails (a wrong
// Content-MD5) leaves the earlier good upload of that part number usable.
func TestMultipartFailedPartRetry(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	ctx := context.Background()
	c := core(t, p.Host, clientAccessKey, clientSecretKey)
	bucket := newBucket(t, p.client(t))
	id, err := c.NewMultipartUpload(ctx, bucket, "retry", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good := payload(5<<20, 101)
	p1, err := c.PutObjectPart(ctx, bucket, "retry", id, 1, bytes.NewReader(good), int64(len(good)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bad := payload(5<<20, 102)
	resp, body := rawRequest(t, p, http.MethodPut, "/"+bucket+"/retry?partNumber=1&uploadId="+url.QueryEscape(id),
		http.Header{"Content-Md5": {b64(make([]byte, 16))}}, bad)
	if resp.StatusCode != 400 || errorCode(body) != "BadDigest" {
		t.Fatalf("UploadPart with a wrong Content-MD5 = %d %s, want 400 BadDigest", resp.StatusCode, errorCode(body))
	}
	last := []byte("tail")
	p2, err := c.PutObjectPart(ctx, bucket, "retry", id, 2, bytes.NewReader(last), int64(len(last)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, bucket, "retry", id, []minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}, {PartNumber: 2, ETag: p2.ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("Complete with the earlier good part = %v", err)
	}
	got, err := getAll(p.client(t), bucket, "retry", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, append(append([]byte{}, good...), last...)) {
		t.Errorf("GET = %d bytes, %v; want the good part and the tail", len(got), err)
	}
}

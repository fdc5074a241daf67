package test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

func copyTo(t *testing.T, c *minio.Client, bucket, dst, src string, opts minio.CopyDestOptions, srcOpts minio.CopySrcOptions) error {
	t.Helper()
	opts.Bucket, opts.Object = bucket, dst
	srcOpts.Bucket, srcOpts.Object = bucket, src
	_, err := c.CopyObject(context.Background(), opts, srcOpts)
	return err
}

// TestCopyObject covers the copy matrix: plaintext->encrypted,
// encrypted->plaintext, encrypted->encrypted under a new name with a new
// key, onto itself with new metadata, COPY keeping metadata, and
// conditional copies.
func TestCopyObject(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	plain := startProxy(t, proxyConfig{encryptionDefault: "none", keyring: p.Keyring})
	c, pc := p.client(t), plain.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	data := payload(300_000, 51)
	sum := md5.Sum(data)

	putDirect(t, bucket, "legacy", data, map[string]string{"Kind": "legacy"})
	if err := copyTo(t, c, bucket, "from-legacy", "legacy", minio.CopyDestOptions{}, minio.CopySrcOptions{}); err != nil {
		t.Fatalf("copy plaintext->encrypted = %v", err)
	}
	if stored, meta := getDirect(t, bucket, "from-legacy"); bytes.Equal(stored, data) || meta["Sseproxy-Wrapped-Key"] == "" || meta["Kind"] != "legacy" {
		t.Errorf("copy of a plaintext object stored plaintext or lost metadata: %v", meta)
	}
	if _, err := c.PutObject(ctx, bucket, "enc", bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "text/x-test", UserMetadata: map[string]string{"Color": "red"}, SendContentMd5: true}); err != nil {
		t.Fatal(err)
	}
	if err := copyTo(t, pc, bucket, "to-plain", "enc", minio.CopyDestOptions{}, minio.CopySrcOptions{}); err != nil {
		t.Fatalf("copy encrypted->plaintext = %v", err)
	}
	if stored, meta := getDirect(t, bucket, "to-plain"); !bytes.Equal(stored, data) || meta["Sseproxy-Wrapped-Key"] != "" {
		t.Errorf("copy without SSE under default none did not store the plaintext")
	}
	if err := copyTo(t, c, bucket, "enc-copy", "enc", minio.CopyDestOptions{}, minio.CopySrcOptions{}); err != nil {
		t.Fatalf("copy encrypted->encrypted = %v", err)
	}
	// Same encryption, new name: the backend copies the ciphertext and the
	// KMS re-binds the data key to the new name.
	srcStored, srcMeta := getDirect(t, bucket, "enc")
	dstStored, dstMeta := getDirect(t, bucket, "enc-copy")
	if !bytes.Equal(srcStored, dstStored) || srcMeta["Sseproxy-Wrapped-Key"] == dstMeta["Sseproxy-Wrapped-Key"] {
		t.Errorf("encrypted copy under the same key: want the ciphertext copied server-side and the wrapped key re-bound")
	}
	// Moving the re-bound key back onto the source name does not unwrap:
	// the binding is to the new name.
	putDirect(t, bucket, "enc-swapped", srcStored, dstMeta)
	if _, err := getAll(c, bucket, "enc-swapped", minio.GetObjectOptions{}); err == nil {
		t.Errorf("a re-bound wrapped key unwrapped under another name")
	}
	// Another encryption (aws:kms is not the source's AES256) streams and
	// re-encrypts under a fresh key.
	if err := copyTo(t, c, bucket, "enc-kms", "enc", minio.CopyDestOptions{Encryption: mustKMS(t, "", nil)}, minio.CopySrcOptions{}); err != nil {
		t.Fatal(err)
	}
	if kmsStored, kmsMeta := getDirect(t, bucket, "enc-kms"); bytes.Equal(kmsStored, srcStored) || kmsMeta["Sseproxy-Alg"] != "aws:kms" {
		t.Errorf("copy to aws:kms kept the AES256 ciphertext; want a fresh encryption")
	}
	if got, err := getAll(c, bucket, "enc-kms", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
		t.Errorf("GET of the aws:kms copy = %d bytes, %v", len(got), err)
	}
	st, err := c.StatObject(ctx, bucket, "enc-copy", minio.StatObjectOptions{})
	if err != nil || st.ContentType != "text/x-test" || st.UserMetadata["Color"] != "red" || st.ETag != hex.EncodeToString(sum[:]) || st.Size != int64(len(data)) {
		t.Errorf("COPY directive: got type %q meta %v etag %q size %d, %v; want source's headers, MD5 ETag, size", st.ContentType, st.UserMetadata, st.ETag, st.Size, err)
	}
	for _, key := range []string{"from-legacy", "to-plain", "enc-copy"} {
		if got, err := getAll(c, bucket, key, minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
			t.Errorf("GET %s = %d bytes, %v; want the source's bytes", key, len(got), err)
		}
	}
	// Onto itself: refused without a change, allowed with REPLACE.
	if err := copyTo(t, c, bucket, "enc", "enc", minio.CopyDestOptions{}, minio.CopySrcOptions{}); minio.ToErrorResponse(err).Code != "InvalidRequest" {
		t.Errorf("copy onto itself without changes = %v, want InvalidRequest", err)
	}
	before, beforeMeta := getDirect(t, bucket, "enc")
	if err := copyTo(t, c, bucket, "enc", "enc", minio.CopyDestOptions{ReplaceMetadata: true, UserMetadata: map[string]string{"Color": "green"}}, minio.CopySrcOptions{}); err != nil {
		t.Fatalf("copy onto itself with REPLACE = %v", err)
	}
	// Same key binding, same encryption: only metadata changed, server-side.
	after, afterMeta := getDirect(t, bucket, "enc")
	if !bytes.Equal(before, after) || beforeMeta["Sseproxy-Wrapped-Key"] != afterMeta["Sseproxy-Wrapped-Key"] {
		t.Errorf("a metadata-only copy onto itself re-encrypted the object; want the stored bytes and wrapped key kept")
	}
	if st, err := c.StatObject(ctx, bucket, "enc", minio.StatObjectOptions{}); err != nil || st.UserMetadata["Color"] != "green" {
		t.Errorf("after REPLACE metadata = %v, %v; want Color=green", st.UserMetadata, err)
	}
	if got, err := getAll(c, bucket, "enc", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
		t.Errorf("GET after copy onto itself = %d bytes, %v", len(got), err)
	}
	// Explicit AES256 on a copy under default none encrypts.
	if err := copyTo(t, pc, bucket, "asked", "legacy", minio.CopyDestOptions{Encryption: encrypt.NewSSE()}, minio.CopySrcOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, meta := getDirect(t, bucket, "asked"); meta["Sseproxy-Wrapped-Key"] == "" {
		t.Errorf("copy with x-amz-server-side-encryption: AES256 stored plaintext")
	}
	// Conditional copies.
	if err := copyTo(t, c, bucket, "cond", "legacy", minio.CopyDestOptions{}, minio.CopySrcOptions{MatchETag: "0123456789abcdef0123456789abcdef"}); minio.ToErrorResponse(err).Code != "PreconditionFailed" {
		t.Errorf("copy with failing x-amz-copy-source-if-match = %v, want PreconditionFailed", err)
	}
	if err := copyTo(t, c, bucket, "cond", "legacy", minio.CopyDestOptions{}, minio.CopySrcOptions{MatchETag: hex.EncodeToString(sum[:])}); err != nil {
		t.Errorf("copy with matching x-amz-copy-source-if-match = %v", err)
	}
	resp, body := rawRequest(t, p, http.MethodPut, "/"+bucket+"/x", http.Header{"X-Amz-Copy-Source": {"/" + bucket + "/missing"}}, nil)
	if resp.StatusCode != 404 || errorCode(body) != "NoSuchKey" {
		t.Errorf("copy of a missing source = %d %s, want 404 NoSuchKey", resp.StatusCode, errorCode(body))
	}
}

// TestMultipartCopyAndParts: UploadPartCopy with source ranges builds an
// encrypted multipart object from an encrypted multipart source; GET and
// HEAD ?partNumber=N serve exactly part N.
func TestMultipartCopyAndParts(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	const part = 5 << 20
	data := payload(2*part+777, 61)
	if _, err := c.PutObject(ctx, bucket, "src", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: part}); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		resp, body := rawRequest(t, p, http.MethodGet, "/"+bucket+"/src?partNumber="+strconv.Itoa(n), nil, nil)
		want := data[(n-1)*part : min(n*part, len(data))]
		if resp.StatusCode != 206 || !bytes.Equal(body, want) || resp.Header.Get("X-Amz-Mp-Parts-Count") != "3" {
			t.Errorf("GET ?partNumber=%d = %d, %d bytes, parts %q; want 206 with part bytes, 3 parts", n, resp.StatusCode, len(body), resp.Header.Get("X-Amz-Mp-Parts-Count"))
		}
		resp, _ = rawRequest(t, p, http.MethodHead, "/"+bucket+"/src?partNumber="+strconv.Itoa(n), nil, nil)
		if resp.ContentLength != int64(len(want)) {
			t.Errorf("HEAD ?partNumber=%d Content-Length = %d, want %d", n, resp.ContentLength, len(want))
		}
	}
	// A copy under the same encryption is server-side, part by part: the
	// ciphertext and part layout are the source's, the key re-bound.
	if err := copyTo(t, c, bucket, "src-copy", "src", minio.CopyDestOptions{}, minio.CopySrcOptions{}); err != nil {
		t.Fatalf("copy of a multipart object = %v", err)
	}
	srcStored, _ := getDirect(t, bucket, "src")
	if copyStored, _ := getDirect(t, bucket, "src-copy"); !bytes.Equal(copyStored, srcStored) {
		t.Errorf("copy of a multipart object under the same encryption was re-encrypted; want a server-side part copy")
	}
	if got, err := getAll(c, bucket, "src-copy", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
		t.Errorf("GET of the multipart copy = %d bytes, %v", len(got), err)
	}
	if resp, body := rawRequest(t, p, http.MethodGet, "/"+bucket+"/src-copy?partNumber=2", nil, nil); resp.StatusCode != 206 || !bytes.Equal(body, data[part:2*part]) {
		t.Errorf("GET ?partNumber=2 of the copy = %d, %d bytes; want part 2", resp.StatusCode, len(body))
	}
	if resp, body := rawRequest(t, p, http.MethodGet, "/"+bucket+"/src?partNumber=4", nil, nil); resp.StatusCode != 416 || errorCode(body) != "InvalidPartNumber" {
		t.Errorf("GET ?partNumber=4 = %d %s, want 416 InvalidPartNumber", resp.StatusCode, errorCode(body))
	}
	// Rebuild the object from ranges of itself, in a different part size.
	cc := core(t, p.Host, clientAccessKey, clientSecretKey)
	id, err := cc.NewMultipartUpload(ctx, bucket, "dst", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const newPart = 6 << 20
	var parts []minio.CompletePart
	for n, off := 1, 0; off < len(data); n, off = n+1, off+newPart {
		length := min(newPart, len(data)-off)
		cp, err := cc.CopyObjectPart(ctx, bucket, "src", bucket, "dst", id, n, int64(off), int64(length), nil)
		if err != nil {
			t.Fatalf("UploadPartCopy %d = %v", n, err)
		}
		parts = append(parts, cp)
	}
	if _, err := cc.CompleteMultipartUpload(ctx, bucket, "dst", id, parts, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := getAll(c, bucket, "dst", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
		t.Errorf("GET of the part-copied object = %d bytes, %v", len(got), err)
	}
	if stored, _ := getDirect(t, bucket, "dst"); bytes.Contains(stored, data[:64]) {
		t.Errorf("part-copied object stored as plaintext")
	}
}

// TestCopyLarge copies an object over 5 GiB, which the proxy stores as a
// multipart upload. It moves ~11 GiB through the proxy, so it runs only with
// SSEPROXY_LARGE_TESTS=1.
func TestCopyLarge(t *testing.T) {
	if os.Getenv("SSEPROXY_LARGE_TESTS") != "1" {
		t.Skip("set SSEPROXY_LARGE_TESTS=1 to copy a 5.1 GiB object")
	}
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	const size = 5<<30 + 100<<20
	src := io.LimitReader(&patternReader{}, size)
	if _, err := c.PutObject(ctx, bucket, "big", src, size, minio.PutObjectOptions{PartSize: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := copyTo(t, c, bucket, "big-copy", "big", minio.CopyDestOptions{}, minio.CopySrcOptions{}); err != nil {
		t.Fatalf("copy of a 5.1 GiB object = %v", err)
	}
	obj, err := c.GetObject(ctx, bucket, "big-copy", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	want, got := md5.New(), md5.New()
	if _, err := io.Copy(want, io.LimitReader(&patternReader{}, size)); err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(got, obj); err != nil || n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Errorf("GET of the copy = %d bytes, %v; want %d identical", n, err, int64(size))
	}
}

// patternReader yields an endless deterministic byte pattern.
type patternReader struct{ n uint64 }

func (r *patternReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.n*2654435761>>13) ^ byte(r.n>>20)
		r.n++
	}
	return len(p), nil
}

package test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/sseproxy/sseproxy/sse"
)

// TestRoundTripSizes: objects of boundary sizes up to 100 MiB come back
// byte-exact, are stored as ciphertext of the format's size, and HEAD and
// listings report plaintext sizes.
func TestRoundTripSizes(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	sizes := []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 3<<20 + 17, 100 << 20}
	for i, size := range sizes {
		key := fmt.Sprintf("dir/obj-%09d", size)
		data := payload(size, uint64(i+1))
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			info, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(size),
				minio.PutObjectOptions{DisableMultipart: true, ContentType: "application/x-test", UserMetadata: map[string]string{"Color": "blue"}})
			if err != nil {
				t.Fatalf("PutObject = %v", err)
			}
			if info.Size != int64(size) {
				t.Errorf("PutObject size = %d, want %d", info.Size, size)
			}
			got, err := getAll(c, bucket, key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatalf("GetObject = %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("GetObject returned %d bytes that differ from the %d written", len(got), len(data))
			}
			st, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st.Size != int64(size) || st.ContentType != "application/x-test" || st.UserMetadata["Color"] != "blue" {
				t.Errorf("StatObject = size %d type %q meta %v, want %d application/x-test Color=blue", st.Size, st.ContentType, st.UserMetadata, size)
			}
			for name := range st.UserMetadata {
				if strings.HasPrefix(strings.ToLower(name), "sseproxy") {
					t.Errorf("StatObject shows internal metadata %q", name)
				}
			}
			if st.Metadata.Get("X-Amz-Server-Side-Encryption") != "AES256" {
				t.Errorf("HEAD x-amz-server-side-encryption = %q, want AES256", st.Metadata.Get("X-Amz-Server-Side-Encryption"))
			}
			// At rest: ciphertext of exactly the format's size, key in metadata.
			stored, meta := getDirect(t, bucket, key)
			want, _ := sse.EncryptedSize(int64(size))
			if int64(len(stored)) != want {
				t.Errorf("stored size = %d, want EncryptedSize(%d) = %d", len(stored), size, want)
			}
			if size >= 16 && bytes.Contains(stored, data[:16]) {
				t.Errorf("stored object contains plaintext")
			}
			if meta["Sseproxy-Wrapped-Key"] == "" {
				t.Errorf("stored metadata %v lacks the wrapped key", meta)
			}
		})
	}
	for _, v1 := range []bool{false, true} {
		n := 0
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "dir/", Recursive: true, UseV1: v1}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			var size int
			fmt.Sscanf(strings.TrimPrefix(o.Key, "dir/obj-"), "%d", &size)
			if o.Size != int64(size) {
				t.Errorf("ListObjects(v1=%v) %s size = %d, want %d", v1, o.Key, o.Size, size)
			}
			n++
		}
		if n != len(sizes) {
			t.Errorf("ListObjects(v1=%v) listed %d objects, want %d", v1, n, len(sizes))
		}
	}
}

// TestRanges: single ranges of every shape return exactly the plaintext
// bytes; unsatisfiable ones are 416 InvalidRange.
func TestRanges(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	bucket := newBucket(t, c)
	const size = 3*65536 + 100
	data := payload(size, 7)
	if _, err := c.PutObject(context.Background(), bucket, "r", bytes.NewReader(data), size, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		header     string
		start, end int // expected plaintext window [start, end)
	}{
		{"first byte", "bytes=0-0", 0, 1},
		{"first package", "bytes=0-65535", 0, 65536},
		{"across boundary", "bytes=65535-65536", 65535, 65537},
		{"second package start", "bytes=65536-65536", 65536, 65537},
		{"middle span", "bytes=1000-150000", 1000, 150001},
		{"last byte", fmt.Sprintf("bytes=%d-%d", size-1, size-1), size - 1, size},
		{"open ended", "bytes=131072-", 131072, size},
		{"end past size", fmt.Sprintf("bytes=196000-%d", size+500), 196000, size},
		{"suffix", "bytes=-100", size - 100, size},
		{"suffix longer than object", fmt.Sprintf("bytes=-%d", size+10), 0, size},
		{"whole", fmt.Sprintf("bytes=0-%d", size-1), 0, size},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawRequest(t, p, http.MethodGet, "/"+bucket+"/r", http.Header{"Range": {tt.header}}, nil)
			if resp.StatusCode != http.StatusPartialContent {
				t.Fatalf("GET Range %s = %d %s, want 206", tt.header, resp.StatusCode, errorCode(body))
			}
			if !bytes.Equal(body, data[tt.start:tt.end]) {
				t.Fatalf("GET Range %s returned %d bytes, want plaintext[%d:%d]", tt.header, len(body), tt.start, tt.end)
			}
			wantCR := fmt.Sprintf("bytes %d-%d/%d", tt.start, tt.end-1, size)
			if cr := resp.Header.Get("Content-Range"); cr != wantCR {
				t.Errorf("Content-Range = %q, want %q", cr, wantCR)
			}
		})
	}
	for _, h := range []string{fmt.Sprintf("bytes=%d-", size), fmt.Sprintf("bytes=%d-%d", size+5, size+10)} {
		resp, body := rawRequest(t, p, http.MethodGet, "/"+bucket+"/r", http.Header{"Range": {h}}, nil)
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable || errorCode(body) != "InvalidRange" {
			t.Errorf("GET Range %s = %d %s, want 416 InvalidRange", h, resp.StatusCode, errorCode(body))
		}
	}
}

// TestConditionalGet: If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since answer as S3 does, with the ETag clients see.
func TestConditionalGet(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	bucket := newBucket(t, c)
	data := []byte("conditional body")
	sum := md5.Sum(data)
	// minio-go sends Content-MD5 when asked: the ETag is then the plaintext MD5, as AWS's for SSE-S3.
	info, err := c.PutObject(context.Background(), bucket, "c", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true, SendContentMd5: true})
	if err != nil {
		t.Fatal(err)
	}
	if info.ETag != hex.EncodeToString(sum[:]) {
		t.Errorf("PutObject ETag = %q, want the plaintext MD5 %x", info.ETag, sum)
	}
	etag := `"` + info.ETag + `"`
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name   string
		header http.Header
		status int
	}{
		{"if-match ok", http.Header{"If-Match": {etag}}, 200},
		{"if-match star", http.Header{"If-Match": {"*"}}, 200},
		{"if-match wrong", http.Header{"If-Match": {`"0123"`}}, 412},
		{"if-none-match hit", http.Header{"If-None-Match": {etag}}, 304},
		{"if-none-match miss", http.Header{"If-None-Match": {`"0123"`}}, 200},
		{"if-modified-since future", http.Header{"If-Modified-Since": {future}}, 304},
		{"if-modified-since past", http.Header{"If-Modified-Since": {past}}, 200},
		{"if-unmodified-since past", http.Header{"If-Unmodified-Since": {past}}, 412},
		{"if-unmodified-since future", http.Header{"If-Unmodified-Since": {future}}, 200},
		{"if-match wins over if-unmodified-since", http.Header{"If-Match": {etag}, "If-Unmodified-Since": {past}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp, body := rawRequest(t, p, method, "/"+bucket+"/c", tt.header, nil)
				if resp.StatusCode != tt.status {
					t.Errorf("%s = %d, want %d", method, resp.StatusCode, tt.status)
				}
				if method == http.MethodGet && tt.status == 200 && !bytes.Equal(body, data) {
					t.Errorf("GET body = %q, want %q", body, data)
				}
				if tt.status == 304 && resp.Header.Get("ETag") != etag {
					t.Errorf("304 ETag = %q, want %q", resp.Header.Get("ETag"), etag)
				}
			}
		})
	}
	st, err := c.StatObject(context.Background(), bucket, "c", minio.StatObjectOptions{})
	if err != nil || st.ETag != info.ETag {
		t.Errorf("StatObject ETag = %q, %v; want %q", st.ETag, err, info.ETag)
	}
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{}) {
		if o.ETag != info.ETag {
			t.Errorf("listed ETag = %q, want %q", o.ETag, info.ETag)
		}
	}
}

// TestTamperDetected: a flipped ciphertext byte or a wrapped key swapped
// between objects makes GET fail without returning the altered data.
func TestTamperDetected(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	const size = 5*65536 + 10
	a, b := payload(size, 1), payload(size, 2)
	for key, data := range map[string][]byte{"a": a, "b": b, "flip": a} {
		if _, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), size, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
	}
	// Flip one byte in the third package and write it back with MinIO's credentials.
	stored, meta := getDirect(t, bucket, "flip")
	stored[2*sse.PackageSize+100] ^= 1
	putDirect(t, bucket, "flip", stored, meta)
	got, err := getAll(c, bucket, "flip", minio.GetObjectOptions{})
	if err == nil {
		t.Fatalf("GET of tampered object succeeded")
	}
	if len(got) > 2*sse.PayloadSize || !bytes.Equal(got, a[:len(got)]) {
		t.Errorf("GET of tampered object returned %d bytes; want only authentic bytes before the bad package", len(got))
	}
	// A range inside the tampered package fails before any byte is sent.
	resp, body := rawRequest(t, p, http.MethodGet, "/"+bucket+"/flip", http.Header{"Range": {"bytes=131100-131200"}}, nil)
	if resp.StatusCode != http.StatusInternalServerError || bytes.Contains(body, a[131100:131200]) {
		t.Errorf("ranged GET of tampered package = %d, want 500 without data", resp.StatusCode)
	}
	// A range of an untouched package still reads.
	resp, body = rawRequest(t, p, http.MethodGet, "/"+bucket+"/flip", http.Header{"Range": {"bytes=0-99"}}, nil)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, a[:100]) {
		t.Errorf("ranged GET of untouched package = %d, want 206 with plaintext", resp.StatusCode)
	}

	// Swap the wrapped keys of a and b: both reads fail (the key is bound to the object name).
	_, metaA := getDirect(t, bucket, "a")
	storedB, metaB := getDirect(t, bucket, "b")
	metaB["Sseproxy-Wrapped-Key"] = metaA["Sseproxy-Wrapped-Key"]
	putDirect(t, bucket, "b", storedB, metaB)
	resp, body = rawRequest(t, p, http.MethodGet, "/"+bucket+"/b", nil, nil)
	if resp.StatusCode != http.StatusInternalServerError || len(body) > 1000 {
		t.Errorf("GET with swapped wrapped key = %d (%d bytes), want 500 error", resp.StatusCode, len(body))
	}
	// Copy a's ciphertext and metadata onto another name: still fails.
	storedA, metaA := getDirect(t, bucket, "a")
	putDirect(t, bucket, "a-copy", storedA, metaA)
	if _, err := getAll(c, bucket, "a-copy", minio.GetObjectOptions{}); err == nil {
		t.Errorf("GET of an object moved to another name succeeded")
	}
	// Truncated at a package boundary: fails.
	putDirect(t, bucket, "trunc", storedA[:2*sse.PackageSize], metaA)
	if _, err := getAll(c, bucket, "trunc", minio.GetObjectOptions{}); err == nil {
		t.Errorf("GET of a truncated object succeeded")
	}
}

// TestPlaintextObjects: objects written to the backend without the proxy
// read back as they are, with their own sizes in HEAD and listings; and
// encryption.default = "none" stores plaintext.
func TestPlaintextObjects(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	data := payload(65568, 3) // a size that is also a valid ciphertext size
	putDirect(t, bucket, "legacy", data, map[string]string{"Origin": "direct"})
	got, err := getAll(c, bucket, "legacy", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GET legacy object = %d bytes, %v; want the stored bytes", len(got), err)
	}
	st, err := c.StatObject(ctx, bucket, "legacy", minio.StatObjectOptions{})
	if err != nil || st.Size != int64(len(data)) || st.Metadata.Get("X-Amz-Server-Side-Encryption") != "" {
		t.Errorf("HEAD legacy = size %d sse %q err %v; want %d, no SSE header", st.Size, st.Metadata.Get("X-Amz-Server-Side-Encryption"), err, len(data))
	}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{}) {
		if o.Key == "legacy" && o.Size != int64(len(data)) {
			t.Errorf("listed legacy size = %d, want %d", o.Size, len(data))
		}
	}
	plain := startProxy(t, proxyConfig{encryptionDefault: "none"})
	pc := plain.client(t)
	if _, err := pc.PutObject(ctx, bucket, "plain", bytes.NewReader(data[:1000]), 1000, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	stored, meta := getDirect(t, bucket, "plain")
	if !bytes.Equal(stored, data[:1000]) || meta["Sseproxy-Wrapped-Key"] != "" {
		t.Errorf("default none stored %d bytes with meta %v, want the plaintext without sseproxy metadata", len(stored), meta)
	}
	// An explicit AES256 header still encrypts under default none.
	if _, err := pc.PutObject(ctx, bucket, "asked", bytes.NewReader(data[:1000]), 1000,
		minio.PutObjectOptions{DisableMultipart: true, ServerSideEncryption: encrypt.NewSSE()}); err != nil {
		t.Fatal(err)
	}
	if stored, _ := getDirect(t, bucket, "asked"); len(stored) != 1032 {
		t.Errorf("AES256 under default none stored %d bytes, want 1032 of ciphertext", len(stored))
	}
}

// TestFailedPutKeepsPreviousVersion: a PUT whose body fails a digest, or whose
// client disconnects midway, leaves the earlier object intact.
func TestFailedPutKeepsPreviousVersion(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	bucket := newBucket(t, c)
	v1 := payload(200000, 11)
	if _, err := c.PutObject(context.Background(), bucket, "k", bytes.NewReader(v1), int64(len(v1)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	v2 := payload(200000, 12)
	wrongMD5 := md5.Sum([]byte("something else"))
	resp, body := rawRequest(t, p, http.MethodPut, "/"+bucket+"/k", http.Header{"Content-Md5": {b64(wrongMD5[:])}}, v2)
	if resp.StatusCode != http.StatusBadRequest || errorCode(body) != "BadDigest" {
		t.Errorf("PUT with wrong Content-MD5 = %d %s, want 400 BadDigest", resp.StatusCode, errorCode(body))
	}
	// Disconnect halfway through an UNSIGNED-PAYLOAD body.
	abortedPut(t, p, bucket, "k", v2)
	got, err := getAll(c, bucket, "k", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, v1) {
		t.Errorf("after failed PUTs GET = %d bytes, %v; want the first version", len(got), err)
	}
}

// TestSignatureErrors: wrong secrets and unknown keys are refused with S3's codes.
func TestSignatureErrors(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	bucket := newBucket(t, p.client(t))
	tests := []struct {
		name, ak, sk, code string
	}{
		{"wrong secret", clientAccessKey, "not-the-secret", "SignatureDoesNotMatch"},
		{"unknown key", "nobody", "whatever-secret", "InvalidAccessKeyId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newClient(t, p.Host, tt.ak, tt.sk).PutObject(context.Background(), bucket, "x", strings.NewReader("x"), 1, minio.PutObjectOptions{})
			if minio.ToErrorResponse(err).Code != tt.code || minio.ToErrorResponse(err).StatusCode != 403 {
				t.Errorf("PutObject = %v, want 403 %s", err, tt.code)
			}
		})
	}
	resp, err := http.Get(p.Endpoint + "/" + bucket + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || errorCode(body) != "AccessDenied" {
		t.Errorf("anonymous GET = %d %s, want 403 AccessDenied", resp.StatusCode, errorCode(body))
	}
}

// TestDamagedObjectListing: an object whose stored size no plaintext
// encrypts to fails to read, but does not break the bucket's listing.
func TestDamagedObjectListing(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	for _, k := range []string{"a", "b"} {
		if _, err := c.PutObject(ctx, bucket, k, bytes.NewReader(payload(1000, 1)), 1000, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	stored, meta := getDirect(t, bucket, "b")
	putDirect(t, bucket, "b", stored[:20], meta) // 20 bytes: shorter than any package
	var keys []string
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{}) {
		if o.Err != nil {
			t.Fatalf("listing with a damaged object = %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, ",") != "a,b" {
		t.Errorf("listed %v, want a and b", keys)
	}
	if _, err := getAll(c, bucket, "b", minio.GetObjectOptions{}); err == nil {
		t.Errorf("GET of the damaged object succeeded")
	}
}

package devstore_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/sseproxy/sseproxy/devstore"
)

const bucket = "dev-bucket"

// start starts a store on dir, closed when the test ends.
func start(t *testing.T, dir string) *devstore.Store {
	t.Helper()
	s, err := devstore.Start(devstore.Options{Dir: dir})
	if err != nil {
		t.Fatalf("Start(%q) error: %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client returns a minio-go client for s, with credentials the store has
// never heard of.
func client(t *testing.T, s *devstore.Store) *minio.Client {
	t.Helper()
	u, err := url.Parse(s.Endpoint())
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
		t.Fatalf("Endpoint() = %q, want http://127.0.0.1:PORT", s.Endpoint())
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4("any-access-key", "any-secret-key", ""),
		Region: "us-east-1",
		// Lets PutObjectOptions.Checksum add aws-chunked trailers.
		TrailingHeaders: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withBucket returns a client of a fresh store holding an empty bucket.
func withBucket(t *testing.T) *minio.Client {
	t.Helper()
	c := client(t, start(t, t.TempDir()))
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	return c
}

func put(t *testing.T, c *minio.Client, key string, data []byte, opts minio.PutObjectOptions) {
	t.Helper()
	if _, err := c.PutObject(t.Context(), bucket, key, bytes.NewReader(data), int64(len(data)), opts); err != nil {
		t.Fatalf("PutObject(%q): %v", key, err)
	}
}

func get(t *testing.T, c *minio.Client, key string, opts minio.GetObjectOptions) []byte {
	t.Helper()
	obj, err := c.GetObject(t.Context(), bucket, key, opts)
	if err != nil {
		t.Fatalf("GetObject(%q): %v", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("GetObject(%q) read: %v", key, err)
	}
	return data
}

// userMeta returns key's user metadata with lower-cased names: gofakes3
// returns names Canonical-Cased, S3 lower-cased; neither matters to HTTP.
func userMeta(t *testing.T, c *minio.Client, key string) map[string]string {
	t.Helper()
	info, err := c.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject(%q): %v", key, err)
	}
	m := map[string]string{}
	for k, v := range info.UserMetadata {
		m[strings.ToLower(k)] = v
	}
	return m
}

func list(t *testing.T, c *minio.Client, opts minio.ListObjectsOptions) []string {
	t.Helper()
	var keys []string
	for info := range c.ListObjects(t.Context(), bucket, opts) {
		if info.Err != nil {
			t.Fatalf("ListObjects(%+v): %v", opts, info.Err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

func errCode(err error) string { return minio.ToErrorResponse(err).Code }

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	return b
}

func TestObjectLifecycle(t *testing.T) {
	c := withBucket(t)
	ctx := t.Context()
	data := []byte("hello, development store")
	put(t, c, "dir/hello.txt", data, minio.PutObjectOptions{
		ContentType:  "text/plain",
		UserMetadata: map[string]string{"Color": "blue", "x-sseproxy-Mixed": "MiXeD value"},
	})

	info, err := c.StatObject(ctx, bucket, "dir/hello.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	if info.Size != int64(len(data)) || info.ContentType != "text/plain" {
		t.Errorf("StatObject = size %d, type %q, want %d, text/plain", info.Size, info.ContentType, len(data))
	}
	want := map[string]string{"color": "blue", "x-sseproxy-mixed": "MiXeD value"}
	if got := userMeta(t, c, "dir/hello.txt"); !equalMaps(got, want) {
		t.Errorf("user metadata = %v, want %v (names compared case-insensitively)", got, want)
	}
	// Request headers must not come back as object metadata.
	for _, h := range []string{"X-Amz-Content-Sha256", "X-Amz-Date", "X-Amz-Decoded-Content-Length", "Authorization"} {
		if v := info.Metadata.Get(h); v != "" {
			t.Errorf("HEAD returned request header %s: %q", h, v)
		}
	}

	if got := get(t, c, "dir/hello.txt", minio.GetObjectOptions{}); !bytes.Equal(got, data) {
		t.Errorf("GetObject = %q, want %q", got, data)
	}
	if got := list(t, c, minio.ListObjectsOptions{Recursive: true}); !slices.Equal(got, []string{"dir/hello.txt"}) {
		t.Errorf("ListObjects = %q, want [dir/hello.txt]", got)
	}

	if err := c.RemoveObject(ctx, bucket, "dir/hello.txt", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("RemoveObject: %v", err)
	}
	if _, err := c.StatObject(ctx, bucket, "dir/hello.txt", minio.StatObjectOptions{}); errCode(err) != "NoSuchKey" {
		t.Errorf("StatObject after delete: error code %q, want NoSuchKey (%v)", errCode(err), err)
	}
	// The emptied directory is gone too: no phantom "dir/" prefix.
	if got := list(t, c, minio.ListObjectsOptions{}); len(got) != 0 {
		t.Errorf("ListObjects after delete = %q, want nothing", got)
	}
	if err := c.RemoveObject(ctx, bucket, "never-existed", minio.RemoveObjectOptions{}); err != nil {
		t.Errorf("RemoveObject(missing key) = %v, want nil as S3 does", err)
	}
}

func TestLargeObject(t *testing.T) {
	c := withBucket(t)
	data := randomBytes(10 << 20)
	const part = 5 << 20
	// Over plain HTTP minio-go sends aws-chunked bodies; a checksum adds a
	// trailer, signed or (without payload signing) unsigned.
	tests := []struct {
		name string
		opts minio.PutObjectOptions
	}{
		{"single put", minio.PutObjectOptions{}},
		{"single put, signed trailer", minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C}},
		{"single put, unsigned trailer", minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C, DisableContentSha256: true}},
		{"multipart", minio.PutObjectOptions{PartSize: part}},
		{"multipart, signed trailer", minio.PutObjectOptions{PartSize: part, Checksum: minio.ChecksumCRC32C}},
		{"multipart, unsigned trailer", minio.PutObjectOptions{PartSize: part, Checksum: minio.ChecksumCRC32C, DisableContentSha256: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "large/" + strings.NewReplacer(" ", "-", ",", "").Replace(tt.name)
			tt.opts.UserMetadata = map[string]string{"Part-Size": "x"}
			put(t, c, key, data, tt.opts)
			if got := get(t, c, key, minio.GetObjectOptions{}); !bytes.Equal(got, data) {
				t.Fatalf("GetObject(%q) returned %d bytes that differ from the %d put", key, len(got), len(data))
			}
			if got := userMeta(t, c, key)["part-size"]; got != "x" {
				t.Errorf("user metadata part-size = %q, want x", got)
			}
			var opts minio.GetObjectOptions
			start, end := int64(part-3), int64(part+4) // across the part boundary
			if err := opts.SetRange(start, end); err != nil {
				t.Fatal(err)
			}
			if got := get(t, c, key, opts); !bytes.Equal(got, data[start:end+1]) {
				t.Errorf("GetObject(%q, bytes=%d-%d) = %x, want %x", key, start, end, got, data[start:end+1])
			}
		})
	}
}

func TestRestartKeepsObjects(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	c := client(t, s)
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(1 << 20)
	put(t, c, "keep/me", data, minio.PutObjectOptions{UserMetadata: map[string]string{"Survives": "restart"}})
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}

	c = client(t, start(t, dir))
	if got := get(t, c, "keep/me", minio.GetObjectOptions{}); !bytes.Equal(got, data) {
		t.Errorf("GetObject after restart returned different bytes")
	}
	if got := userMeta(t, c, "keep/me")["survives"]; got != "restart" {
		t.Errorf("user metadata after restart = %q, want restart", got)
	}
}

func TestOverwriteReplacesMetadata(t *testing.T) {
	c := withBucket(t)
	put(t, c, "k", []byte("first, longer version"), minio.PutObjectOptions{UserMetadata: map[string]string{"Old": "1", "Both": "a"}})
	put(t, c, "k", []byte("second"), minio.PutObjectOptions{UserMetadata: map[string]string{"Both": "b"}})
	if got, want := userMeta(t, c, "k"), map[string]string{"both": "b"}; !equalMaps(got, want) {
		t.Errorf("metadata after overwrite = %v, want %v (gofakes3 alone merges the old)", got, want)
	}
	if got := get(t, c, "k", minio.GetObjectOptions{}); string(got) != "second" {
		t.Errorf("GetObject after overwrite = %q, want second", got)
	}
}

func TestCopyObject(t *testing.T) {
	c := withBucket(t)
	put(t, c, "src", []byte("payload"), minio.PutObjectOptions{ContentType: "text/x-src", UserMetadata: map[string]string{"Src": "1", "Shared": "src"}})
	tests := []struct {
		name     string
		dst      string
		replace  bool
		meta     map[string]string
		wantMeta map[string]string
	}{
		{"copy keeps source metadata", "dst-copy", false, map[string]string{"Ignored": "x"}, map[string]string{"src": "1", "shared": "src"}},
		{"replace takes only the request's", "dst-replace", true, map[string]string{"Shared": "new"}, map[string]string{"shared": "new"}},
		{"replace in place", "src-self", true, map[string]string{"Only": "this"}, map[string]string{"only": "this"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcKey := "src"
			if tt.dst == "src-self" {
				put(t, c, tt.dst, []byte("payload"), minio.PutObjectOptions{UserMetadata: map[string]string{"Src": "1"}})
				srcKey = tt.dst
			}
			_, err := c.CopyObject(t.Context(),
				minio.CopyDestOptions{Bucket: bucket, Object: tt.dst, UserMetadata: tt.meta, ReplaceMetadata: tt.replace},
				minio.CopySrcOptions{Bucket: bucket, Object: srcKey})
			if err != nil {
				t.Fatalf("CopyObject: %v", err)
			}
			if got := userMeta(t, c, tt.dst); !equalMaps(got, tt.wantMeta) {
				t.Errorf("metadata of %s = %v, want %v", tt.dst, got, tt.wantMeta)
			}
			if got := get(t, c, tt.dst, minio.GetObjectOptions{}); string(got) != "payload" {
				t.Errorf("GetObject(%s) = %q, want payload", tt.dst, got)
			}
		})
	}
}

func TestListing(t *testing.T) {
	c := withBucket(t)
	keys := []string{"a-c", "a/b", "a/c/d", "photos/2024/x.jpg", "photos/y.jpg", "pic", "z"}
	for _, k := range slices.Backward(keys) { // written out of order
		put(t, c, k, []byte(k), minio.PutObjectOptions{})
	}
	tests := []struct {
		name string
		opts minio.ListObjectsOptions
		want []string
	}{
		{"recursive is sorted", minio.ListObjectsOptions{Recursive: true}, keys},
		{"top level", minio.ListObjectsOptions{}, []string{"a-c", "a/", "photos/", "pic", "z"}},
		{"prefix ending mid-name", minio.ListObjectsOptions{Prefix: "pho"}, []string{"photos/"}},
		{"prefix directory", minio.ListObjectsOptions{Prefix: "photos/"}, []string{"photos/2024/", "photos/y.jpg"}},
		{"pages of two, v2", minio.ListObjectsOptions{Recursive: true, MaxKeys: 2}, keys},
		{"pages of one with prefixes, v2", minio.ListObjectsOptions{MaxKeys: 1}, []string{"a-c", "a/", "photos/", "pic", "z"}},
		{"pages of two, v1", minio.ListObjectsOptions{Recursive: true, MaxKeys: 2, UseV1: true}, keys},
		{"start after", minio.ListObjectsOptions{Recursive: true, StartAfter: "pic"}, []string{"z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := list(t, c, tt.opts)
			if !tt.opts.Recursive {
				// minio-go yields each page's keys, then its common prefixes.
				slices.Sort(got)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ListObjects(%+v) = %q, want %q", tt.opts, got, tt.want)
			}
		})
	}
}

func TestRejectedKeys(t *testing.T) {
	c := withBucket(t)
	put(t, c, "file", []byte("x"), minio.PutObjectOptions{})
	put(t, c, "dir/child", []byte("x"), minio.PutObjectOptions{})
	tests := []struct{ name, key string }{
		{"doubled slash", "a//b"},
		{"trailing slash", "folder/"},
		{"dot segment", "a/./b"},
		{"longer than 222 bytes", strings.Repeat("k", 223)},
		{"under a file", "file/child"},
		{"over a directory", "dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PutObject(t.Context(), bucket, tt.key, strings.NewReader("x"), 1, minio.PutObjectOptions{})
			if errCode(err) != "InvalidArgument" {
				t.Errorf("PutObject(%q) error code %q, want InvalidArgument (%v)", tt.key, errCode(err), err)
			}
		})
	}
	if got := list(t, c, minio.ListObjectsOptions{Recursive: true}); !slices.Equal(got, []string{"dir/child", "file"}) {
		t.Errorf("ListObjects after rejected puts = %q, want [dir/child file]", got)
	}
}

// TestConcurrentWriters puts, reads and deletes keys that share directories
// from several clients at once: deleting one key prunes directories another
// put may be about to use.
func TestConcurrentWriters(t *testing.T) {
	c := withBucket(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				key := fmt.Sprintf("shared/dir/w%d-%d", w, i)
				data := []byte(key)
				if _, err := c.PutObject(t.Context(), bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
					t.Errorf("PutObject(%q): %v", key, err)
					return
				}
				obj, err := c.GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
				if err == nil {
					var got []byte
					got, err = io.ReadAll(obj)
					obj.Close()
					if err == nil && !bytes.Equal(got, data) {
						t.Errorf("GetObject(%q) = %q, want %q", key, got, data)
					}
				}
				if err != nil {
					t.Errorf("GetObject(%q): %v", key, err)
				}
				if err := c.RemoveObject(t.Context(), bucket, key, minio.RemoveObjectOptions{}); err != nil {
					t.Errorf("RemoveObject(%q): %v", key, err)
				}
			}
		})
	}
	wg.Wait()
	if got := list(t, c, minio.ListObjectsOptions{}); len(got) != 0 {
		t.Errorf("ListObjects after all deletes = %q, want nothing", got)
	}
}

func TestStartRequiresDir(t *testing.T) {
	if s, err := devstore.Start(devstore.Options{}); err == nil || !strings.HasPrefix(err.Error(), "devstore: ") {
		if s != nil {
			s.Close()
		}
		t.Errorf("Start(Options{}) error = %v, want a devstore: error", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestBucketTagging: the store keeps bucket tags (gofakes3 has none), which
// the proxy uses for bucket encryption rules.
func TestBucketTagging(t *testing.T) {
	c := client(t, start(t, t.TempDir()))
	ctx := t.Context()
	if err := c.MakeBucket(ctx, "tagged", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketTagging(ctx, "tagged"); minio.ToErrorResponse(err).Code != "NoSuchTagSet" {
		t.Errorf("GetBucketTagging without tags = %v, want NoSuchTagSet", err)
	}
	tg, err := tags.MapToBucketTags(map[string]string{"sseproxy-sse": "aws:kms", "team": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetBucketTagging(ctx, "tagged", tg); err != nil {
		t.Fatalf("SetBucketTagging = %v", err)
	}
	got, err := c.GetBucketTagging(ctx, "tagged")
	if err != nil || got.ToMap()["sseproxy-sse"] != "aws:kms" || got.ToMap()["team"] != "a" {
		t.Errorf("GetBucketTagging = %v, %v; want the tags set", got, err)
	}
	if err := c.RemoveBucketTagging(ctx, "tagged"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketTagging(ctx, "tagged"); minio.ToErrorResponse(err).Code != "NoSuchTagSet" {
		t.Errorf("GetBucketTagging after removal = %v, want NoSuchTagSet", err)
	}
	if _, err := c.GetBucketTagging(ctx, "missing-bucket"); minio.ToErrorResponse(err).Code != "NoSuchBucket" {
		t.Errorf("GetBucketTagging of a missing bucket = %v, want NoSuchBucket", err)
	}
}

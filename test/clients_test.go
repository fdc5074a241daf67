package test

// The proxy under the tools people point at S3 every day: rclone, aws-cli's
// s3 sync and aws-sdk-go-v2's upload manager. Each test asserts what a user
// of the tool relies on: byte-exact round trips, plaintext sizes, a sync that
// converges (a second run transfers nothing), and ciphertext at rest.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sseproxy/sseproxy/test/testenv"
)

const mib = 1 << 20

// writeTree writes files (slash-separated relative path -> content) under dir.
func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// checkTree fails the test unless dir holds exactly the files of want, byte
// for byte.
func checkTree(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	got := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		got[name] = true
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if w, ok := want[name]; !ok {
			t.Errorf("%s: unexpected file %q (%d bytes)", dir, name, len(data))
		} else if !bytes.Equal(data, w) {
			t.Errorf("%s: %q = %d bytes that differ from the %d uploaded", dir, name, len(data), len(w))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if !got[name] {
			t.Errorf("%s: %q is missing", dir, name)
		}
	}
}

// checkEncryptedAtRest fails the test unless the backend holds key as
// ciphertext: not the plaintext, longer than it, with a wrapped key in its
// metadata.
func checkEncryptedAtRest(t *testing.T, bucket, key string, plain []byte) {
	t.Helper()
	stored, meta := getDirect(t, bucket, key)
	if len(stored) <= len(plain) || len(plain) > 0 && bytes.Equal(stored[:len(plain)], plain) {
		t.Errorf("%s/%s at rest: %d bytes for %d of plaintext, want longer ciphertext", bucket, key, len(stored), len(plain))
	}
	if len(plain) >= 16 && bytes.Contains(stored, plain[:16]) {
		t.Errorf("%s/%s at rest contains plaintext", bucket, key)
	}
	if meta["Sseproxy-Wrapped-Key"] == "" {
		t.Errorf("%s/%s at rest: metadata %v lacks Sseproxy-Wrapped-Key", bucket, key, meta)
	}
}

// toolEnv is the environment without variables of the given prefixes: no
// AWS_CA_BUNDLE (it breaks rclone), no user settings of the tool.
func toolEnv(dropPrefixes []string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !slices.ContainsFunc(dropPrefixes, func(p string) bool { return strings.HasPrefix(kv, p) }) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// rcloneCmd runs rclone 1.60 against the proxy as the remote "sse:",
// configured by environment variables only.
func rcloneCmd(t *testing.T, p *proxyServer, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testenv.Binary(t, "rclone"), append([]string{
		"--config", "/dev/null",
		// One try: a retried failure must not pass for success.
		"--retries", "1", "--low-level-retries", "1",
	}, args...)...)
	cmd.Env = toolEnv([]string{"AWS_", "RCLONE_"},
		"RCLONE_CONFIG_SSE_TYPE=s3",
		"RCLONE_CONFIG_SSE_PROVIDER=Other",
		"RCLONE_CONFIG_SSE_ACCESS_KEY_ID="+clientAccessKey,
		"RCLONE_CONFIG_SSE_SECRET_ACCESS_KEY="+clientSecretKey,
		"RCLONE_CONFIG_SSE_ENDPOINT="+p.Endpoint,
		"RCLONE_CONFIG_SSE_REGION=us-east-1",
	)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRclone: copy, check, sync (changed and deleted files), a no-op
// re-sync, multipart uploads and a download, all with rclone.
func TestRclone(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	bucket := newBucket(t, p.client(t))
	rclone := func(args ...string) string {
		t.Helper()
		out, err := rcloneCmd(t, p, args...)
		if err != nil {
			t.Fatalf("rclone %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	// Sizes around aws-cli's and our own part edges, and the small cases.
	// rclone uploads all of these in one PUT (its cutoff is 200 MiB).
	files := map[string][]byte{
		"empty":             {},
		"one":               payload(1, 1),
		"small/100k":        payload(100<<10, 2),
		"edge/8m-1":         payload(8*mib-1, 3),
		"edge/8m":           payload(8*mib, 4),
		"edge/8m+1":         payload(8*mib+1, 5),
		"big/30m":           payload(30*mib, 6),
		"names/a b+c~ü.txt": []byte("a name that needs escaping"),
	}
	src := t.TempDir()
	writeTree(t, src, files)
	remote := "sse:" + bucket + "/tree"

	rclone("copy", src, remote)
	checkRclone(t, p, src, remote)
	checkRcloneSizes(t, p, remote, files)
	checkEncryptedAtRest(t, bucket, "tree/big/30m", files["big/30m"])

	// Multipart: 5 MiB parts; a one-part upload and one whose last part is
	// a single byte. rclone keeps the MD5 in X-Amz-Meta-Md5chksum, which
	// check reads back with HEAD.
	mpFiles := map[string][]byte{"5m": payload(5*mib, 7), "10m+1": payload(10*mib+1, 8)}
	mpSrc := t.TempDir()
	writeTree(t, mpSrc, mpFiles)
	mpRemote := "sse:" + bucket + "/multipart"
	rclone("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", mpSrc, mpRemote)
	checkRclone(t, p, mpSrc, mpRemote)
	checkRcloneSizes(t, p, mpRemote, mpFiles)
	checkEncryptedAtRest(t, bucket, "multipart/10m+1", mpFiles["10m+1"])

	// Change one file (same size, new content and a later mtime), delete
	// one, add one: sync makes the bucket mirror the directory.
	changed := payload(8*mib, 40)
	files["edge/8m"] = changed
	delete(files, "one")
	files["new/added"] = payload(70000, 41)
	writeTree(t, src, map[string][]byte{"edge/8m": changed, "new/added": files["new/added"]})
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(src, "edge", "8m"), later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "one")); err != nil {
		t.Fatal(err)
	}
	out := rclone("sync", "-v", src, remote)
	for _, want := range []string{"edge/8m: Copied (replaced existing)", "new/added: Copied (new)", "one: Deleted"} {
		if !strings.Contains(out, want) {
			t.Errorf("rclone sync after changes: output lacks %q:\n%s", want, out)
		}
	}
	checkRclone(t, p, src, remote)
	checkRcloneSizes(t, p, remote, files)

	// Nothing changed: a second sync must not copy, update or delete
	// anything (sizes, mtimes and MD5s all read back as written).
	out = rclone("sync", "-v", "--stats-one-line", src, remote)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Copied") || strings.Contains(line, "Updated") || strings.Contains(line, "Deleted") {
			t.Errorf("rclone sync of an unchanged tree: %q", line)
		}
	}
	if !strings.Contains(out, "There was nothing to transfer") {
		t.Errorf("rclone sync of an unchanged tree transferred something:\n%s", out)
	}

	// Download everything back: rclone verifies each file's MD5 on the
	// way, and the bytes must match.
	dst := t.TempDir()
	rclone("copy", remote, dst)
	checkTree(t, dst, files)
	mpDst := t.TempDir()
	rclone("copy", mpRemote, mpDst)
	checkTree(t, mpDst, mpFiles)
}

// checkRclone runs rclone check, which compares sizes and MD5s (the ETag,
// or X-Amz-Meta-Md5chksum for multipart objects) of every file.
func checkRclone(t *testing.T, p *proxyServer, dir, remote string) {
	t.Helper()
	out, err := rcloneCmd(t, p, "check", dir, remote)
	if err != nil || !strings.Contains(out, " 0 differences found") {
		t.Errorf("rclone check %s %s = %v, want 0 differences:\n%s", dir, remote, err, out)
	}
	if strings.Contains(out, "hashes could not be checked") {
		t.Errorf("rclone check %s %s could not compare all MD5s:\n%s", dir, remote, out)
	}
}

// checkRcloneSizes lists remote with rclone lsjson: exactly the files of
// want, each with its plaintext size.
func checkRcloneSizes(t *testing.T, p *proxyServer, remote string, want map[string][]byte) {
	t.Helper()
	out, err := rcloneCmd(t, p, "lsjson", "-R", "--files-only", remote)
	if err != nil {
		t.Fatalf("rclone lsjson %s: %v\n%s", remote, err, out)
	}
	var list []struct {
		Path string
		Size int64
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("rclone lsjson %s: %v\n%s", remote, err, out)
	}
	got := map[string]int64{}
	for _, e := range list {
		got[e.Path] = e.Size
	}
	for name, data := range want {
		if size, ok := got[name]; !ok || size != int64(len(data)) {
			t.Errorf("rclone lsjson %s: %q size %d (listed %v), want %d", remote, name, size, ok, len(data))
		}
	}
	if len(got) != len(want) {
		t.Errorf("rclone lsjson %s listed %d files, want %d: %v", remote, len(got), len(want), got)
	}
}

// TestAWSCLISync: aws s3 sync up (multipart from 8 MiB), a second sync that
// uploads nothing, and a sync down (ranged GETs from 8 MiB).
func TestAWSCLISync(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	bucket := newBucket(t, p.client(t))
	cfg := filepath.Join(t.TempDir(), "aws-config")
	if err := os.WriteFile(cfg, []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aws := func(args ...string) string {
		t.Helper()
		cmd := testenv.AWSCLI(t, p.Endpoint, clientAccessKey, clientSecretKey, args...)
		cmd.Env = append(cmd.Env, "AWS_CONFIG_FILE="+cfg)
		// One attempt: a request that hangs fails the test after the read
		// timeout instead of passing slowly on a retry.
		cmd.Env = append(cmd.Env, "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// The empty files matter: aws-cli 2.9's botocore, after an Expect:
	// 100-continue PUT that gets a final answer without a 100 (Go servers,
	// MinIO included, send none for Content-Length: 0), reuses the
	// connection with a stale status line and hangs on a later PUT until
	// its read timeout. The proxy sends the 100 itself; with one attempt and
	// a 20 s read timeout a regression fails the test.
	files := map[string][]byte{
		"empty":         {},
		"sub/empty-2":   {},
		"a.txt":         []byte("hello through aws s3 sync\n"),
		"sub/8m-1":      payload(8*mib-1, 11), // one PUT
		"sub/8m":        payload(8*mib, 12),   // multipart, one part
		"sub/8m+1":      payload(8*mib+1, 13), // two parts, the last one byte
		"big/20m":       payload(20*mib, 14),  // three parts
		"sp ace/ü+.bin": payload(1000, 15),
	}
	src := t.TempDir()
	writeTree(t, src, files)
	s3url := "s3://" + bucket + "/"
	s3sync := func(from, to string) string {
		t.Helper()
		return aws("s3", "sync", "--no-progress", "--cli-read-timeout", "20", from, to)
	}

	out := s3sync(src, s3url)
	if n := strings.Count(out, "upload: "); n != len(files) {
		t.Errorf("aws s3 sync uploaded %d files, want %d:\n%s", n, len(files), out)
	}
	// Sizes and LastModified read back plausibly, so nothing is re-uploaded.
	if out := s3sync(src, s3url); strings.TrimSpace(out) != "" {
		t.Errorf("second aws s3 sync of an unchanged tree = %q, want no output", out)
	}
	listed := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(aws("s3", "ls", "--recursive", s3url)), "\n") {
		// 2024-01-02 03:04:05   12345 key with spaces
		f := strings.SplitN(strings.Join(strings.Fields(line), " "), " ", 4)
		if len(f) != 4 {
			t.Fatalf("aws s3 ls line %q", line)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("aws s3 ls line %q: %v", line, err)
		}
		listed[f[3]] = size
	}
	for name, data := range files {
		if size, ok := listed[name]; !ok || size != int64(len(data)) {
			t.Errorf("aws s3 ls: %q size %d (listed %v), want plaintext size %d", name, size, ok, len(data))
		}
	}
	checkEncryptedAtRest(t, bucket, "sub/8m+1", files["sub/8m+1"])
	checkEncryptedAtRest(t, bucket, "sub/8m-1", files["sub/8m-1"])

	dst := t.TempDir()
	out = s3sync(s3url, dst)
	if n := strings.Count(out, "download: "); n != len(files) {
		t.Errorf("aws s3 sync down downloaded %d files, want %d:\n%s", n, len(files), out)
	}
	checkTree(t, dst, files)
}

// wireRecorder records how each request carried its payload.
type wireRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

func (w *wireRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var b strings.Builder
	b.WriteString(r.Method)
	q := r.URL.Query()
	for _, k := range []string{"x-id", "uploads", "partNumber"} {
		if q.Has(k) {
			fmt.Fprintf(&b, " %s=%s", k, q.Get(k))
		}
	}
	for _, h := range []string{"X-Amz-Content-Sha256", "Content-Encoding", "Content-Md5", "X-Amz-Trailer",
		"X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Checksum-Algorithm", "X-Amz-Checksum-Type", "X-Amz-Checksum-Crc32", "X-Amz-Checksum-Mode"} {
		if v := r.Header.Get(h); v != "" {
			fmt.Fprintf(&b, " %s=%s", h, v)
		}
	}
	w.mu.Lock()
	w.reqs = append(w.reqs, b.String())
	w.mu.Unlock()
	return w.next.RoundTrip(r)
}

func (w *wireRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.reqs
	w.reqs = nil
	return r
}

// sdkClient is an aws-sdk-go-v2 S3 client of the proxy built from explicit
// options: no shared config, no environment (AWS_CA_BUNDLE included), our own
// HTTP client, one attempt per request. The checksum settings are the ones
// config.LoadDefaultConfig gives every user (s3.New alone would send none).
func sdkClient(p *proxyServer) (*s3.Client, *wireRecorder) {
	rec := &wireRecorder{next: http.DefaultTransport.(*http.Transport).Clone()}
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(clientAccessKey, clientSecretKey, ""),
		BaseEndpoint:               aws.String(p.Endpoint),
		UsePathStyle:               true,
		HTTPClient:                 &http.Client{Transport: rec},
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}), rec
}

// TestAWSSDKv2UploadManager: the transfer manager uploads a 26 MiB object in
// 5 MiB parts, 5 at a time, with its default CRC32 checksums
// (CreateMultipartUpload with x-amz-checksum-algorithm: CRC32, each
// UploadPart with x-amz-checksum-crc32, CompleteMultipartUpload listing the
// part checksums); GET (x-amz-checksum-mode: ENABLED), HEAD and ranges
// across part boundaries read it back.
func TestAWSSDKv2UploadManager(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	bucket := newBucket(t, p.client(t))
	ctx := context.Background()
	c, rec := sdkClient(p)
	tm := transfermanager.New(c, func(o *transfermanager.Options) {
		o.PartSizeBytes = 5 * mib
		o.Concurrency = 5
	})
	const size = 26*mib + 12345 // six parts, the last one 1 MiB + 12345
	data := payload(size, 21)
	if _, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("sdk/big"), Body: bytes.NewReader(data),
	}); err != nil {
		t.Fatalf("UploadObject = %v", err)
	}
	wire := rec.take()
	parts := 0
	for _, r := range wire {
		if strings.HasPrefix(r, "PUT x-id=UploadPart partNumber=") {
			parts++
		}
	}
	t.Logf("upload manager requests:\n%s", strings.Join(wire, "\n"))
	if parts != 6 {
		t.Errorf("UploadObject sent %d UploadPart requests, want 6", parts)
	}

	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("sdk/big")})
	if err != nil {
		t.Fatalf("GetObject = %v", err)
	}
	body, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil || !bytes.Equal(body, data) {
		t.Fatalf("GetObject = %d bytes, %v; want the %d uploaded", len(body), err, len(data))
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("sdk/big")})
	if err != nil {
		t.Fatalf("HeadObject = %v", err)
	}
	if aws.ToInt64(head.ContentLength) != size || head.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("HeadObject = length %d, sse %q; want %d, AES256", aws.ToInt64(head.ContentLength), head.ServerSideEncryption, size)
	}
	ranges := []struct {
		name        string
		first, last int64
	}{
		{"across parts 1-2", 5*mib - 100, 5*mib + 99},
		{"parts 2-4", 10*mib - 1, 15 * mib},
		{"last byte", size - 1, size - 1},
	}
	for _, r := range ranges {
		rng := fmt.Sprintf("bytes=%d-%d", r.first, r.last)
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("sdk/big"), Range: aws.String(rng)})
		if err != nil {
			t.Errorf("GetObject(%s: %s) = %v", r.name, rng, err)
			continue
		}
		part, err := io.ReadAll(out.Body)
		out.Body.Close()
		wantRange := fmt.Sprintf("bytes %d-%d/%d", r.first, r.last, size)
		if err != nil || !bytes.Equal(part, data[r.first:r.last+1]) || aws.ToString(out.ContentRange) != wantRange {
			t.Errorf("GetObject(%s: %s) = %d bytes (equal %v), Content-Range %q, %v; want %d bytes, %q",
				r.name, rng, len(part), bytes.Equal(part, data[r.first:r.last+1]), aws.ToString(out.ContentRange), err, r.last-r.first+1, wantRange)
		}
	}
	t.Logf("downloads:\n%s", strings.Join(rec.take(), "\n"))
	checkEncryptedAtRest(t, bucket, "sdk/big", data)
}

// TestAWSSDKv2PutObjectChecksum: a plain PutObject with the SDK's default
// request checksum, echoed back and the object read back byte-exact.
//
// Wire format seen (service/s3 v1.114.10 over http): a signed payload
// (x-amz-content-sha256 = hex SHA-256 of the body) plus an
// x-amz-checksum-crc32 header, no x-amz-sdk-checksum-algorithm, no
// aws-chunked; over https the SDK sends STREAMING-UNSIGNED-PAYLOAD-TRAILER
// with the CRC32 in an aws-chunked trailer instead. Each request's format
// is logged.
func TestAWSSDKv2PutObjectChecksum(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	bucket := newBucket(t, p.client(t))
	ctx := context.Background()
	c, rec := sdkClient(p)
	for _, size := range []int{0, 1, 65536, 3*mib + 7} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			key := "put/" + strconv.Itoa(size)
			data := payload(size, uint64(100+size))
			rec.take()
			out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
			wire := rec.take()
			t.Logf("PutObject wire format: %s", strings.Join(wire, "; "))
			if err != nil {
				t.Fatalf("PutObject = %v", err)
			}
			if len(wire) != 1 || !strings.Contains(wire[0], "X-Amz-Checksum-Crc32=") && !strings.Contains(wire[0], "X-Amz-Trailer=x-amz-checksum-crc32") {
				t.Errorf("PutObject sent %q, want one request with a CRC32 checksum", wire)
			}
			wantCRC := b64(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(data)))
			if out.ServerSideEncryption != types.ServerSideEncryptionAes256 || aws.ToString(out.ChecksumCRC32) != wantCRC {
				t.Errorf("PutObject = sse %q, crc32 %q; want AES256 and the CRC32 %q echoed", out.ServerSideEncryption, aws.ToString(out.ChecksumCRC32), wantCRC)
			}
			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("GetObject = %v", err)
			}
			body, err := io.ReadAll(got.Body)
			got.Body.Close()
			if err != nil || !bytes.Equal(body, data) || aws.ToInt64(got.ContentLength) != int64(size) {
				t.Fatalf("GetObject = %d bytes (Content-Length %d), %v; want the %d written", len(body), aws.ToInt64(got.ContentLength), err, size)
			}
			if size > 0 {
				checkEncryptedAtRest(t, bucket, key, data)
			}
		})
	}
}

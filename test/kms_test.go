package test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/sse"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/test/testenv"
)

// newKeyring creates a keyring file with the named CMKs (besides
// "default") and returns its path and handle.
func newKeyring(t *testing.T, names ...string) (string, *keys.Keyring) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.json")
	k, err := keys.OpenKeyring(keys.KeyringOptions{Path: path, CreateIfMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := k.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	return path, k
}

func kmsHeaders(keyID, context string) http.Header {
	h := http.Header{"X-Amz-Server-Side-Encryption": {"aws:kms"}}
	if keyID != "" {
		h.Set("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", keyID)
	}
	if context != "" {
		h.Set("X-Amz-Server-Side-Encryption-Context", context)
	}
	return h
}

// TestSSEKMS: aws:kms with a named CMK, the default CMK, an encryption
// context bound to the key, unknown and disabled keys, and the headers S3
// echoes.
func TestSSEKMS(t *testing.T) {
	path, kr := newKeyring(t, "team-a", "team-b", "retired")
	if err := kr.Disable("retired"); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, proxyConfig{keyring: path})
	c := p.client(t)
	bucket := newBucket(t, c)
	data := payload(100_000, 71)
	ctxA := base64.StdEncoding.EncodeToString([]byte(`{"project":"apollo"}`))

	resp, body := rawRequest(t, p, http.MethodPut, "/"+bucket+"/named", kmsHeaders("team-a", ctxA), data)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Server-Side-Encryption") != "aws:kms" ||
		resp.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "team-a" {
		t.Fatalf("PUT aws:kms team-a = %d %s, headers %v", resp.StatusCode, errorCode(body), resp.Header)
	}
	resp, body = rawRequest(t, p, http.MethodGet, "/"+bucket+"/named", nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "team-a" {
		t.Errorf("GET = %d, %d bytes, key id %q; want the data under team-a", resp.StatusCode, len(body), resp.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"))
	}
	if _, meta := getDirect(t, bucket, "named"); meta["Sseproxy-Key-Id"] != "team-a" || meta["Sseproxy-Alg"] != "aws:kms" || meta["Sseproxy-Context"] != ctxA {
		t.Errorf("stored record = %v, want aws:kms under team-a with the context", meta)
	}
	// The context is bound to the wrapped key: another context does not unwrap.
	stored, meta := getDirect(t, bucket, "named")
	meta["Sseproxy-Context"] = base64.StdEncoding.EncodeToString([]byte(`{"project":"gemini"}`))
	putDirect(t, bucket, "named", stored, meta)
	if resp, _ := rawRequest(t, p, http.MethodGet, "/"+bucket+"/named", nil, nil); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("GET with a changed encryption context = %d, want 500 (unwrap fails)", resp.StatusCode)
	}

	// No key id: the default CMK.
	if _, err := c.PutObject(context.Background(), bucket, "default", bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ServerSideEncryption: mustKMS(t, "", nil)}); err != nil {
		t.Fatalf("PUT aws:kms without key id = %v", err)
	}
	if _, meta := getDirect(t, bucket, "default"); meta["Sseproxy-Key-Id"] != "default" || meta["Sseproxy-Alg"] != "aws:kms" {
		t.Errorf("aws:kms without key id stored %v, want the default CMK", meta)
	}
	tests := []struct {
		name   string
		header http.Header
		status int
		code   string
	}{
		{"unknown key", kmsHeaders("nope", ""), 400, "KMS.NotFoundException"},
		{"disabled key", kmsHeaders("retired", ""), 403, "KMS.DisabledException"},
		{"malformed context", kmsHeaders("team-a", "not-base64!"), 400, "InvalidArgument"},
		{"context not an object", kmsHeaders("team-a", base64.StdEncoding.EncodeToString([]byte(`[1]`))), 400, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawRequest(t, p, http.MethodPut, "/"+bucket+"/refused", tt.header, data)
			if resp.StatusCode != tt.status || errorCode(body) != tt.code {
				t.Errorf("PUT = %d %s, want %d %s", resp.StatusCode, errorCode(body), tt.status, tt.code)
			}
		})
	}
	if _, err := c.StatObject(context.Background(), bucket, "refused", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("a refused PUT stored an object: %v", err)
	}
	// Multipart and copy under aws:kms.
	big := payload(11<<20, 72)
	if _, err := c.PutObject(context.Background(), bucket, "mp", bytes.NewReader(big), int64(len(big)),
		minio.PutObjectOptions{PartSize: 5 << 20, ServerSideEncryption: mustKMS(t, "team-b", nil)}); err != nil {
		t.Fatalf("multipart aws:kms = %v", err)
	}
	if _, meta := getDirect(t, bucket, "mp"); meta["Sseproxy-Key-Id"] != "team-b" {
		t.Errorf("multipart aws:kms stored under %q, want team-b", meta["Sseproxy-Key-Id"])
	}
	if _, err := c.CopyObject(context.Background(), minio.CopyDestOptions{Bucket: bucket, Object: "mp-copy", Encryption: mustKMS(t, "team-a", nil)},
		minio.CopySrcOptions{Bucket: bucket, Object: "mp"}); err != nil {
		t.Fatalf("copy to aws:kms team-a = %v", err)
	}
	for _, k := range []string{"mp", "mp-copy"} {
		if got, err := getAll(c, bucket, k, minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, big) {
			t.Errorf("GET %s = %d bytes, %v", k, len(got), err)
		}
	}
}

func mustKMS(t *testing.T, keyID string, ctx any) encrypt.ServerSide {
	t.Helper()
	s, err := encrypt.NewSSEKMS(keyID, ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBucketEncryption: a rule set through PutBucketEncryption is kept in
// the backend, applies to PUTs without SSE headers, is seen by another
// proxy instance, and is removed by DeleteBucketEncryption; fixed rules from
// the configuration apply too.
func TestBucketEncryption(t *testing.T) {
	path, _ := newKeyring(t, "team-a")
	cfgBucket := fmt.Sprintf("cfg-rule-%d", len(t.Name()))
	p := startProxy(t, proxyConfig{keyring: path, extra: "[encryption.buckets." + cfgBucket + "]\ndefault = \"none\"\n"})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	if _, err := c.GetBucketEncryption(ctx, bucket); minio.ToErrorResponse(err).Code != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Errorf("GetBucketEncryption without a rule = %v, want ServerSideEncryptionConfigurationNotFoundError", err)
	}
	if err := c.SetBucketEncryption(ctx, bucket, sse.NewConfigurationSSEKMS("team-a")); err != nil {
		t.Fatalf("PutBucketEncryption = %v", err)
	}
	got, err := c.GetBucketEncryption(ctx, bucket)
	if err != nil || len(got.Rules) != 1 || got.Rules[0].Apply.SSEAlgorithm != "aws:kms" || got.Rules[0].Apply.KmsMasterKeyID != "team-a" {
		t.Fatalf("GetBucketEncryption = %+v, %v; want aws:kms team-a", got, err)
	}
	if _, err := c.PutObject(ctx, bucket, "x", strings.NewReader("ruled"), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, meta := getDirect(t, bucket, "x"); meta["Sseproxy-Key-Id"] != "team-a" || meta["Sseproxy-Alg"] != "aws:kms" {
		t.Errorf("PUT under the bucket rule stored %v, want aws:kms team-a", meta)
	}
	other := startProxy(t, proxyConfig{keyring: path})
	if _, err := other.client(t).PutObject(ctx, bucket, "y", strings.NewReader("ruled"), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, meta := getDirect(t, bucket, "y"); meta["Sseproxy-Key-Id"] != "team-a" {
		t.Errorf("a second instance ignored the stored rule: %v", meta)
	}
	if err := c.RemoveBucketEncryption(ctx, bucket); err != nil {
		t.Fatalf("DeleteBucketEncryption = %v", err)
	}
	if _, err := c.PutObject(ctx, bucket, "z", strings.NewReader("plain"), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, meta := getDirect(t, bucket, "z"); meta["Sseproxy-Alg"] != "AES256" {
		t.Errorf("after DeleteBucketEncryption stored %v, want the AES256 default", meta)
	}
	if err := c.MakeBucket(ctx, cfgBucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, cfgBucket, "p", strings.NewReader("plain"), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if stored, meta := getDirect(t, cfgBucket, "p"); string(stored) != "plain" || meta["Sseproxy-Alg"] != "" {
		t.Errorf("configured rule default=none stored %q %v, want plaintext", stored, meta)
	}
}

// TestCredentialLimits: a credential limited to buckets and CMKs gets 403
// AccessDenied outside them.
func TestCredentialLimits(t *testing.T) {
	path, _ := newKeyring(t, "team-a", "team-b")
	setup := startProxy(t, proxyConfig{keyring: path})
	allowed, denied := newBucket(t, setup.client(t)), newBucket(t, setup.client(t))
	p := startProxy(t, proxyConfig{keyring: path,
		credentials: fmt.Sprintf("buckets = [%q]\nkeys = [\"default\", \"team-a\"]", allowed)})
	data := []byte("limited")
	tests := []struct {
		name, path string
		header     http.Header
		status     int
	}{
		{"allowed bucket", "/" + allowed + "/a", nil, 200},
		{"allowed key", "/" + allowed + "/b", kmsHeaders("team-a", ""), 200},
		{"other bucket", "/" + denied + "/a", nil, 403},
		{"key not allowed", "/" + allowed + "/c", kmsHeaders("team-b", ""), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawRequest(t, p, http.MethodPut, tt.path, tt.header, data)
			if resp.StatusCode != tt.status || (tt.status == 403 && errorCode(body) != "AccessDenied") {
				t.Errorf("PUT %s = %d %s, want %d", tt.path, resp.StatusCode, errorCode(body), tt.status)
			}
		})
	}
	resp, body := rawRequest(t, p, http.MethodGet, "/", nil, nil)
	if resp.StatusCode != 200 || bytes.Contains(body, []byte(denied)) || !bytes.Contains(body, []byte(allowed)) {
		t.Errorf("ListBuckets shows %s; want only the allowed bucket", body)
	}
}

// TestRotateAndRewrap: after a CMK rotation old and new objects read;
// `sseproxy rewrap` moves 1,000 objects to the new version by metadata
// only, every object still reads, and `sseproxy keys usage` counts them.
func TestRotateAndRewrap(t *testing.T) {
	path, kr := newKeyring(t)
	p := startProxy(t, proxyConfig{keyring: path})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	const n = 1000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			body := fmt.Sprintf("object %d", i)
			if _, err := c.PutObject(ctx, bucket, fmt.Sprintf("o/%04d", i), strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	big := payload(11<<20, 81)
	if _, err := c.PutObject(ctx, bucket, "o/multipart", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := kr.Rotate("default"); err != nil {
		t.Fatal(err)
	}
	// A proxy started after the rotation reads old objects and writes v2.
	p2 := startProxy(t, proxyConfig{keyring: path})
	c2 := p2.client(t)
	if _, err := c2.PutObject(ctx, bucket, "o/new", strings.NewReader("new"), 3, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := getAll(c2, bucket, "o/0007", minio.GetObjectOptions{}); err != nil || string(got) != "object 7" {
		t.Errorf("old object after rotation = %q, %v", got, err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(proxyBinary, args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sseproxy %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	usage := run("keys", "usage", "--config", p2.ConfigPath, "--bucket", bucket)
	if !strings.Contains(usage, "default") || !strings.Contains(usage, "1001") {
		t.Errorf("keys usage before rewrap:\n%s\nwant 1001 objects under default v1", usage)
	}
	dry := run("rewrap", "--config", p2.ConfigPath, "--bucket", bucket, "--dry-run")
	if !strings.Contains(dry, "1001") {
		t.Errorf("rewrap --dry-run:\n%s\nwant 1001 objects to re-wrap", dry)
	}
	out := run("rewrap", "--config", p2.ConfigPath, "--bucket", bucket)
	if !strings.Contains(out, "rewrapped 1001") || !strings.Contains(out, "failed 0") {
		t.Errorf("rewrap:\n%s\nwant 1001 re-wrapped, 0 failed", out)
	}
	again := run("rewrap", "--config", p2.ConfigPath, "--bucket", bucket)
	if !strings.Contains(again, "rewrapped 0") {
		t.Errorf("second rewrap:\n%s\nwant nothing left to re-wrap (resumable, idempotent)", again)
	}
	for _, i := range []int{0, 500, 999} {
		key := fmt.Sprintf("o/%04d", i)
		if got, err := getAll(c2, bucket, key, minio.GetObjectOptions{}); err != nil || string(got) != fmt.Sprintf("object %d", i) {
			t.Errorf("GET %s after rewrap = %q, %v", key, got, err)
		}
		_, meta := getDirect(t, bucket, key)
		wrapped, _ := base64.StdEncoding.DecodeString(meta["Sseproxy-Wrapped-Key"])
		if v, ok := kr.WrappedVersion(wrapped); !ok || v != "2" {
			t.Errorf("%s wrapped by version %q after rewrap, want 2", key, v)
		}
	}
	if got, err := getAll(c2, bucket, "o/multipart", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, big) {
		t.Errorf("multipart object after rewrap = %d bytes, %v", len(got), err)
	}
	if usage := run("keys", "usage", "--config", p2.ConfigPath, "--bucket", bucket); !strings.Contains(usage, "1002") {
		t.Errorf("keys usage after rewrap:\n%s\nwant all 1002 objects under default v2", usage)
	}
}

// TestAWSCLIKMS: aws-cli's --sse aws:kms --sse-kms-key-id, single-part and
// multipart, round-trips and is stored under the named CMK.
func TestAWSCLIKMS(t *testing.T) {
	path, _ := newKeyring(t, "team-a")
	p := startProxy(t, proxyConfig{keyring: path})
	dir := t.TempDir()
	aws := func(args ...string) string {
		t.Helper()
		cmd := testenv.AWSCLI(t, p.Endpoint, clientAccessKey, clientSecretKey, args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	bucket := newBucket(t, p.client(t))
	for _, size := range []int{1000, 9 << 20} {
		src := filepath.Join(dir, fmt.Sprintf("src-%d", size))
		data := payload(size, uint64(size))
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("kms-%d", size)
		aws("s3", "cp", "--no-progress", "--sse", "aws:kms", "--sse-kms-key-id", "team-a", src, "s3://"+bucket+"/"+key)
		if _, meta := getDirect(t, bucket, key); meta["Sseproxy-Alg"] != "aws:kms" || meta["Sseproxy-Key-Id"] != "team-a" {
			t.Errorf("aws s3 cp --sse aws:kms stored %v, want aws:kms under team-a", meta)
		}
		head := aws("s3api", "head-object", "--bucket", bucket, "--key", key)
		if !strings.Contains(head, `"ServerSideEncryption": "aws:kms"`) || !strings.Contains(head, `"SSEKMSKeyId": "team-a"`) {
			t.Errorf("head-object = %s, want aws:kms and team-a", head)
		}
		dst := filepath.Join(dir, "dst-"+key)
		aws("s3", "cp", "--no-progress", "s3://"+bucket+"/"+key, dst)
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
			t.Errorf("round trip of %d bytes = %d bytes, %v", size, len(got), err)
		}
	}
}

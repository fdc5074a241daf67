package test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/sse"

	"github.com/sseproxy/sseproxy/test/testenv"
)

// TestDevelopmentMode runs the binary the way the README's quick start
// does, with no backend endpoint: the embedded store, a generated key file
// (0600) and the client credential it prints. aws-cli uploads (multipart
// at 20 MiB) and downloads (ranged) through it; a bucket encryption rule
// works; objects are ciphertext in the embedded store's files.
func TestDevelopmentMode(t *testing.T) {
	dir := t.TempDir()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := filepath.Join(dir, "dev.toml")
	// Only the port differs from `sseproxy serve` without a config file.
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[server]\nlisten = %q\n", host)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(proxyBinary, "serve", "--config", cfg)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("development mode did not start:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	log := out.String()
	if !strings.Contains(log, "DEVELOPMENT MODE") {
		t.Errorf("the log does not say loudly that this is development mode:\n%s", log)
	}
	cred, err := os.ReadFile(filepath.Join(dir, "sseproxy-data", "dev-credential"))
	if err != nil {
		t.Fatal(err)
	}
	ak, sk, _ := strings.Cut(strings.TrimSpace(string(cred)), ":")
	if !strings.Contains(log, ak) || !strings.Contains(log, sk) {
		t.Errorf("the generated credential is not printed:\n%s", log)
	}
	if fi, err := os.Stat(filepath.Join(dir, "sseproxy-keys.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file = %v, %v; want mode 0600", fi, err)
	}

	endpoint := "http://" + host
	aws := func(args ...string) string {
		t.Helper()
		c := testenv.AWSCLI(t, endpoint, ak, sk, args...)
		o, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s\nproxy log:\n%s", strings.Join(args, " "), err, o, tail(out.String(), 4000))
		}
		return string(o)
	}
	data := payload(20<<20+5, 3)
	src := filepath.Join(dir, "src.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	aws("s3", "mb", "s3://dev")
	aws("s3", "cp", "--no-progress", src, "s3://dev/big.bin")
	dst := filepath.Join(dir, "dst.bin")
	aws("s3", "cp", "--no-progress", "s3://dev/big.bin", dst)
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("round trip through development mode = %d bytes, %v", len(got), err)
	}
	if ls := aws("s3", "ls", "s3://dev"); !strings.Contains(ls, "20971525 big.bin") {
		t.Errorf("aws s3 ls = %q, want the plaintext size", ls)
	}
	// At rest: the embedded store keeps files; none holds the plaintext.
	found := false
	_ = filepath.WalkDir(filepath.Join(dir, "sseproxy-data", "store"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if len(b) > 1<<20 {
			found = true
			if bytes.Contains(b, data[1<<20:1<<20+64]) {
				t.Errorf("%s holds plaintext", p)
			}
		}
		return nil
	})
	if !found {
		t.Errorf("no stored object file found under the data directory")
	}
	// Bucket encryption rules work against the embedded store too.
	c := newClient(t, host, ak, sk)
	ctx := context.Background()
	if err := c.SetBucketEncryption(ctx, "dev", sse.NewConfigurationSSES3()); err != nil {
		t.Fatalf("PutBucketEncryption in development mode = %v", err)
	}
	if _, err := c.PutObject(ctx, "dev", "small", strings.NewReader("hi"), 2, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PUT under a bucket rule = %v", err)
	}
	if st, err := c.StatObject(ctx, "dev", "small", minio.StatObjectOptions{}); err != nil || st.Metadata.Get("X-Amz-Server-Side-Encryption") != "AES256" {
		t.Errorf("HEAD = %v; want AES256", err)
	}
}

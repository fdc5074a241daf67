package test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/test/testenv"
)

// TestOSSUtil drives the proxy with Alibaba's ossutil CLI (OSS V1
// signatures): upload with SSE-KMS and without, list, download
// byte-exact, and ciphertext at rest.
func TestOSSUtil(t *testing.T) {
	bin := testenv.Binary(t, "ossutil")
	p := startProxy(t, proxyConfig{})
	bucket := newBucket(t, p.client(t))
	dir := t.TempDir()
	ossutil := func(args ...string) string {
		t.Helper()
		args = append(args, "-e", p.Endpoint, "-i", clientAccessKey, "-k", clientSecretKey, "--config-file", filepath.Join(dir, "ossutilconfig"))
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("ossutil %s: %v", args[0], time.Since(start))
		if err != nil {
			t.Fatalf("ossutil %s: %v\n%s", strings.Join(args[:len(args)-8], " "), err, out)
		}
		return string(out)
	}
	data := payload(300_000, 111)
	src := filepath.Join(dir, "src.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ossutil("cp", src, "oss://"+bucket+"/plain.bin")
	ossutil("cp", src, "oss://"+bucket+"/kms.bin", "--meta", "x-oss-server-side-encryption:KMS#x-oss-meta-origin:ossutil")
	if _, meta := getDirect(t, bucket, "kms.bin"); meta["Sseproxy-Alg"] != "aws:kms" || meta["Origin"] != "ossutil" {
		t.Errorf("ossutil cp with x-oss-server-side-encryption:KMS stored %v, want aws:kms and the user metadata", meta)
	}
	if stored, meta := getDirect(t, bucket, "plain.bin"); bytes.Equal(stored, data) || meta["Sseproxy-Alg"] != "AES256" {
		t.Errorf("ossutil cp stored plaintext or no record (%v)", meta)
	}
	if out := ossutil("ls", "oss://"+bucket+"/"); !strings.Contains(out, "300000") || !strings.Contains(out, "Object Number is: 2") {
		t.Errorf("ossutil ls:\n%s\nwant both objects with their plaintext size 300000", out)
	}
	// (ossutil stat also reads the object ACL, ?acl, which the proxy does
	// not implement: ACLs are the backend's business.)
	for _, key := range []string{"plain.bin", "kms.bin"} {
		dst := filepath.Join(dir, "dst-"+key)
		ossutil("cp", "oss://"+bucket+"/"+key, dst)
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
			t.Errorf("ossutil download of %s = %d bytes, %v", key, len(got), err)
		}
	}
}

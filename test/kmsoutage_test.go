package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sseproxy/sseproxy/test/testenv"
)

// localKMS is a local-kms process (the AWS KMS API) on a fixed data
// directory, so it can be stopped and started again on the same port.
type localKMS struct {
	bin, dir, seed string
	port           int
	cmd            *exec.Cmd
}

const localKMSKeyID = "bc436485-5092-42b8-92a3-0aa8b93536dc"

func newLocalKMS(t *testing.T) *localKMS {
	t.Helper()
	k := &localKMS{bin: testenv.Binary(t, "local-kms"), dir: t.TempDir()}
	material := make([]byte, 32)
	_, _ = rand.Read(material)
	k.seed = filepath.Join(k.dir, "seed.yaml")
	seed := fmt.Sprintf("Keys:\n  Symmetric:\n    Aes:\n      - Metadata:\n          KeyId: %s\n        BackingKeys:\n          - %s\n"+
		"Aliases:\n  - AliasName: alias/sseproxy\n    TargetKeyId: %s\n", localKMSKeyID, hex.EncodeToString(material), localKMSKeyID)
	if err := os.WriteFile(k.seed, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if k.port, err = testenv.FreePort(); err != nil {
		t.Fatal(err)
	}
	k.start(t)
	t.Cleanup(k.stop)
	return k
}

func (k *localKMS) endpoint() string { return "http://127.0.0.1:" + strconv.Itoa(k.port) }

// start runs local-kms and waits until its port accepts connections. It
// listens on all interfaces (it has no bind option); the proxy reaches it
// on 127.0.0.1 only.
func (k *localKMS) start(t *testing.T) {
	t.Helper()
	k.cmd = exec.Command(k.bin)
	k.cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(k.port), "KMS_DATA_PATH="+filepath.Join(k.dir, "data"),
		"KMS_REGION=us-east-1", "KMS_ACCOUNT_ID=111122223333", "KMS_SEED_PATH="+k.seed)
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(k.port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("local-kms did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (k *localKMS) stop() {
	if k.cmd != nil && k.cmd.Process != nil {
		_ = k.cmd.Process.Kill()
		_ = k.cmd.Wait()
	}
}

// TestKMSOutage: with the aws provider against a real local-kms, PUT and
// GET work; with the KMS killed, writes fail fast with 503 and store
// nothing, reads of keys not in the unwrap cache fail with 503, warm reads
// still work; when the KMS returns, everything works again.
func TestKMSOutage(t *testing.T) {
	k := newLocalKMS(t)
	p := startProxy(t, proxyConfig{kms: "provider = \"aws\"\ndefault_key = \"alias/sseproxy\"\ntimeout = \"3s\"", extra: fmt.Sprintf(`[kms.aws]
endpoint = %q
region = "us-east-1"
access_key = "local"
secret_key = "local-kms-secret"
`, k.endpoint())})
	c := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, c)
	data := payload(70_000, 91)
	put := func(key string) (*http.Response, []byte) {
		return rawRequest(t, p, http.MethodPut, "/"+bucket+"/"+key, http.Header{"X-Amz-Server-Side-Encryption": {"aws:kms"}}, data)
	}
	if resp, body := put("warm"); resp.StatusCode != 200 {
		t.Fatalf("PUT with the KMS up = %d %s", resp.StatusCode, errorCode(body))
	}
	if resp, body := put("cold"); resp.StatusCode != 200 {
		t.Fatalf("PUT with the KMS up = %d %s", resp.StatusCode, errorCode(body))
	}
	if got, err := getAll(c, bucket, "warm", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GET with the KMS up = %d bytes, %v", len(got), err)
	}
	if _, meta := getDirect(t, bucket, "warm"); meta["Sseproxy-Key-Id"] != "alias/sseproxy" {
		t.Errorf("stored key id = %q, want alias/sseproxy", meta["Sseproxy-Key-Id"])
	}

	k.stop()
	start := time.Now()
	resp, body := put("during-outage")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(errorCode(body), "KMS.") {
		t.Errorf("PUT with the KMS down = %d %s, want 503 KMS error", resp.StatusCode, errorCode(body))
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("PUT with the KMS down took %v, want it bounded by kms.timeout", d)
	}
	if _, err := direct(t).StatObject(ctx, bucket, "during-outage", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("a PUT that failed on the KMS wrote to the backend: %v", err)
	}
	if resp, body := rawRequest(t, p, http.MethodGet, "/"+bucket+"/cold", nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET of an uncached key with the KMS down = %d %s, want 503", resp.StatusCode, errorCode(body))
	}
	if got, err := getAll(c, bucket, "warm", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
		t.Errorf("GET of a cached key with the KMS down = %d bytes, %v; want the data (unwrap cache)", len(got), err)
	}

	k.start(t)
	if resp, body := put("after-outage"); resp.StatusCode != 200 {
		t.Errorf("PUT after the KMS returned = %d %s", resp.StatusCode, errorCode(body))
	}
	if got, err := getAll(c, bucket, "cold", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
		t.Errorf("GET after the KMS returned = %d bytes, %v", len(got), err)
	}
}

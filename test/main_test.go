// Package test holds sseproxy's end-to-end tests: the real sseproxy binary in
// front of a real MinIO server process, driven by real clients (minio-go,
// aws-cli). scripts/install-test-deps.sh installs what they need.
package test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
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
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sseproxy/sseproxy/test/testenv"
)

// Shared by every test of the package: one MinIO process, one built binary.
var (
	backendServer *testenv.MinIO
	proxyBinary   string
	workDir       string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if workDir, err = os.MkdirTemp("", "sseproxy-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	minioBin := filepath.Join(testenv.ToolsDir(), "bin", "minio")
	if p, err := exec.LookPath("minio"); err == nil && !fileExists(minioBin) {
		minioBin = p
	}
	if !fileExists(minioBin) {
		fmt.Fprintln(os.Stderr, "e2e: minio is not installed; run scripts/install-test-deps.sh (the README's test command does)")
		return 1
	}
	if backendServer, err = testenv.StartMinIO(workDir, minioBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer backendServer.Close()
	proxyBinary = filepath.Join(workDir, "sseproxy")
	build := exec.Command("go", "build", "-o", proxyBinary, "../cmd/sseproxy")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building sseproxy:", err)
		return 1
	}
	return m.Run()
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Client credentials every test proxy accepts.
const (
	clientAccessKey = "e2e-client"
	clientSecretKey = "e2e-client-secret"
)

// proxyServer is one running sseproxy process.
type proxyServer struct {
	Endpoint   string // http://127.0.0.1:PORT
	Host       string // 127.0.0.1:PORT
	Keyring    string
	ConfigPath string
	cmd        *exec.Cmd
	log        *bytes.Buffer
}

// proxyConfig tunes the config file of a test proxy.
type proxyConfig struct {
	encryptionDefault string // "" = AES256
	keyring           string // "" = a fresh keyring in the test's temp dir
	domains           []string
	credentials       string            // extra keys of the test credential, e.g. `buckets = ["a"]`
	kms               string            // [kms] lines after provider/keyring, e.g. `provider = "aws"`
	extra             string            // TOML appended to the file (e.g. [encryption.buckets.NAME])
	backend           *testenv.S3Server // nil = the shared MinIO
}

// startProxy runs the sseproxy binary in front of the shared MinIO and waits
// until it answers.
func startProxy(t *testing.T, pc proxyConfig) *proxyServer {
	t.Helper()
	dir := t.TempDir()
	if pc.encryptionDefault == "" {
		pc.encryptionDefault = "AES256"
	}
	if pc.keyring == "" {
		pc.keyring = filepath.Join(dir, "keys.json")
	}
	if pc.kms == "" {
		pc.kms = `provider = "local"`
	}
	be := &backendServer.S3Server
	if pc.backend != nil {
		be = pc.backend
	}
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	var domains []string
	for _, d := range pc.domains {
		domains = append(domains, strconv.Quote(d))
	}
	cfg := fmt.Sprintf(`[server]
listen = "127.0.0.1:%d"
domains = [%s]
[backend]
endpoint = %q
access_key = %q
secret_key = %q
[[credentials]]
access_key = %q
secret_key = %q
%s
[encryption]
default = %q
[kms]
keyring = %q
%s
[log]
level = "debug"
%s
`, port, strings.Join(domains, ", "), be.Endpoint, be.AccessKey, be.SecretKey,
		clientAccessKey, clientSecretKey, pc.credentials, pc.encryptionDefault, pc.keyring, pc.kms, pc.extra)
	cfgPath := filepath.Join(dir, "sseproxy.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &proxyServer{Host: "127.0.0.1:" + strconv.Itoa(port), Keyring: pc.keyring, ConfigPath: cfgPath, log: &bytes.Buffer{}}
	p.Endpoint = "http://" + p.Host
	p.cmd = exec.Command(proxyBinary, "serve", "--config", cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		if t.Failed() {
			t.Logf("sseproxy log:\n%s", tail(p.log.String(), 8000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", p.Host, time.Second)
		if err == nil {
			conn.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("sseproxy did not start: %v\n%s", err, p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// client returns a minio-go client of the proxy with the test credentials.
func (p *proxyServer) client(t *testing.T) *minio.Client {
	t.Helper()
	return newClient(t, p.Host, clientAccessKey, clientSecretKey)
}

func newClient(t *testing.T, host, ak, sk string) *minio.Client {
	t.Helper()
	c, err := minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, ""), Region: "us-east-1", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// direct returns a minio-go client of the backend itself, bypassing the proxy.
func direct(t *testing.T) *minio.Client {
	t.Helper()
	return newClient(t, strings.TrimPrefix(backendServer.Endpoint, "http://"), backendServer.AccessKey, backendServer.SecretKey)
}

// newBucket creates a bucket with a name unique to the test.
func newBucket(t *testing.T, c *minio.Client) string {
	t.Helper()
	name := fmt.Sprintf("e2e-%d-%d", time.Now().UnixNano()%1e9, rand.IntN(1e6))
	if err := c.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket(%s) = %v", name, err)
	}
	return name
}

// payload returns n deterministic pseudo-random bytes.
func payload(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// rawRequest sends a request signed by minio-go's signer to the proxy.
func rawRequest(t *testing.T, p *proxyServer, method, path string, hdr http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	req := signedRequest(t, p.Endpoint, method, path, hdr, body, clientAccessKey, clientSecretKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, data
}

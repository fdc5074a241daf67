package kes

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/internal/testcert"
	"github.com/sseproxy/sseproxy/test/testenv"
)

// testCert is a leaf certificate of a testcert.CA, with what the KES tests use of it.
type testCert struct {
	testcert.Pair
	tls      tls.Certificate
	identity string // the KES identity, computed independently of the package's identityOf
}

// issue issues a leaf certificate for name (127.0.0.1 for the server) by ca.
func issue(t testing.TB, ca *testcert.CA, name string) *testCert {
	t.Helper()
	c := &testCert{Pair: ca.Issue(t, name)}
	c.tls = c.TLS(t)
	// The identity is the SHA-256 of the public key, taken here from the private key.
	spki, err := x509.MarshalPKIXPublicKey(c.tls.PrivateKey.(crypto.Signer).Public())
	if err != nil {
		t.Fatal(err)
	}
	c.identity = sha256Hex(spki)
	return c
}

// write writes the certificate and key to dir/name.crt and dir/name.key and returns the paths.
func (c *testCert) write(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	c.Write(t, certFile, keyFile)
	return certFile, keyFile
}

// kesServer is a running `kes server` process with its PKI: admin may do anything, proxy has
// the least-privilege policy of doc.go (plus the kmstest-* keys the conformance suite asks
// for), stranger has no policy.
type kesServer struct {
	Endpoint string // https://127.0.0.1:PORT
	CA       *testcert.CA
	Admin    *testCert
	Proxy    *testCert
	Stranger *testCert

	dir    string
	cmd    *exec.Cmd
	exited chan error // receives the process's exit once
	log    string
}

// proxyPolicy is the policy doc.go recommends, as the test server grants it.
const proxyPolicy = `
    allow:
    - /v1/key/generate/sseproxy-*
    - /v1/key/decrypt/sseproxy-*
    - /v1/key/encrypt/sseproxy-*
    - /v1/key/generate/kmstest-*
    - /v1/key/decrypt/kmstest-*
    - /v1/key/encrypt/kmstest-*`

// startKES starts a KES server on a free loopback port with a file key store in a fresh
// directory, and waits until it answers. The server is stopped when the test ends.
func startKES(t *testing.T) *kesServer {
	t.Helper()
	bin := testenv.Binary(t, "kes")
	dir := t.TempDir()
	ca := testcert.NewCA(t, "sseproxy kes test CA")
	s := &kesServer{CA: ca, Admin: issue(t, ca, "admin"), Proxy: issue(t, ca, "sseproxy"),
		Stranger: issue(t, ca, "stranger"), dir: dir, log: filepath.Join(dir, "kes.log")}
	serverCert, serverKey := issue(t, ca, "127.0.0.1").write(t, dir, "server")
	var lastErr error
	for range 3 { // another process may take the free port before kes binds it
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		s.Endpoint = "https://" + addr
		config := fmt.Sprintf(`version: v1
address: %s
admin:
  identity: %s
tls:
  key: %s
  cert: %s
policy:
  sseproxy:%s
    identities:
    - %s
keystore:
  fs:
    path: %s
log:
  error: on
  audit: off
`, addr, s.Admin.identity, serverKey, serverCert, proxyPolicy, s.Proxy.identity, filepath.Join(dir, "keys"))
		configFile := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		if lastErr = s.start(bin, configFile); lastErr == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	logs, _ := os.ReadFile(s.log)
	t.Fatalf("kes server did not start: %v\n%s", lastErr, logs)
	return nil
}

// start runs kes with configFile and polls GET /version (which needs no identity) until it
// answers 200, the process exits, or 30 seconds pass.
func (s *kesServer) start(bin, configFile string) error {
	logFile, err := os.Create(s.log)
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.cmd = exec.Command(bin, "server", "--config", configFile)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	s.exited = exited
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CA.Pool()}}}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/version", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			s.cmd = nil
			return fmt.Errorf("kes exited: %v", err)
		case <-ctx.Done():
			_ = s.cmd.Process.Kill()
			<-exited
			s.cmd = nil
			return errors.New("timed out waiting for " + s.Endpoint + "/version")
		case <-tick.C:
		}
	}
}

// Kill stops the server at once, as a crash would, and returns once the process is gone (and
// its port closed). It is idempotent.
func (s *kesServer) Kill() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}

// client returns a Client for the server that authenticates as who, with options adjusted by
// edit (may be nil). It is closed when the test ends.
func (s *kesServer) client(t testing.TB, who *testCert, edit func(*Options)) *Client {
	t.Helper()
	opts := Options{Endpoints: []string{s.Endpoint}, Certificate: &who.tls, RootCAs: s.CA.Pool()}
	if edit != nil {
		edit(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v) = %v", opts, err)
	}
	t.Cleanup(c.Close)
	return c
}

// createKeys creates the named keys as the admin.
func (s *kesServer) createKeys(t testing.TB, names ...string) {
	t.Helper()
	admin := s.client(t, s.Admin, nil)
	for _, name := range names {
		if err := admin.CreateKey(t.Context(), name); err != nil {
			t.Fatalf("CreateKey(%q) as admin = %v", name, err)
		}
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

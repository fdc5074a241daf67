package kes

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/test/testenv"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sseproxy kes test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// testCert is a leaf certificate issued by a testCA.
type testCert struct {
	tls      tls.Certificate
	certPEM  []byte
	keyPEM   []byte
	identity string // the KES identity, computed independently of the package's identityOf
}

// issue issues a leaf certificate: a server certificate for 127.0.0.1 if server, else a client
// certificate named cn.
func (ca *testCA) issue(t testing.TB, cn string, server bool) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	if c.tls, err = tls.X509KeyPair(c.certPEM, c.keyPEM); err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
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
	if err := os.WriteFile(certFile, c.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// kesServer is a running `kes server` process with its PKI: admin may do anything, proxy has
// the least-privilege policy of doc.go (plus the kmstest-* keys the conformance suite asks
// for), stranger has no policy.
type kesServer struct {
	Endpoint string // https://127.0.0.1:PORT
	CA       *testCA
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
	ca := newTestCA(t)
	s := &kesServer{CA: ca, Admin: ca.issue(t, "admin", false), Proxy: ca.issue(t, "sseproxy", false),
		Stranger: ca.issue(t, "stranger", false), dir: dir, log: filepath.Join(dir, "kes.log")}
	serverCert, serverKey := ca.issue(t, "kes", true).write(t, dir, "server")
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
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CA.pool}}}
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
	opts := Options{Endpoints: []string{s.Endpoint}, Certificate: &who.tls, RootCAs: s.CA.pool}
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

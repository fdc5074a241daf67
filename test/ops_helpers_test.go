package test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sseproxy/sseproxy/internal/testcert"
	"github.com/sseproxy/sseproxy/test/testenv"
)

// The helpers of the operations tests (ops_test.go): a proxy started with
// any configuration and watched to its exit, a MinIO over https, Pebble,
// and a parser of /metrics.

// freePort returns a free loopback port or fails the test.
func freePort(t *testing.T) int {
	t.Helper()
	p, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loopback returns "127.0.0.1:port".
func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// opsConfig is the configuration of a proxy of the operations tests. The
// [admin] listener is always on, on a free port.
type opsConfig struct {
	listen   string // S3 listener; "" = a free loopback port
	server   string // extra [server] lines
	tls      string // [tls] lines; "" = mode "off"
	endpoint string // backend; "" = the shared MinIO
	backend  string // extra [backend] lines
	keyring  string // "" = a fresh keyring in the test's temp dir
}

// opsProxy is one sseproxy process of the operations tests.
type opsProxy struct {
	Host    string // S3 listener, 127.0.0.1:PORT
	Admin   string // http://127.0.0.1:PORT of the admin listener
	Keyring string
	Dir     string // the test directory holding its files
	cmd     *exec.Cmd
	log     *testenv.SyncBuffer
	exited  chan struct{} // closed when the process has exited
	waitErr error         // its exit status, once exited is closed
}

// startOps writes oc as a config file, starts the sseproxy binary and waits
// until its admin listener answers /healthz.
func startOps(t *testing.T, oc opsConfig) *opsProxy {
	t.Helper()
	dir := t.TempDir()
	if oc.listen == "" {
		oc.listen = loopback(freePort(t))
	}
	if oc.keyring == "" {
		oc.keyring = filepath.Join(dir, "keys.json")
	}
	endpoint, ak, sk := oc.endpoint, backendServer.AccessKey, backendServer.SecretKey
	if endpoint == "" {
		endpoint = backendServer.Endpoint
	}
	if oc.tls == "" {
		oc.tls = `mode = "off"`
	}
	adminAddr := loopback(freePort(t))
	cfg := fmt.Sprintf(`[server]
listen = %q
%s
[backend]
endpoint = %q
access_key = %q
secret_key = %q
%s
[[credentials]]
access_key = %q
secret_key = %q
[kms]
keyring = %q
[log]
level = "debug"
[tls]
%s
[admin]
listen = %q
`, oc.listen, oc.server, endpoint, ak, sk, oc.backend, clientAccessKey, clientSecretKey, oc.keyring, oc.tls, adminAddr)
	cfgPath := filepath.Join(dir, "sseproxy.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &opsProxy{Host: oc.listen, Admin: "http://" + adminAddr, Keyring: oc.keyring, Dir: dir, log: &testenv.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(proxyBinary, "serve", "--config", cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("sseproxy log:\n%s", tail(p.log.String(), 12000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := p.adminGet(t, "/healthz"); code == http.StatusOK {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("sseproxy exited at start: %v\n%s", p.waitErr, p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sseproxy did not start within 30s\n%s", p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// adminGet GETs path on the admin listener; status 0 means no answer.
func (p *opsProxy) adminGet(t *testing.T, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(p.Admin + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitAdmin polls path until it answers want, for at most timeout, and
// returns the last body.
func (p *opsProxy) waitAdmin(t *testing.T, path string, want int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := p.adminGet(t, path)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d %q after %s, want %d", path, code, body, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog polls the process log until it contains s.
func (p *opsProxy) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	p.waitLogCount(t, s, 1, timeout)
}

// waitLogCount polls the process log until it contains s at least n times.
func (p *opsProxy) waitLogCount(t *testing.T, s string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(p.log.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("sseproxy log does not contain %q after %s", s, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signal sends sig to the process.
func (p *opsProxy) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// waitExit waits for the process to exit and returns its exit status.
func (p *opsProxy) waitExit(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(timeout):
		t.Fatalf("sseproxy still running %s after the signal", timeout)
		return nil
	}
}

// metrics scrapes /metrics into samples keyed `name{label="value",...}`
// with the labels sorted by name.
func (p *opsProxy) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	code, text := p.adminGet(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %q", code, text)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad metrics line %q", line)
		}
		name := line[:i]
		if open := strings.IndexByte(name, '{'); open >= 0 && strings.HasSuffix(name, "}") {
			labels := strings.Split(name[open+1:len(name)-1], ",") // our label values hold no commas
			sort.Strings(labels)
			name = name[:open] + "{" + strings.Join(labels, ",") + "}"
		}
		out[name] = v
	}
	return out
}

// metric names a series for p.metrics: metric("x", "op", "PutObject").
func metric(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// tlsClient returns a minio-go client of an https S3 listener at dialAddr,
// addressed as host (its certificate's name), trusting roots, HTTP/2 on.
func tlsClient(t *testing.T, host, dialAddr string, roots *x509.CertPool) *minio.Client {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, dialAddr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := minio.New(host, &minio.Options{
		Creds: credentials.NewStaticV4(clientAccessKey, clientSecretKey, ""), Secure: true,
		Region: "us-east-1", Transport: tr, MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roundTrip stores data under key in a new bucket through c and reads it
// back.
func roundTrip(t *testing.T, c *minio.Client, data []byte) {
	t.Helper()
	ctx := context.Background()
	bucket := newBucket(t, c)
	if _, err := c.PutObject(ctx, bucket, "obj", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject = %v", err)
	}
	got, err := getAll(c, bucket, "obj", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetObject = %d bytes, %v; want the %d bytes stored", len(got), err, len(data))
	}
}

// servedCert opens a TLS connection to addr as serverName and returns the
// connection state; it fails the test when the handshake fails.
func servedCert(t *testing.T, addr, serverName string, roots *x509.CertPool, protos ...string) tls.ConnectionState {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: serverName, RootCAs: roots, NextProtos: protos})
	if err != nil {
		t.Fatalf("tls.Dial(%s, %s) = %v", addr, serverName, err)
	}
	defer conn.Close()
	return conn.ConnectionState()
}

// tlsMinIO is a MinIO process serving https with a certificate of ca.
type tlsMinIO struct {
	Endpoint string // https://127.0.0.1:PORT
	port     int
	dir      string
	ca       *testcert.CA
	cmd      *exec.Cmd
	exited   chan struct{}
}

// startTLSMinIO starts a MinIO of its own over https with a fresh
// certificate from ca for 127.0.0.1, and waits until it is live.
func startTLSMinIO(t *testing.T, ca *testcert.CA) *tlsMinIO {
	t.Helper()
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	ca.Issue(t, "127.0.0.1", "localhost").Write(t, filepath.Join(certs, "public.crt"), filepath.Join(certs, "private.key"))
	m := &tlsMinIO{port: freePort(t), dir: dir, ca: ca}
	m.Endpoint = "https://" + loopback(m.port)
	t.Cleanup(m.stop)
	m.start(t)
	return m
}

// start runs MinIO on its port and data directory and waits until it is live.
func (m *tlsMinIO) start(t *testing.T) {
	t.Helper()
	bin := testenv.Binary(t, "minio")
	log, err := os.OpenFile(filepath.Join(m.dir, "minio.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	m.cmd = exec.Command(bin, "server", filepath.Join(m.dir, "data"), "--quiet",
		"--certs-dir", filepath.Join(m.dir, "certs"),
		"--address", loopback(m.port), "--console-address", loopback(freePort(t)))
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+backendServer.AccessKey, "MINIO_ROOT_PASSWORD="+backendServer.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	m.cmd.Stdout, m.cmd.Stderr = log, log
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.exited = make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(m.exited) }()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: m.ca.Pool()}}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := c.Get(m.Endpoint + "/minio/health/live"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-m.exited:
			logs, _ := os.ReadFile(filepath.Join(m.dir, "minio.log"))
			t.Fatalf("minio (https) exited at start\n%s", logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio (https) not live within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop kills MinIO and waits for it to exit.
func (m *tlsMinIO) stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		<-m.exited
		m.cmd = nil
	}
}

// pebble is a Pebble ACME server and its DNS (pebble-challtestsrv), both on
// loopback, resolving every name to 127.0.0.1.
type pebble struct {
	Directory string         // ACME directory URL
	RootFile  string         // PEM of the CA that signed Pebble's own https certificate
	Roots     *x509.CertPool // that CA
	mgmt      string         // https://127.0.0.1:PORT of the management interface
	HTTPPort  int            // where Pebble sends HTTP-01 validation requests
	TLSPort   int            // where Pebble sends TLS-ALPN-01 validation connections
	log       map[string]*testenv.SyncBuffer
}

// startPebble starts pebble-challtestsrv and Pebble on free loopback ports.
// Pebble issues certificates valid for validity seconds; 0 keeps its
// default (90 days).
func startPebble(t *testing.T, validity int) *pebble {
	t.Helper()
	dir := t.TempDir()
	ca := testcert.NewCA(t, "pebble https CA")
	pair := ca.Issue(t, "127.0.0.1", "localhost")
	certFile, keyFile := filepath.Join(dir, "pebble.crt"), filepath.Join(dir, "pebble.key")
	pair.Write(t, certFile, keyFile)
	pb := &pebble{
		RootFile: filepath.Join(dir, "pebble-https-ca.pem"), Roots: ca.Pool(),
		HTTPPort: freePort(t), TLSPort: freePort(t), log: map[string]*testenv.SyncBuffer{},
	}
	testcert.WriteFile(t, pb.RootFile, ca.PEM)

	dnsAddr := loopback(freePort(t))
	run := func(name string, env []string, args ...string) {
		buf := &testenv.SyncBuffer{}
		pb.log[name] = buf
		cmd := exec.Command(testenv.Binary(t, name), args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = buf, buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("%s log:\n%s", name, tail(buf.String(), 6000))
			}
		})
	}
	// Every name resolves to 127.0.0.1; the challenge servers of the
	// challtestsrv are off: the proxy answers the challenges itself.
	run("pebble-challtestsrv", nil, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", dnsAddr, "-management", loopback(freePort(t)),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")

	listen, mgmt := loopback(freePort(t)), loopback(freePort(t))
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": certFile, "privateKey": keyFile,
		"httpPort": pb.HTTPPort, "tlsPort": pb.TLSPort,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter": map[string]int{"authz": 1, "order": 1},
	}}
	if validity > 0 {
		// Its only profile; the top-level certificateValidityPeriod is
		// ignored by Pebble v2.10.
		conf["pebble"].(map[string]any)["profiles"] = map[string]any{
			"default": map[string]any{"description": "short-lived", "validityPeriod": validity},
		}
	}
	data, _ := json.Marshal(conf)
	confFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(confFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run("pebble", []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, "-config", confFile, "-dnsserver", dnsAddr)
	pb.Directory = "https://" + listen + "/dir"
	pb.mgmt = "https://" + mgmt

	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pb.Roots}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := c.Get(pb.Directory); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return pb
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not answer %s within 30s\n%s", pb.Directory, pb.log["pebble"].String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// issuingRoots returns the root of the certificates Pebble issues, from its
// management interface; it changes with every Pebble start.
func (pb *pebble) issuingRoots(t *testing.T) *x509.CertPool {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pb.Roots}}}
	resp, err := c.Get(pb.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pem, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if resp.StatusCode != http.StatusOK || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("GET /roots/0 = %d %q, want a PEM root", resp.StatusCode, pem)
	}
	return pool
}

// gatedReader yields size pseudo-random bytes, hashing what it yields.
// After the first gateAt bytes it closes reached and waits for open (or
// stop), so a test can act while an upload is certainly in flight.
type gatedReader struct {
	size, gateAt, n int64
	rng             *rand.Rand
	sum             hash.Hash
	reached         chan struct{}
	open, stop      chan struct{}
	once            sync.Once
}

func newGatedReader(size, gateAt int64, seed uint64) *gatedReader {
	return &gatedReader{
		size: size, gateAt: gateAt, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), sum: sha256.New(),
		reached: make(chan struct{}), open: make(chan struct{}), stop: make(chan struct{}),
	}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.n >= g.size {
		return 0, io.EOF
	}
	if g.n >= g.gateAt {
		g.once.Do(func() { close(g.reached) })
		select {
		case <-g.open:
		case <-g.stop:
			return 0, io.ErrUnexpectedEOF
		}
	}
	limit := g.size
	if g.n < g.gateAt {
		limit = g.gateAt
	}
	if int64(len(p)) > limit-g.n {
		p = p[:limit-g.n]
	}
	for i := range p {
		if i%8 == 0 {
			v := g.rng.Uint64()
			for j := 0; j < 8 && i+j < len(p); j++ {
				p[i+j] = byte(v >> (8 * j))
			}
		}
	}
	g.n += int64(len(p))
	g.sum.Write(p)
	return len(p), nil
}

// client returns a minio-go client of p's plain-HTTP S3 listener.
func (p *opsProxy) client(t *testing.T) *minio.Client {
	t.Helper()
	return newClient(t, p.Host, clientAccessKey, clientSecretKey)
}

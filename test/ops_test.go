package test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sseproxy/sseproxy/internal/testcert"
)

// The operations tests: TLS on the client listener (files and ACME), TLS to
// the backend, the admin listener (readiness, metrics, healthcheck) and
// graceful shutdown, each against the real sseproxy binary.

// filesTLS is the [tls] table of mode "files".
func filesTLS(certFile, keyFile, interval, redirect string) string {
	s := fmt.Sprintf("mode = \"files\"\ncert_file = %q\nkey_file = %q\nreload_interval = %q\n", certFile, keyFile, interval)
	if redirect != "" {
		s += fmt.Sprintf("redirect_listen = %q\n", redirect)
	}
	return s
}

// waitServed polls the S3 listener until it serves the certificate with
// serial want.
func waitServed(t *testing.T, p *opsProxy, ca *testcert.CA, want testcert.Pair) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := servedCert(t, p.Host, "localhost", ca.Pool())
		if st.PeerCertificates[0].SerialNumber.Cmp(want.Serial) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("served serial = %s 10s after the rotation, want %s", st.PeerCertificates[0].SerialNumber, want.Serial)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTLSFiles: the S3 listener serves a certificate from files over TLS
// 1.2+ with HTTP/2, picks up replaced files without a restart and without
// dropping connections, keeps serving through a botched rotation, reloads on
// SIGHUP, and redirects plain HTTP.
func TestTLSFiles(t *testing.T) {
	ca := testcert.NewCA(t, "ops files CA")

	t.Run("poll", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		first := ca.Issue(t, "localhost", "127.0.0.1")
		first.Write(t, certFile, keyFile)
		redirect := loopback(freePort(t))
		p := startOps(t, opsConfig{tls: filesTLS(certFile, keyFile, "100ms", redirect)})
		_, port, _ := net.SplitHostPort(p.Host)

		st := servedCert(t, p.Host, "localhost", ca.Pool(), "h2", "http/1.1")
		if st.PeerCertificates[0].SerialNumber.Cmp(first.Serial) != 0 || st.NegotiatedProtocol != "h2" || st.Version < tls.VersionTLS12 {
			t.Fatalf("served serial %s, ALPN %q, version %x; want %s, h2, TLS 1.2+", st.PeerCertificates[0].SerialNumber, st.NegotiatedProtocol, st.Version, first.Serial)
		}
		if c, err := tls.Dial("tcp", p.Host, &tls.Config{ServerName: "localhost", RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS11}); err == nil {
			c.Close()
			t.Errorf("a TLS 1.1 handshake succeeded, want it refused")
		}
		if body := p.waitAdmin(t, "/readyz", http.StatusOK, 10*time.Second); !strings.Contains(body, "tls: ok") {
			t.Errorf("/readyz = %q, want a tls: ok line", body)
		}
		roundTrip(t, tlsClient(t, "localhost:"+port, p.Host, ca.Pool()), payload(300_000, 1))

		// A plain HTTP/2 request: answered (403, unsigned) over h2.
		h2 := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, p.Host)
			},
		}}
		resp, err := h2.Get("https://localhost:" + port + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusForbidden {
			t.Errorf("unsigned GET / = %s %d, want HTTP/2.0 403", resp.Proto, resp.StatusCode)
		}

		// The redirect listener sends plain HTTP to https, path and query kept.
		noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest(http.MethodPut, "http://"+redirect+"/bucket/a%20key?uploads", nil)
		req.Host = "localhost"
		resp, err = noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := "https://localhost:" + port + "/bucket/a%20key?uploads"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
			t.Errorf("PUT on the redirect listener = %d %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}

		// A connection opened before the rotation...
		old, err := tls.Dial("tcp", p.Host, &tls.Config{ServerName: "localhost", RootCAs: ca.Pool(), NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		second := ca.Issue(t, "localhost", "127.0.0.1")
		second.Write(t, certFile, keyFile)
		waitServed(t, p, ca, second)
		// ...still serves requests after it, with the certificate it had.
		if _, err := io.WriteString(old, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatalf("writing on the connection opened before the rotation: %v", err)
		}
		resp, err = http.ReadResponse(bufio.NewReader(old), nil)
		if err != nil {
			t.Fatalf("reading on the connection opened before the rotation: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || old.ConnectionState().PeerCertificates[0].SerialNumber.Cmp(first.Serial) != 0 {
			t.Errorf("old connection answered %d with serial %s, want 403 with %s", resp.StatusCode, old.ConnectionState().PeerCertificates[0].SerialNumber, first.Serial)
		}

		// A botched rotation is logged and the current certificate kept.
		// (The rotation above may have logged a failure already, when a
		// check fell between the key's rename and the certificate's.)
		failures := strings.Count(p.log.String(), "TLS certificate reload failed")
		testcert.WriteFile(t, certFile, []byte("not a certificate"))
		p.waitLogCount(t, "TLS certificate reload failed", failures+1, 10*time.Second)
		if st := servedCert(t, p.Host, "localhost", ca.Pool()); st.PeerCertificates[0].SerialNumber.Cmp(second.Serial) != 0 {
			t.Errorf("serial after a botched rotation = %s, want %s kept", st.PeerCertificates[0].SerialNumber, second.Serial)
		}
		third := ca.Issue(t, "localhost", "127.0.0.1")
		third.Write(t, certFile, keyFile)
		waitServed(t, p, ca, third)
	})

	t.Run("sighup", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		first := ca.Issue(t, "localhost")
		first.Write(t, certFile, keyFile)
		p := startOps(t, opsConfig{tls: filesTLS(certFile, keyFile, "0s", "")})
		second := ca.Issue(t, "localhost")
		second.Write(t, certFile, keyFile)
		// No polling: the files are read again only on SIGHUP.
		if st := servedCert(t, p.Host, "localhost", ca.Pool()); st.PeerCertificates[0].SerialNumber.Cmp(first.Serial) != 0 {
			t.Fatalf("serial before SIGHUP = %s, want %s", st.PeerCertificates[0].SerialNumber, first.Serial)
		}
		p.signal(t, syscall.SIGHUP)
		waitServed(t, p, ca, second)
		if code, _ := p.adminGet(t, "/healthz"); code != http.StatusOK {
			t.Errorf("/healthz after SIGHUP = %d, want 200 (SIGHUP must not stop the process)", code)
		}
	})
}

// TestACME: the proxy obtains its certificate from Pebble, over HTTP-01
// answered by the redirect listener and over TLS-ALPN-01 answered by the S3
// listener, reports ready, and minio-go talks to it over https trusting
// only Pebble's issuing root.
func TestACME(t *testing.T) {
	pb := startPebble(t, 0)
	tests := []struct {
		name, challenge, domain string
	}{
		{"http-01", "http-01", "http01.sseproxy.test"},
		{"tls-alpn-01", "tls-alpn-01", "tlsalpn.sseproxy.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storage := filepath.Join(t.TempDir(), "acme")
			conf := fmt.Sprintf(`mode = "acme"
acme_domains = [%q]
acme_email = "ops@sseproxy.test"
acme_ca = %q
acme_ca_root = %q
acme_storage = %q
acme_challenges = [%q]
acme_http_port = %d
acme_tls_port = %d
`, tt.domain, pb.Directory, pb.RootFile, storage, tt.challenge, pb.HTTPPort, pb.TLSPort)
			oc := opsConfig{tls: conf}
			if tt.challenge == "http-01" {
				// The redirect listener sits where Pebble validates HTTP-01.
				oc.tls += fmt.Sprintf("redirect_listen = %q\n", loopback(pb.HTTPPort))
			} else {
				// The S3 listener sits where Pebble validates TLS-ALPN-01.
				oc.listen = loopback(pb.TLSPort)
			}
			p := startOps(t, oc)
			body := p.waitAdmin(t, "/readyz", http.StatusOK, 90*time.Second)
			if !strings.Contains(body, "tls: ok") {
				t.Errorf("/readyz = %q, want a tls: ok line", body)
			}
			roots := pb.issuingRoots(t)
			st := servedCert(t, p.Host, tt.domain, roots, "h2", "http/1.1")
			if leaf := st.PeerCertificates[0]; !slices.Contains(leaf.DNSNames, tt.domain) || st.NegotiatedProtocol != "h2" {
				t.Errorf("served certificate for %q, ALPN %q; want one for %q over h2", leaf.DNSNames, st.NegotiatedProtocol, tt.domain)
			}
			_, port, _ := net.SplitHostPort(p.Host)
			roundTrip(t, tlsClient(t, tt.domain+":"+port, p.Host, roots), payload(200_000, 2))

			// The challenge answered was of the configured type.
			if !strings.Contains(p.log.String(), `"msg":"served key authentication`) || !strings.Contains(p.log.String(), `"challenge":"`+tt.challenge+`"`) {
				t.Errorf("log does not show the proxy serving a %s challenge", tt.challenge)
			}
			certs, _ := filepath.Glob(filepath.Join(storage, "certificates", "*", tt.domain, tt.domain+".crt"))
			if len(certs) != 1 {
				t.Errorf("certificates in %s = %q, want one for %s", storage, certs, tt.domain)
			}
			if tt.challenge == "http-01" {
				noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				req, _ := http.NewRequest(http.MethodGet, "http://"+loopback(pb.HTTPPort)+"/b/k", nil)
				req.Host = tt.domain
				resp, err := noFollow.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if want := "https://" + tt.domain + ":" + port + "/b/k"; resp.Header.Get("Location") != want {
					t.Errorf("redirect Location = %q, want %q", resp.Header.Get("Location"), want)
				}
			}
		})
	}
}

// TestACMERenewal: with certificates that live 30 seconds and renewal
// checked every second, the running proxy renews its certificate and
// serves the new one, which minio-go accepts. (Pebble's renewal info
// suggests a window spanning the whole of so short a validity, so certmagic
// renews at a random moment of it, found by the 1s check.)
func TestACMERenewal(t *testing.T) {
	pb := startPebble(t, 30)
	const domain = "renew.sseproxy.test"
	conf := fmt.Sprintf(`mode = "acme"
acme_domains = [%q]
acme_ca = %q
acme_ca_root = %q
acme_storage = %q
acme_challenges = ["http-01"]
acme_http_port = %d
acme_tls_port = %d
acme_renew_interval = "1s"
redirect_listen = %q
`, domain, pb.Directory, pb.RootFile, filepath.Join(t.TempDir(), "acme"), pb.HTTPPort, pb.TLSPort, loopback(pb.HTTPPort))
	p := startOps(t, opsConfig{tls: conf})
	p.waitAdmin(t, "/readyz", http.StatusOK, 30*time.Second)
	roots := pb.issuingRoots(t)
	first := servedCert(t, p.Host, domain, roots).PeerCertificates[0]
	if first.NotAfter.Sub(first.NotBefore) > time.Minute {
		t.Fatalf("first certificate valid %s to %s, want a short-lived one", first.NotBefore, first.NotAfter)
	}

	// No restart: the maintenance loop must replace it before it expires.
	deadline := time.Now().Add(60 * time.Second)
	leaf := first
	for leaf.SerialNumber.Cmp(first.SerialNumber) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("served serial still %s 60s later (first expires %s)", first.SerialNumber, first.NotAfter)
		}
		time.Sleep(250 * time.Millisecond)
		leaf = servedCert(t, p.Host, domain, roots).PeerCertificates[0]
	}
	if err := leaf.VerifyHostname(domain); err != nil || !time.Now().Before(leaf.NotAfter) {
		t.Errorf("renewed certificate for %q valid to %s: %v; want a current one for %q", leaf.DNSNames, leaf.NotAfter, err, domain)
	}
	_, port, _ := net.SplitHostPort(p.Host)
	roundTrip(t, tlsClient(t, domain+":"+port, p.Host, roots), payload(100_000, 3))
}

// TestBackendTLS: the proxy talks to a MinIO over https that it trusts
// through backend.ca_file; without it the backend is unreachable, with
// insecure_skip_verify it is reached with a warning; /readyz follows the
// backend going away and coming back.
func TestBackendTLS(t *testing.T) {
	ca := testcert.NewCA(t, "ops backend CA")
	m := startTLSMinIO(t, ca)
	caFile := filepath.Join(t.TempDir(), "backend-ca.pem")
	testcert.WriteFile(t, caFile, ca.PEM)

	t.Run("system roots only", func(t *testing.T) {
		p := startOps(t, opsConfig{endpoint: m.Endpoint})
		if body := p.waitAdmin(t, "/readyz", http.StatusServiceUnavailable, 10*time.Second); !strings.Contains(body, "backend: ") || !strings.Contains(body, "certificate") {
			t.Errorf("/readyz = %q, want a backend certificate error", body)
		}
		if _, err := p.client(t).ListBuckets(context.Background()); err == nil {
			t.Errorf("ListBuckets through a proxy that does not trust the backend succeeded")
		}
	})

	t.Run("insecure_skip_verify", func(t *testing.T) {
		p := startOps(t, opsConfig{endpoint: m.Endpoint, backend: "insecure_skip_verify = true"})
		p.waitLog(t, "backend.insecure_skip_verify is on", 5*time.Second)
		p.waitAdmin(t, "/readyz", http.StatusOK, 10*time.Second)
		roundTrip(t, p.client(t), payload(10_000, 3))
	})

	t.Run("ca_file and readiness", func(t *testing.T) {
		p := startOps(t, opsConfig{endpoint: m.Endpoint, backend: fmt.Sprintf("ca_file = %q", caFile)})
		body := p.waitAdmin(t, "/readyz", http.StatusOK, 10*time.Second)
		if !strings.Contains(body, "backend: ok") || !strings.Contains(body, "kms: ok") {
			t.Errorf("/readyz = %q, want backend: ok and kms: ok", body)
		}
		c := p.client(t)
		ctx := context.Background()
		bucket := newBucket(t, c)
		data := payload(500_000, 4)
		if _, err := c.PutObject(ctx, bucket, "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject over https backend = %v", err)
		}

		m.stop()
		if body := p.waitAdmin(t, "/readyz", http.StatusServiceUnavailable, 20*time.Second); !strings.Contains(body, "backend: ") || strings.Contains(body, "backend: ok") {
			t.Errorf("/readyz with the backend down = %q, want a backend error", body)
		}
		if code, _ := p.adminGet(t, "/healthz"); code != http.StatusOK {
			t.Errorf("/healthz with the backend down = %d, want 200: the process is alive", code)
		}
		m.start(t)
		p.waitAdmin(t, "/readyz", http.StatusOK, 30*time.Second)
		if got, err := getAll(c, bucket, "k", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, data) {
			t.Errorf("GET after the backend returned = %d bytes, %v; want the stored object", len(got), err)
		}
	})
}

// TestAdminMetrics: after a known set of requests the counters hold
// exactly what was done.
func TestAdminMetrics(t *testing.T) {
	p := startOps(t, opsConfig{})
	c := p.client(t)
	bucket := newBucket(t, c)
	endpoint := "http://" + p.Host

	do := func(method, path string, body []byte, wantStatus int) []byte {
		t.Helper()
		req := signedRequest(t, endpoint, method, path, nil, body, clientAccessKey, clientSecretKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, data, wantStatus)
		}
		return data
	}
	sizes := []int{1000, 2000, 3000}
	for i, n := range sizes {
		do(http.MethodPut, fmt.Sprintf("/%s/k%d", bucket, i), payload(n, uint64(i)), http.StatusOK)
	}
	getBytes := 0
	for i := range 2 {
		if got := do(http.MethodGet, fmt.Sprintf("/%s/k%d", bucket, i), nil, http.StatusOK); len(got) != sizes[i] {
			t.Fatalf("GET k%d = %d bytes, want %d", i, len(got), sizes[i])
		}
		getBytes += sizes[i]
	}
	getBytes += len(do(http.MethodGet, "/"+bucket+"/missing", nil, http.StatusNotFound))
	// The ciphertext of k0 under another name: its wrapped key is bound to
	// k0, so the KMS refuses to unwrap it.
	stored, meta := getDirect(t, bucket, "k0")
	putDirect(t, bucket, "moved", stored, meta)
	getBytes += len(do(http.MethodGet, "/"+bucket+"/moved", nil, http.StatusInternalServerError))
	resp, err := http.Get(endpoint + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got := p.metrics(t)
	want := map[string]float64{
		metric("sseproxy_requests_total", "op", "CreateBucket", "status", "200"):    1,
		metric("sseproxy_requests_total", "op", "PutObject", "status", "200"):       3,
		metric("sseproxy_received_bytes_total", "op", "PutObject"):                  6000,
		metric("sseproxy_request_duration_seconds_count", "op", "PutObject"):        3,
		metric("sseproxy_requests_in_flight", "op", "PutObject"):                    0,
		metric("sseproxy_requests_total", "op", "GetObject", "status", "200"):       2,
		metric("sseproxy_requests_total", "op", "GetObject", "status", "404"):       1,
		metric("sseproxy_requests_total", "op", "GetObject", "status", "500"):       1,
		metric("sseproxy_sent_bytes_total", "op", "GetObject"):                      float64(getBytes),
		metric("sseproxy_requests_total", "op", "ListBuckets", "status", "403"):     1,
		metric("sseproxy_crypto_failures_total", "kind", "decrypt"):                 1,
		metric("sseproxy_crypto_failures_total", "kind", "kms"):                     0,
		metric("sseproxy_kms_requests_total", "method", "GenerateDataKey"):          3,
		metric("sseproxy_kms_requests_total", "method", "Decrypt"):                  3,
		metric("sseproxy_kms_errors_total", "kind", "decrypt", "method", "Decrypt"): 1,
		metric("sseproxy_kms_request_duration_seconds_count", "method", "Decrypt"):  3,
		metric("sseproxy_build_info", "version", "dev"):                             1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if t.Failed() {
		var lines []string
		for k, v := range got {
			if strings.HasPrefix(k, "sseproxy_") && !strings.Contains(k, "_bucket{") {
				lines = append(lines, k+" "+strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		slices.Sort(lines)
		t.Logf("sseproxy metrics:\n%s", strings.Join(lines, "\n"))
	}
}

// TestAdminHealthcheck: `sseproxy healthcheck URL` exits 0 on 200 and 1
// otherwise, for container health checks.
func TestAdminHealthcheck(t *testing.T) {
	p := startOps(t, opsConfig{})
	tests := []struct {
		name, url string
		ok        bool
	}{
		{"healthz", p.Admin + "/healthz", true},
		{"not found", p.Admin + "/nope", false},
		{"nothing listening", "http://" + loopback(freePort(t)) + "/healthz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(proxyBinary, "healthcheck", tt.url).CombinedOutput()
			var exit *exec.ExitError
			switch {
			case tt.ok && err != nil:
				t.Errorf("healthcheck %s = %v (%s), want exit 0", tt.url, err, out)
			case !tt.ok && (!errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "healthcheck:")):
				t.Errorf("healthcheck %s = %v (%s), want exit 1 with a message", tt.url, err, out)
			}
		})
	}
}

// TestShutdownGrace: SIGTERM during a 200 MiB upload stops new connections
// at once; the upload completes when the grace period allows it, and is
// aborted, leaving no object, when the grace period ends first.
func TestShutdownGrace(t *testing.T) {
	const size, gateAt = 200 << 20, 16 << 20

	// upload starts a PUT of size bytes whose body stalls after gateAt
	// bytes, and returns the body and the PUT's outcome.
	upload := func(t *testing.T, p *opsProxy, bucket string) (*gatedReader, chan error) {
		r := newGatedReader(size, gateAt, 42)
		done := make(chan error, 1)
		go func() {
			_, err := p.client(t).PutObject(context.Background(), bucket, "big", r, size,
				minio.PutObjectOptions{DisableMultipart: true})
			done <- err
		}()
		select {
		case <-r.reached:
		case err := <-done:
			t.Fatalf("PUT ended before its body stalled: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatalf("PUT did not send %d bytes within 60s", gateAt)
		}
		t.Cleanup(func() { close(r.stop) })
		return r, done
	}

	t.Run("upload finishes within the grace period", func(t *testing.T) {
		p := startOps(t, opsConfig{server: `shutdown_grace = "5m"`})
		bucket := newBucket(t, p.client(t))
		r, done := upload(t, p, bucket)
		p.signal(t, syscall.SIGTERM)

		// New connections are refused while the upload is in flight.
		deadline := time.Now().Add(10 * time.Second)
		for {
			conn, err := net.DialTimeout("tcp", p.Host, time.Second)
			if err != nil {
				break
			}
			conn.Close()
			if time.Now().After(deadline) {
				t.Fatalf("the S3 listener still accepts connections 10s after SIGTERM")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if code, body := p.adminGet(t, "/readyz"); code != http.StatusServiceUnavailable || body != "shutting down\n" {
			t.Errorf("/readyz while draining = %d %q, want 503 \"shutting down\\n\"", code, body)
		}
		if m := p.metrics(t); m[metric("sseproxy_requests_in_flight", "op", "PutObject")] != 1 {
			t.Errorf("PutObject requests in flight while draining = %v, want 1", m[metric("sseproxy_requests_in_flight", "op", "PutObject")])
		}

		close(r.open)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("PUT in flight at SIGTERM = %v, want success", err)
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("PUT did not finish within 3 minutes")
		}
		if err := p.waitExit(t, 30*time.Second); err != nil {
			t.Errorf("exit status = %v, want 0", err)
		}
		if !strings.Contains(p.log.String(), "every request finished") {
			t.Errorf("log lacks \"every request finished\"")
		}

		// The object is whole: read it back through a new proxy.
		q := startOps(t, opsConfig{keyring: p.Keyring})
		obj, err := q.client(t).GetObject(context.Background(), bucket, "big", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		h := sha256.New()
		n, err := io.Copy(h, obj)
		if err != nil || n != size || !bytes.Equal(h.Sum(nil), r.sum.Sum(nil)) {
			t.Errorf("GET big = %d bytes, %v, hash match %v; want the %d bytes uploaded", n, err, bytes.Equal(h.Sum(nil), r.sum.Sum(nil)), size)
		}
	})

	t.Run("grace period ends first", func(t *testing.T) {
		const grace = time.Second
		p := startOps(t, opsConfig{server: fmt.Sprintf("shutdown_grace = %q", grace)})
		bucket := newBucket(t, p.client(t))
		r, done := upload(t, p, bucket)
		start := time.Now()
		p.signal(t, syscall.SIGTERM)
		if err := p.waitExit(t, 30*time.Second); err != nil {
			t.Errorf("exit status = %v, want 0", err)
		}
		if took := time.Since(start); took < grace || took > grace+10*time.Second {
			t.Errorf("exit %s after SIGTERM, want between the grace period %s and %s", took, grace, grace+10*time.Second)
		}
		// The client goes on sending (net/http's PUT returns only once its
		// body reader does): into a closed connection.
		close(r.open)
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("PUT cut off by the shutdown succeeded")
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("PUT still running 30s after the proxy exited")
		}
		if !strings.Contains(p.log.String(), "grace period over") {
			t.Errorf("log lacks the grace period warning")
		}
		_, err := direct(t).StatObject(context.Background(), bucket, "big", minio.StatObjectOptions{})
		if code := minio.ToErrorResponse(err).Code; code != "NoSuchKey" {
			t.Errorf("backend StatObject(big) after the aborted upload = %v (code %q), want NoSuchKey", err, code)
		}
	})
}

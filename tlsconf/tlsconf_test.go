package tlsconf

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/internal/testcert"
)

// served returns the serial of the certificate cfg serves.
func served(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil {
		t.Fatalf("GetCertificate() = %v", err)
	}
	return c.Leaf.SerialNumber.String()
}

func TestFilesReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca := testcert.NewCA(t, "test CA")
	first := ca.Issue(t, "localhost")
	first.Write(t, certFile, keyFile)

	f, err := NewFiles(FilesOptions{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatalf("NewFiles() = %v", err)
	}
	cfg := f.TLSConfig()
	if got, want := served(t, cfg), first.Serial.String(); got != want {
		t.Fatalf("serial = %s, want %s", got, want)
	}
	if err := f.Ready(context.Background()); err != nil {
		t.Errorf("Ready() = %v, want nil", err)
	}
	if changed, err := f.reload(false); changed || err != nil {
		t.Errorf("reload(false) with unchanged files = %v, %v, want false, nil", changed, err)
	}

	second := ca.Issue(t, "localhost")
	second.Write(t, certFile, keyFile)
	if changed, err := f.reload(false); !changed || err != nil {
		t.Fatalf("reload(false) after replacing the files = %v, %v, want true, nil", changed, err)
	}
	if got, want := served(t, cfg), second.Serial.String(); got != want {
		t.Errorf("serial after reload = %s (a config made before the reload), want %s", got, want)
	}

	// A half-done rotation (new certificate, old key) is refused and the
	// current pair kept; finishing it loads the new pair.
	third := ca.Issue(t, "localhost")
	testcert.WriteFile(t, certFile, third.CertPEM)
	if _, err := f.reload(false); err == nil || !strings.Contains(err.Error(), "tlsconf: loading") {
		t.Errorf("reload(false) with a mismatched key = %v, want a tlsconf: loading error", err)
	}
	if got, want := served(t, cfg), second.Serial.String(); got != want {
		t.Errorf("serial after a failed reload = %s, want the previous %s", got, want)
	}
	testcert.WriteFile(t, keyFile, third.KeyPEM)
	if err := f.Reload(); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	if got, want := served(t, cfg), third.Serial.String(); got != want {
		t.Errorf("serial after Reload = %s, want %s", got, want)
	}

	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); err == nil {
		t.Errorf("Reload() without a key file = nil, want an error")
	}
	if got, want := served(t, cfg), third.Serial.String(); got != want {
		t.Errorf("serial after a failed Reload = %s, want %s", got, want)
	}
}

func TestFilesRunPolls(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca := testcert.NewCA(t, "test CA")
	ca.Issue(t, "localhost").Write(t, certFile, keyFile)
	f, err := NewFiles(FilesOptions{CertFile: certFile, KeyFile: keyFile, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	next := ca.Issue(t, "localhost")
	next.Write(t, certFile, keyFile)
	cfg := f.TLSConfig()
	deadline := time.Now().Add(5 * time.Second)
	for served(t, cfg) != next.Serial.String() {
		if time.Now().After(deadline) {
			t.Fatalf("Run did not load the replaced files within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewFilesErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    FilesOptions
		want string
	}{
		{"no files", FilesOptions{}, "tlsconf: CertFile and KeyFile are required"},
		{"missing", FilesOptions{CertFile: filepath.Join(dir, "nope"), KeyFile: junk}, "no such file"},
		{"not PEM", FilesOptions{CertFile: junk, KeyFile: junk}, "tlsconf: loading"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewFiles(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewFiles(%+v) = %v, want an error containing %q", tt.o, err, tt.want)
			}
		})
	}
}

func TestServerConfig(t *testing.T) {
	cfg := serverConfig(nil, "acme-tls/1")
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
	}
	if want := []string{"h2", "http/1.1", "acme-tls/1"}; !slices.Equal(cfg.NextProtos, want) {
		t.Errorf("NextProtos = %q, want %q", cfg.NextProtos, want)
	}
}

func TestRedirect(t *testing.T) {
	tests := []struct {
		name, host, target string
		port               int
		want               string
	}{
		{"default port", "s3.example.com", "/bucket/key?uploads", 443, "https://s3.example.com/bucket/key?uploads"},
		{"drops the http port", "s3.example.com:80", "/b/k", 443, "https://s3.example.com/b/k"},
		{"other https port", "s3.example.com:8080", "/", 8443, "https://s3.example.com:8443/"},
		{"IPv6", "[::1]:80", "/b", 443, "https://[::1]/b"},
		{"IPv6 other port", "[::1]:80", "/b", 8443, "https://[::1]:8443/b"},
		{"escaped key", "h", "/b/a%20b", 443, "https://h/b/a%20b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPut, "http://"+tt.host+tt.target, nil)
			w := httptest.NewRecorder()
			Redirect(tt.port).ServeHTTP(w, r)
			if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != tt.want {
				t.Errorf("Redirect(%d) for %s%s = %d %q, want 308 %q", tt.port, tt.host, tt.target, w.Code, w.Header().Get("Location"), tt.want)
			}
		})
	}
}

func TestNewACMEErrors(t *testing.T) {
	dir := t.TempDir()
	ok := ACMEOptions{Domains: []string{"s3.example.com"}, Storage: dir, HTTPChallenge: true}
	tests := []struct {
		name   string
		change func(*ACMEOptions)
		want   string
	}{
		{"no domains", func(o *ACMEOptions) { o.Domains = nil }, "at least one domain"},
		{"no storage", func(o *ACMEOptions) { o.Storage = "" }, "storage directory"},
		{"no challenge", func(o *ACMEOptions) { o.HTTPChallenge = false }, "challenge type"},
		{"missing root", func(o *ACMEOptions) { o.CARootFile = filepath.Join(dir, "nope.pem") }, "tlsconf: ACME CA root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.change(&o)
			if _, err := NewACME(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewACME() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	a, err := NewACME(ok)
	if err != nil {
		t.Fatalf("NewACME(%+v) = %v", ok, err)
	}
	defer a.Stop()
	if err := a.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "s3.example.com") {
		t.Errorf("Ready() before any certificate = %v, want an error naming the domain", err)
	}
}

package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sseproxy/sseproxy/internal/testcert"
)

// TestBackendTLS runs the client against an https store that demands a
// client certificate signed by its CA, with the TLS options in every
// combination that matters.
func TestBackendTLS(t *testing.T) {
	dir := t.TempDir()
	serverCA := testcert.NewCA(t, "store CA")
	clientCA := testcert.NewCA(t, "client CA")
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := file("ca.pem", serverCA.PEM)
	client := clientCA.Issue(t, "sseproxy")
	certFile, keyFile := file("client.pem", client.CertPEM), file("client.key", client.KeyPEM)
	junk := file("junk.pem", []byte("not pem"))

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write([]byte(`<ListAllMyBucketsResult><Buckets><Bucket><Name>b</Name></Bucket></Buckets></ListAllMyBucketsResult>`))
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{serverCA.Issue(t, "127.0.0.1").TLS(t)},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCA.Pool(),
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing rows' handshake errors
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tests := []struct {
		name    string
		o       Options
		wantErr string // "" for a successful ListBuckets
		newErr  string // an error of New itself
	}{
		{name: "ca and client certificate", o: Options{CAFile: caFile, ClientCertFile: certFile, ClientKeyFile: keyFile}},
		{name: "insecure with client certificate", o: Options{InsecureSkipVerify: true, ClientCertFile: certFile, ClientKeyFile: keyFile}},
		{name: "system roots only", o: Options{ClientCertFile: certFile, ClientKeyFile: keyFile}, wantErr: "certificate"},
		{name: "no client certificate", o: Options{CAFile: caFile}, wantErr: "certificate"},
		{name: "missing CA file", o: Options{CAFile: filepath.Join(dir, "nope.pem")}, newErr: "backend: CA file"},
		{name: "CA file without PEM", o: Options{CAFile: junk}, newErr: "no PEM certificate found"},
		{name: "key without certificate", o: Options{ClientKeyFile: keyFile}, newErr: "must be set together"},
		{name: "bad key pair", o: Options{ClientCertFile: certFile, ClientKeyFile: junk}, newErr: "backend: client certificate"},
		{name: "with a transport", o: Options{CAFile: caFile, Transport: http.DefaultTransport}, newErr: "cannot be combined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Endpoint, o.AccessKey, o.SecretKey = srv.URL, testAccessKey, testSecretKey
			c, err := New(o)
			if tt.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.newErr) {
					t.Fatalf("New(%+v) error = %v, want it to contain %q", tt.o, err, tt.newErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%+v) = %v", tt.o, err)
			}
			bs, err := c.ListBuckets(context.Background())
			if tt.wantErr == "" {
				if err != nil || len(bs) != 1 || bs[0].Name != "b" {
					t.Fatalf("ListBuckets() = %v, %v, want [b], nil", bs, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrUnreachable) {
				t.Fatalf("ListBuckets() error = %v, want an ErrUnreachable mentioning %q", err, tt.wantErr)
			}
		})
	}
}

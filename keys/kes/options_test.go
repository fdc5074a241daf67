package kes

import (
	"crypto/tls"
	"github.com/sseproxy/sseproxy/internal/testcert"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "test CA")
	client := issue(t, ca, "client")
	certFile, keyFile := client.write(t, dir, "client")
	caFile := filepath.Join(dir, "ca.PEM")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A CA certificate is refused for what it is; the key it comes with does not matter.
	caLeaf := tls.Certificate{Certificate: [][]byte{ca.Cert.Raw}, PrivateKey: client.tls.PrivateKey}

	valid := func() Options {
		return Options{Endpoints: []string{"https://127.0.0.1:7373"}, ClientCert: certFile, ClientKey: keyFile}
	}
	for _, tc := range []struct {
		name    string
		edit    func(*Options)
		wantErr string // "" for success
	}{
		{"files", func(o *Options) {}, ""},
		{"files-and-ca-file", func(o *Options) { o.CAFile = caFile }, ""},
		{"certificate", func(o *Options) { o.ClientCert, o.ClientKey, o.Certificate = "", "", &client.tls }, ""},
		{"endpoints-trailing-slash", func(o *Options) { o.Endpoints = []string{"https://kes1:7373/", "https://[::1]:7373"} }, ""},
		{"default-key", func(o *Options) { o.DefaultKey = "sseproxy-default" }, ""},
		{"timeout", func(o *Options) { o.Timeout = time.Millisecond }, ""},

		{"no-endpoints", func(o *Options) { o.Endpoints = nil }, "no endpoints"},
		{"http-endpoint", func(o *Options) { o.Endpoints = []string{"http://127.0.0.1:7373"} }, "invalid endpoint"},
		{"no-scheme", func(o *Options) { o.Endpoints = []string{"127.0.0.1:7373"} }, "invalid endpoint"},
		{"endpoint-path", func(o *Options) { o.Endpoints = []string{"https://kes:7373/v1"} }, "invalid endpoint"},
		{"endpoint-query", func(o *Options) { o.Endpoints = []string{"https://kes:7373?x=1"} }, "invalid endpoint"},
		{"endpoint-user", func(o *Options) { o.Endpoints = []string{"https://u:p@kes:7373"} }, "invalid endpoint"},
		{"second-endpoint-bad", func(o *Options) { o.Endpoints = append(o.Endpoints, "") }, "invalid endpoint"},
		{"negative-timeout", func(o *Options) { o.Timeout = -time.Second }, "negative timeout"},
		{"bad-default-key", func(o *Options) { o.DefaultKey = "a/b" }, "invalid default key"},
		{"no-certificate", func(o *Options) { o.ClientCert, o.ClientKey = "", "" }, "no client certificate"},
		{"cert-without-key", func(o *Options) { o.ClientKey = "" }, "together"},
		{"key-without-cert", func(o *Options) { o.ClientCert = "" }, "together"},
		{"both-certificates", func(o *Options) { o.Certificate = &client.tls }, "give one"},
		{"missing-cert-file", func(o *Options) { o.ClientCert = filepath.Join(dir, "missing.crt") }, "client certificate"},
		{"mismatched-key", func(o *Options) { o.ClientCert, o.ClientKey = certFile, notPEM }, "client certificate"},
		{"empty-certificate", func(o *Options) { o.ClientCert, o.ClientKey, o.Certificate = "", "", &tls.Certificate{} }, "no certificate"},
		{"ca-client-certificate", func(o *Options) { o.ClientCert, o.ClientKey, o.Certificate = "", "", &caLeaf }, "CA certificate"},
		{"both-ca-options", func(o *Options) { o.CAFile, o.RootCAs = caFile, ca.Pool() }, "give one"},
		{"missing-ca-file", func(o *Options) { o.CAFile = filepath.Join(dir, "missing.pem") }, "CA file"},
		{"ca-file-not-pem", func(o *Options) { o.CAFile = notPEM }, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := valid()
			tc.edit(&opts)
			c, err := New(opts)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("New(%+v) = %v, want success", opts, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("New(%+v) = %v, want an error containing %q", opts, err, tc.wantErr)
			case err == nil:
				if c.Identity() != client.identity {
					t.Errorf("Identity() = %s, want %s", c.Identity(), client.identity)
				}
				if opts.Timeout == 0 && c.timeout != DefaultTimeout {
					t.Errorf("timeout = %v, want DefaultTimeout %v", c.timeout, DefaultTimeout)
				}
				for _, e := range c.endpoints {
					if strings.HasSuffix(e, "/") {
						t.Errorf("endpoint %q keeps its trailing slash", e)
					}
				}
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"a", true},
		{"sseproxy-a", true},
		{"Key_01", true},
		{"_x", true},
		{"x_", true},
		{strings.Repeat("k", 80), true},
		{"", false},
		{"_", false},
		{"-a", false},
		{"a-", false},
		{"-", false},
		{strings.Repeat("k", 81), false},
		{"a/b", false},
		{"a.b", false},
		{"a:b", false},
		{"..", false},
		{"a b", false},
		{"a%2Fb", false},
		{"ключ", false},
	} {
		if got := validName(tc.name); got != tc.want {
			t.Errorf("validName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

package main

import (
	"strings"
	"testing"

	"github.com/sseproxy/sseproxy/config"
)

// TestDescribe: `config check` says what serve would do for each TLS mode,
// the admin listener and the backend's TLS.
func TestDescribe(t *testing.T) {
	const backendTLS = "[backend]\nendpoint = \"https://s3.example.com\"\naccess_key = \"a\"\nsecret_key = \"b\"\n" +
		"ca_file = \"ca.pem\"\nclient_cert_file = \"c.pem\"\nclient_key_file = \"k.pem\"\ninsecure_skip_verify = true\n" +
		"[[credentials]]\naccess_key = \"client\"\nsecret_key = \"client-secret\"\n"
	tests := []struct {
		name string
		toml string
		want []string
	}{
		{"defaults", "", []string{
			"S3 API: http://127.0.0.1:8080 (read_header_timeout 30s, idle_timeout 2m0s, shutdown_grace 30s)",
			"TLS: off (plain HTTP)",
			"admin: off",
			"backend: development mode (embedded store in ./sseproxy-data)",
		}},
		{"files", "[tls]\nmode = \"files\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\nredirect_listen = \":8080\"\n[admin]\nlisten = \"127.0.0.1:9090\"", []string{
			"S3 API: https://127.0.0.1:8080",
			"TLS: certificate c.pem, key k.pem, reloaded when changed (checked every 5s) and on SIGHUP",
			"redirect: http://:8080 -> https",
			"admin: http://127.0.0.1:9090/healthz, /readyz, /metrics",
		}},
		{"files on SIGHUP only", "[tls]\nmode = \"files\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\nreload_interval = \"0s\"", []string{
			"TLS: certificate c.pem, key k.pem, reloaded on SIGHUP",
		}},
		{"acme", "[tls]\nmode = \"acme\"\nacme_domains = [\"s3.example.com\"]\nacme_ca_root = \"root.pem\"\nacme_challenges = [\"tls-alpn-01\"]\nredirect_listen = \":80\"", []string{
			"TLS: ACME certificates for s3.example.com from https://acme-v02.api.letsencrypt.org/directory (roots from root.pem), challenges tls-alpn-01 (HTTP-01 on local port 80, TLS-ALPN-01 on local port 443), storage ./sseproxy-acme",
			"redirect: http://:80 -> https and HTTP-01 challenges",
		}},
		{"backend tls", backendTLS, []string{
			"backend: https://s3.example.com region us-east-1, CA ca.pem, client certificate c.pem, WARNING: certificate NOT verified (insecure_skip_verify)",
			"clients: 1 credential(s); encryption default AES256",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.toml), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(describe(cfg), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("describe() lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

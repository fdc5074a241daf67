package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// prod is a valid production configuration: a backend with keys and one
// client credential.
var prod = prodWith()

// prodWith returns prod with some backend keys replaced: prodWith("endpoint",
// "ftp://x"). TOML forbids defining [backend] twice, so rows cannot append.
// Keys other than endpoint, access_key and secret_key follow in the order
// given; the values "true" and "false" are written as booleans.
func prodWith(kv ...string) string {
	backend := map[string]string{"endpoint": "https://s3.example.com", "access_key": "backend-ak", "secret_key": "backend-sk"}
	order := []string{"endpoint", "access_key", "secret_key"}
	for i := 0; i+1 < len(kv); i += 2 {
		if _, ok := backend[kv[i]]; !ok {
			order = append(order, kv[i])
		}
		backend[kv[i]] = kv[i+1]
	}
	var b strings.Builder
	b.WriteString("[backend]\n")
	for _, k := range order {
		if v := backend[k]; v == "true" || v == "false" {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		} else {
			fmt.Fprintf(&b, "%s = %q\n", k, v)
		}
	}
	b.WriteString("[[credentials]]\naccess_key = \"client\"\nsecret_key = \"client-secret\"\n")
	return b.String()
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		wantKey string
		wantMsg string // the whole error, when it matters
		secret  string // must not appear in the error
	}{
		{"listen without port", "[server]\nlisten = \"127.0.0.1\"", "server.listen", "", ""},
		{"listen named port", "[server]\nlisten = \"127.0.0.1:http\"", "server.listen", "", ""},
		{"listen port too big", "[server]\nlisten = \":65536\"", "server.listen", "", ""},
		{"listen empty", "[server]\nlisten = \"\"", "server.listen",
			`config: server.listen: invalid value "" (want host:port such as "127.0.0.1:8080")`, ""},
		{"domain with scheme", "[server]\ndomains = [\"https://s3.example.com\"]", "server.domains[0]", "", ""},
		{"domain with port", "[server]\ndomains = [\"s3.example.com:8080\"]", "server.domains[0]", "", ""},
		{"second domain bad", "[server]\ndomains = [\"s3.example.com\", \".example.com\"]", "server.domains[1]", "", ""},
		{"domain label hyphen", "[server]\ndomains = [\"-s3.example.com\"]", "server.domains[0]", "", ""},
		{"domain empty", "[server]\ndomains = [\"\"]", "server.domains[0]", "", ""},
		{"endpoint without scheme", prodWith("endpoint", "s3.example.com"), "backend.endpoint", "", ""},
		{"endpoint ftp", prodWith("endpoint", "ftp://s3.example.com"), "backend.endpoint", "", ""},
		{"endpoint without host", prodWith("endpoint", "http://"), "backend.endpoint", "", ""},
		{"endpoint with path", prodWith("endpoint", "http://127.0.0.1:9000/bucket"), "backend.endpoint",
			`config: backend.endpoint: invalid value "http://127.0.0.1:9000/bucket" (want no path, query or fragment)`, ""},
		{"endpoint with query", prodWith("endpoint", "http://127.0.0.1:9000?x=1"), "backend.endpoint", "", ""},
		{"endpoint with empty query", prodWith("endpoint", "http://127.0.0.1:9000/?"), "backend.endpoint", "", ""},
		{"endpoint with fragment", prodWith("endpoint", "http://127.0.0.1:9000#x"), "backend.endpoint", "", ""},
		{"endpoint port too big", prodWith("endpoint", "http://127.0.0.1:99999"), "backend.endpoint", "", ""},
		{"endpoint with password", prodWith("endpoint", "http://user:hunter22@127.0.0.1:9000"), "backend.endpoint", "", "hunter22"},
		{"region empty", "[backend]\nregion = \"\"", "backend.region", "", ""},
		{"region with slash", "[backend]\nregion = \"us/east\"", "backend.region", "", ""},
		{"backend access key missing", prodWith("access_key", ""), "backend.access_key", "", ""},
		{"backend secret key missing", prodWith("secret_key", ""), "backend.secret_key",
			"config: backend.secret_key: required when backend.endpoint is set (or set SSEPROXY_BACKEND_SECRET_KEY)", ""},
		{"data dir empty", "[backend]\ndata_dir = \"\"", "backend.data_dir", "config: backend.data_dir: required", ""},
		{"no credentials in production", "[backend]\nendpoint = \"https://s3.example.com\"\naccess_key = \"a\"\nsecret_key = \"b\"", "credentials", "", ""},
		{"access key too short", "[[credentials]]\naccess_key = \"ab\"\nsecret_key = \"12345678\"", "credentials[0].access_key", "", ""},
		{"access key too long", "[[credentials]]\naccess_key = \"" + strings.Repeat("a", 129) + "\"\nsecret_key = \"12345678\"", "credentials[0].access_key", "", ""},
		{"access key with slash", "[[credentials]]\naccess_key = \"ab/c\"\nsecret_key = \"12345678\"", "credentials[0].access_key", "", ""},
		{"access key with space", "[[credentials]]\naccess_key = \"ab c\"\nsecret_key = \"12345678\"", "credentials[0].access_key", "", ""},
		{"access key missing", "[[credentials]]\nsecret_key = \"12345678\"", "credentials[0].access_key", "", ""},
		{"secret too short", "[[credentials]]\naccess_key = \"abc\"\nsecret_key = \"s3cr3t!\"", "credentials[0].secret_key",
			"config: credentials[0].secret_key: too short (want at least 8 characters)", "s3cr3t!"},
		{"duplicate access key", "[[credentials]]\naccess_key = \"abc\"\nsecret_key = \"12345678\"\n[[credentials]]\naccess_key = \"abc\"\nsecret_key = \"87654321\"",
			"credentials[1].access_key", `config: credentials[1].access_key: duplicate of credentials[0].access_key "abc"`, "87654321"},
		{"encryption unknown", "[encryption]\ndefault = \"foo\"", "encryption.default",
			`config: encryption.default: invalid value "foo" (want "none", "AES256", "aws:kms" or "KMS")`, ""},
		{"encryption wrong case", "[encryption]\ndefault = \"aes256\"", "encryption.default", "", ""},
		{"kms provider", "[kms]\nprovider = \"hsm\"", "kms.provider", `config: kms.provider: invalid value "hsm" (want "local", "aws", "vault" or "kes")`, ""},
		{"vault without address", "[kms]\nprovider = \"vault\"\n[kms.vault]\ntoken = \"s.x\"", "kms.vault.address", "", ""},
		{"vault without auth", "[kms]\nprovider = \"vault\"\n[kms.vault]\naddress = \"https://v:8200\"", "kms.vault.token", "", ""},
		{"kes without endpoints", "[kms]\nprovider = \"kes\"\n[kms.kes]\nclient_cert = \"c\"\nclient_key = \"k\"", "kms.kes.endpoints", "", ""},
		{"aws half credentials", "[kms]\nprovider = \"aws\"\n[kms.aws]\naccess_key = \"AK\"", "kms.aws.secret_key", "", ""},
		{"kms timeout", "[kms]\ntimeout = \"0s\"", "kms.timeout", "", ""},
		{"kms cache size", "[kms]\ncache_size = -1", "kms.cache_size", "", ""},
		{"bucket rule", "[encryption.buckets.photos]\ndefault = \"DES\"", "encryption.buckets.photos.default", "", ""},
		{"bucket rule key without kms", "[encryption.buckets.photos]\ndefault = \"AES256\"\nkey_id = \"k\"", "encryption.buckets.photos.key_id", "", ""},
		{"bucket rule unknown key", "[encryption.buckets.photos]\nalgorithm = \"AES256\"", "encryption.buckets.photos.algorithm", "", ""},
		{"kms keyring empty", "[kms]\nkeyring = \"\"", "kms.keyring", "", ""},
		{"kms default key space", "[kms]\ndefault_key = \"my key\"", "kms.default_key", "", ""},
		{"kms default key empty", "[kms]\ndefault_key = \"\"", "kms.default_key", "", ""},
		{"log level", "[log]\nlevel = \"trace\"", "log.level",
			`config: log.level: invalid value "trace" (want "debug", "info", "warn" or "error")`, ""},
		{"log format", "[log]\nformat = \"text\"", "log.format", "", ""},
		{"read header timeout zero", "[server]\nread_header_timeout = \"0s\"", "server.read_header_timeout",
			`config: server.read_header_timeout: invalid value "0s" (want a positive duration such as "30s")`, ""},
		{"idle timeout negative", "[server]\nidle_timeout = \"-1s\"", "server.idle_timeout", "", ""},
		{"shutdown grace negative", "[server]\nshutdown_grace = \"-5s\"", "server.shutdown_grace", "", ""},
		{"backend ca file over http", prodWith("endpoint", "http://127.0.0.1:9000", "ca_file", "/etc/ca.pem"), "backend.ca_file",
			"config: backend.ca_file: set, but backend.endpoint is not an https URL", ""},
		{"backend insecure over http", prodWith("endpoint", "http://127.0.0.1:9000", "insecure_skip_verify", "true"), "backend.insecure_skip_verify", "", ""},
		{"backend client cert without key", prodWith("client_cert_file", "/etc/c.pem"), "backend.client_key_file",
			"config: backend.client_key_file: backend.client_cert_file and backend.client_key_file must be set together", ""},
		{"backend client key without cert", prodWith("client_key_file", "/etc/k.pem"), "backend.client_key_file", "", ""},
		{"tls mode unknown", "[tls]\nmode = \"on\"", "tls.mode", `config: tls.mode: invalid value "on" (want "off", "files" or "acme")`, ""},
		{"tls files without cert", "[tls]\nmode = \"files\"\nkey_file = \"k.pem\"", "tls.cert_file",
			`config: tls.cert_file: required when tls.mode is "files"`, ""},
		{"tls files without key", "[tls]\nmode = \"files\"\ncert_file = \"c.pem\"", "tls.key_file", "", ""},
		{"tls reload interval negative", "[tls]\nreload_interval = \"-1s\"", "tls.reload_interval", "", ""},
		{"tls redirect without tls", "[tls]\nredirect_listen = \"127.0.0.1:80\"", "tls.redirect_listen",
			`config: tls.redirect_listen: set, but tls.mode is "off" (want "files" or "acme")`, ""},
		{"tls redirect without port", "[tls]\nmode = \"files\"\ncert_file = \"c\"\nkey_file = \"k\"\nredirect_listen = \"localhost\"", "tls.redirect_listen", "", ""},
		{"acme without domains", "[tls]\nmode = \"acme\"", "tls.acme_domains",
			`config: tls.acme_domains: at least one domain is required when tls.mode is "acme"`, ""},
		{"acme wildcard domain", "[tls]\nacme_domains = [\"*.example.com\"]", "tls.acme_domains[0]", "", ""},
		{"acme email", "[tls]\nacme_email = \"ops\"", "tls.acme_email", "", ""},
		{"acme ca over http", "[tls]\nacme_ca = \"http://127.0.0.1:14000/dir\"", "tls.acme_ca", "", ""},
		{"acme ca empty", "[tls]\nacme_ca = \"\"", "tls.acme_ca", "", ""},
		{"acme storage empty", "[tls]\nacme_storage = \"\"", "tls.acme_storage", "config: tls.acme_storage: required", ""},
		{"acme challenge unknown", "[tls]\nacme_challenges = [\"dns-01\"]", "tls.acme_challenges[0]", "", ""},
		{"acme challenge duplicate", "[tls]\nacme_challenges = [\"http-01\", \"http-01\"]", "tls.acme_challenges[1]",
			`config: tls.acme_challenges[1]: duplicate "http-01"`, ""},
		{"acme without challenges", "[tls]\nmode = \"acme\"\nacme_domains = [\"s3.example.com\"]\nacme_challenges = []", "tls.acme_challenges", "", ""},
		{"acme http port zero", "[tls]\nacme_http_port = 0", "tls.acme_http_port", "", ""},
		{"acme tls port too big", "[tls]\nacme_tls_port = 65536", "tls.acme_tls_port",
			"config: tls.acme_tls_port: invalid value 65536 (want a port from 1 to 65535)", ""},
		{"acme renew interval zero", "[tls]\nacme_renew_interval = \"0s\"", "tls.acme_renew_interval",
			`config: tls.acme_renew_interval: invalid value "0s" (want a positive duration such as "30s")`, ""},
		{"acme renew interval negative", "[tls]\nacme_renew_interval = \"-1m\"", "tls.acme_renew_interval", "", ""},
		{"admin listen without port", "[admin]\nlisten = \"9090\"", "admin.listen", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.toml), nil)
			if got := errorKeys(err); !slices.Equal(got, []string{tt.wantKey}) {
				t.Fatalf("Parse(%q) error keys = %q, want [%q] (error: %v)", tt.toml, got, tt.wantKey, err)
			}
			if !strings.HasPrefix(err.Error(), "config: "+tt.wantKey+": ") {
				t.Errorf("Parse(%q) error = %q, want it to start with %q", tt.toml, err, "config: "+tt.wantKey+": ")
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("Parse(%q) error = %q, want %q", tt.toml, err, tt.wantMsg)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("Parse(%q) error = %q reveals the secret %q", tt.toml, err, tt.secret)
			}
		})
	}
}

func TestInvalidReportsEveryKey(t *testing.T) {
	in := "[server]\nlisten = \"x\"\n[log]\nlevel = \"loud\"\nformat = \"xml\""
	_, err := Parse([]byte(in), nil)
	want := []string{"server.listen", "log.level", "log.format"}
	if got := errorKeys(err); !slices.Equal(got, want) {
		t.Errorf("Parse(%q) error keys = %q, want %q", in, got, want)
	}
}

func TestWrongTypeNamesKey(t *testing.T) {
	tests := []struct{ name, toml, key string }{
		{"number for string", "[server]\nlisten = 8080", "server.listen"},
		{"string for list", "[server]\ndomains = \"s3.example.com\"", "server.domains"},
		{"table for credentials", "[credentials]\naccess_key = \"abc\"", "credentials"},
		{"word for duration", "[server]\nshutdown_grace = \"soon\"", "server.shutdown_grace"},
		{"string for port", "[tls]\nacme_http_port = \"80\"", "tls.acme_http_port"},
		{"string for bool", "[backend]\ninsecure_skip_verify = \"yes\"", "backend.insecure_skip_verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.toml), nil)
			if err == nil || !strings.HasPrefix(err.Error(), "config: ") || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("Parse(%q) error = %v, want a config: error naming %q", tt.toml, err, tt.key)
			}
		})
	}
}

func TestValid(t *testing.T) {
	tests := []struct{ name, toml string }{
		{"empty file is dev mode", ""},
		{"listen all interfaces", "[server]\nlisten = \":8080\""},
		{"listen any port", "[server]\nlisten = \"127.0.0.1:0\""},
		{"listen IPv6", "[server]\nlisten = \"[::1]:8080\""},
		{"single-label domain", "[server]\ndomains = [\"localhost\"]"},
		{"mixed-case domains", "[server]\ndomains = [\"S3.Example.com\", \"s3.eu-1.example.net\"]"},
		{"production", prod},
		{"endpoint with slash", prodWith("endpoint", "http://127.0.0.1:9000/")},
		{"endpoint IPv6", prodWith("endpoint", "http://[::1]:9000")},
		{"region with underscore", "[backend]\nregion = \"garage_1\""},
		{"access key at bounds", "[[credentials]]\naccess_key = \"abc\"\nsecret_key = \"12345678\"\n[[credentials]]\naccess_key = \"" + strings.Repeat("A", 128) + "\"\nsecret_key = \"12345678\""},
		{"no encryption", "[encryption]\ndefault = \"none\""},
		{"console debug log", "[log]\nlevel = \"debug\"\nformat = \"console\""},
		{"dotted default key", "[kms]\ndefault_key = \"team-a.v2_key\""},
		{"durations", "[server]\nread_header_timeout = \"5s\"\nidle_timeout = \"1h\"\nshutdown_grace = \"0s\""},
		{"backend tls", prodWith("ca_file", "/etc/ca.pem", "client_cert_file", "/etc/c.pem", "client_key_file", "/etc/k.pem", "insecure_skip_verify", "true")},
		{"tls files", "[tls]\nmode = \"files\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\nreload_interval = \"0s\"\nredirect_listen = \":8080\""},
		{"tls acme", "[tls]\nmode = \"acme\"\nacme_domains = [\"s3.example.com\", \"S3.example.net\"]\nacme_email = \"ops@example.com\"\n" +
			"acme_ca = \"https://127.0.0.1:14000/dir\"\nacme_ca_root = \"/etc/pebble.pem\"\nacme_challenges = [\"tls-alpn-01\"]\nacme_http_port = 8080\nacme_tls_port = 8443"},
		{"admin off", "[admin]\nlisten = \"\""},
		{"admin on", "[admin]\nlisten = \"0.0.0.0:9090\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.toml), nil); err != nil {
				t.Errorf("Parse(%q) error = %v, want nil", tt.toml, err)
			}
		})
	}
}

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
func prodWith(kv ...string) string {
	backend := map[string]string{"endpoint": "https://s3.example.com", "access_key": "backend-ak", "secret_key": "backend-sk"}
	for i := 0; i+1 < len(kv); i += 2 {
		backend[kv[i]] = kv[i+1]
	}
	var b strings.Builder
	b.WriteString("[backend]\n")
	for _, k := range []string{"endpoint", "access_key", "secret_key"} {
		fmt.Fprintf(&b, "%s = %q\n", k, backend[k])
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
			`config: encryption.default: invalid value "foo" (want "none" or "AES256")`, ""},
		{"encryption wrong case", "[encryption]\ndefault = \"aes256\"", "encryption.default", "", ""},
		{"kms provider", "[kms]\nprovider = \"vault\"", "kms.provider", `config: kms.provider: invalid value "vault" (want "local")`, ""},
		{"kms keyring empty", "[kms]\nkeyring = \"\"", "kms.keyring", "", ""},
		{"kms default key space", "[kms]\ndefault_key = \"my key\"", "kms.default_key", "", ""},
		{"kms default key empty", "[kms]\ndefault_key = \"\"", "kms.default_key", "", ""},
		{"log level", "[log]\nlevel = \"trace\"", "log.level",
			`config: log.level: invalid value "trace" (want "debug", "info", "warn" or "error")`, ""},
		{"log format", "[log]\nformat = \"text\"", "log.format", "", ""},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.toml), nil); err != nil {
				t.Errorf("Parse(%q) error = %v, want nil", tt.toml, err)
			}
		})
	}
}

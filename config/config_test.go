package config

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const examplePath = "../config.example.toml"

// exampleCredential is the one entry config.example.toml adds to Default.
var exampleCredential = Credential{AccessKey: "example-access-key", SecretKey: "example-secret-key-change-me"}

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// envOf returns an environment holding m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// errorKeys returns the Key of every *KeyError in err, in order.
func errorKeys(err error) []string {
	var keys []string
	var walk func(error)
	walk = func(e error) {
		switch e := e.(type) {
		case *KeyError:
			keys = append(keys, e.Key)
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return keys
}

// TestExampleFile is the golden test: the example file documents exactly the
// defaults (plus its example credential) and mentions every key, so it can
// never drift from the program.
func TestExampleFile(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data, nil)
	if err != nil {
		t.Fatalf("Parse(%s) error: %v", examplePath, err)
	}
	want := Default()
	want.Credentials = []Credential{exampleCredential}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Parse(%s) differs from Default() + example credential (-want +got):\n%s", examplePath, diff)
	}

	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, k := range md.Keys() {
		present[k.String()] = true
	}
	known := knownKeys()
	for k := range known {
		if strings.Contains(k, "*") || known[k+".*"] {
			continue // tables by name ([encryption.buckets.NAME]) are shown in comments
		}
		if !present[k] {
			t.Errorf("%s does not set key %q: document it with its default", examplePath, k)
		}
	}
}

func TestLoad(t *testing.T) {
	for _, name := range []string{EnvBackendEndpoint, EnvBackendAccessKey, EnvBackendSecretKey, EnvAccessKey, EnvSecretKey} {
		t.Setenv(name, "") // empty: ignored, whatever the host environment says
	}
	c, err := Load(examplePath)
	if err != nil {
		t.Fatalf("Load(%s) error: %v", examplePath, err)
	}
	if got, ok := c.SecretKey(exampleCredential.AccessKey); !ok || got != exampleCredential.SecretKey {
		t.Errorf("Load(%s).SecretKey(%q) = %q, %v, want the example secret, true", examplePath, exampleCredential.AccessKey, got, ok)
	}
	if _, err := Load("testdata-does-not-exist.toml"); err == nil || !strings.HasPrefix(err.Error(), "config: ") {
		t.Errorf("Load(missing file) error = %v, want a config: error", err)
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
	if !Default().DevMode() {
		t.Errorf("Default().DevMode() = false, want true")
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string
	}{
		{"misspelled key", "[server]\nlisten_addr = \":1\"", []string{"server.listen_addr"}},
		{"unknown table reported once", "[serve]\nlisten = \":1\"\nport = 2", []string{"serve"}},
		{"unknown top-level key", "debug = true", []string{"debug"}},
		{"key in credentials", "[[credentials]]\naccess_key = \"abc\"\nsecret_key = \"12345678\"\nsecret = \"x\"", []string{"credentials.secret"}},
		{"inline table", "log = { level = \"info\", colour = true }", []string{"log.colour"}},
		{"wrong case key", "[server]\nListen = \"127.0.0.1:1\"", []string{"server.Listen"}},
		{"wrong case table", "[Log]\nlevel = \"info\"", []string{"Log"}},
		{"two unknown keys", "[kms]\nkey = \"a\"\n[log]\nfile = \"b\"", []string{"kms.key", "log.file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.toml), nil)
			if got := errorKeys(err); !slices.Equal(got, tt.want) {
				t.Fatalf("Parse(%q) error keys = %q, want %q (error: %v)", tt.toml, got, tt.want, err)
			}
			for _, k := range tt.want {
				if want := fmt.Sprintf("config: %s: unknown key", k); !strings.Contains(err.Error(), want) {
					t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.toml, err, want)
				}
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	const endpointOnly = "[backend]\nendpoint = \"https://s3.example.com\"\n"
	tests := []struct {
		name    string
		toml    string
		env     map[string]string
		check   func(*Config) string // "" when c is as expected
		wantErr string               // substring of the error; "" for success
	}{
		{
			name: "backend from env",
			toml: "[[credentials]]\naccess_key = \"client\"\nsecret_key = \"client-secret\"",
			env: map[string]string{
				EnvBackendEndpoint:  "http://127.0.0.1:9000",
				EnvBackendAccessKey: "backend-ak",
				EnvBackendSecretKey: "backend-sk",
			},
			check: func(c *Config) string {
				if want := (Backend{Endpoint: "http://127.0.0.1:9000", Region: DefaultRegion, AccessKey: "backend-ak", SecretKey: "backend-sk", DataDir: DefaultDataDir}); c.Backend != want {
					return fmt.Sprintf("Backend = %+v, want %+v", c.Backend, want)
				}
				return ""
			},
		},
		{
			name: "env replaces file values",
			toml: endpointOnly + "access_key = \"file-ak\"\nsecret_key = \"file-sk\"\n[[credentials]]\naccess_key = \"client\"\nsecret_key = \"client-secret\"",
			env:  map[string]string{EnvBackendSecretKey: "env-sk"},
			check: func(c *Config) string {
				if c.Backend.AccessKey != "file-ak" || c.Backend.SecretKey != "env-sk" {
					return fmt.Sprintf("backend keys = %q, %q, want file-ak, env-sk", c.Backend.AccessKey, c.Backend.SecretKey)
				}
				return ""
			},
		},
		{
			name: "client credential appended",
			toml: "[[credentials]]\naccess_key = \"file-client\"\nsecret_key = \"file-secret\"",
			env:  map[string]string{EnvAccessKey: "env-client", EnvSecretKey: "env-secret"},
			check: func(c *Config) string {
				want := []Credential{{AccessKey: "file-client", SecretKey: "file-secret"}, {AccessKey: "env-client", SecretKey: "env-secret"}}
				if !reflect.DeepEqual(c.Credentials, want) {
					return fmt.Sprintf("Credentials = %v, want %v", c.Credentials, want)
				}
				return ""
			},
		},
		{
			name: "client credential replaces secret of same access key",
			toml: "[[credentials]]\naccess_key = \"client\"\nsecret_key = \"old-secret\"",
			env:  map[string]string{EnvAccessKey: "client", EnvSecretKey: "new-secret"},
			check: func(c *Config) string {
				if s, _ := c.SecretKey("client"); len(c.Credentials) != 1 || s != "new-secret" {
					return fmt.Sprintf("Credentials = %v, want one entry with the new secret", c.Credentials)
				}
				return ""
			},
		},
		{
			name: "env credential satisfies production",
			toml: endpointOnly + "access_key = \"ak\"\nsecret_key = \"sk\"",
			env:  map[string]string{EnvAccessKey: "client", EnvSecretKey: "client-secret"},
			check: func(c *Config) string {
				if _, ok := c.SecretKey("client"); !ok {
					return "SecretKey(client) not found"
				}
				return ""
			},
		},
		{
			name: "empty variables change nothing",
			toml: "",
			env:  map[string]string{EnvBackendEndpoint: "", EnvAccessKey: "", EnvSecretKey: ""},
			check: func(c *Config) string {
				if diff := cmp.Diff(Default(), c); diff != "" {
					return "config differs from Default(): " + diff
				}
				return ""
			},
		},
		{
			name:    "access key without secret",
			env:     map[string]string{EnvAccessKey: "client"},
			wantErr: "config: SSEPROXY_ACCESS_KEY and SSEPROXY_SECRET_KEY must be set together",
		},
		{
			name:    "secret without access key",
			env:     map[string]string{EnvSecretKey: "client-secret"},
			wantErr: "must be set together",
		},
		{
			name:    "invalid env endpoint is validated",
			env:     map[string]string{EnvBackendEndpoint: "s3.example.com", EnvBackendAccessKey: "a", EnvBackendSecretKey: "b", EnvAccessKey: "client", EnvSecretKey: "client-secret"},
			wantErr: "config: backend.endpoint: invalid value \"s3.example.com\"",
		},
		{
			name:    "env endpoint requires backend keys",
			env:     map[string]string{EnvBackendEndpoint: "https://s3.example.com", EnvAccessKey: "client", EnvSecretKey: "client-secret"},
			wantErr: "config: backend.access_key: required when backend.endpoint is set (or set SSEPROXY_BACKEND_ACCESS_KEY)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.toml), envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q, %v) error = %v, want it to contain %q", tt.toml, tt.env, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q, %v) error = %v, want nil", tt.toml, tt.env, err)
			}
			if msg := tt.check(c); msg != "" {
				t.Errorf("Parse(%q, %v): %s", tt.toml, tt.env, msg)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	c := Default()
	c.Server.Domains = []string{"s3.example.com"}
	c.Backend = Backend{Endpoint: "https://s3.example.com", Region: "eu-west-1", AccessKey: "backend-ak", SecretKey: "backend-secret-1", DataDir: "/var/lib/sseproxy"}
	c.Credentials = []Credential{{AccessKey: "client-one", SecretKey: "client-secret-1"}, {AccessKey: "client-two", SecretKey: "client-secret-2"}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	out := c.Redacted()
	for _, secret := range []string{"backend-secret-1", "client-secret-1", "client-secret-2"} {
		if strings.Contains(out, secret) {
			t.Errorf("Redacted() contains secret %q:\n%s", secret, out)
		}
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%s", c)} {
		if s != out {
			t.Errorf("formatting *Config = %q, want Redacted()", s)
		}
	}

	// The output is the configuration with masked secrets, in TOML.
	back, err := Parse([]byte(out), nil)
	if err != nil {
		t.Fatalf("Parse(Redacted()) error: %v\n%s", err, out)
	}
	want := *c
	want.Backend.SecretKey = redactedMask
	want.Credentials = []Credential{{AccessKey: "client-one", SecretKey: redactedMask}, {AccessKey: "client-two", SecretKey: redactedMask}}
	if diff := cmp.Diff(&want, back); diff != "" {
		t.Errorf("Parse(Redacted()) mismatch (-want +got):\n%s", diff)
	}
	if c.Credentials[0].SecretKey != "client-secret-1" {
		t.Errorf("Redacted() modified the Config")
	}

	// An empty secret stays visibly empty.
	if out := Default().Redacted(); !strings.Contains(out, `secret_key = ""`) {
		t.Errorf("Default().Redacted() does not show the empty backend secret:\n%s", out)
	}
}

func TestSecretKey(t *testing.T) {
	c := Default()
	c.Credentials = []Credential{{AccessKey: "alice", SecretKey: "alice-secret"}, {AccessKey: "bob", SecretKey: "bob-secret"}}
	tests := []struct {
		name, accessKey, want string
		ok                    bool
	}{
		{"first", "alice", "alice-secret", true},
		{"second", "bob", "bob-secret", true},
		{"unknown", "carol", "", false},
		{"case-sensitive", "Alice", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := c.SecretKey(tt.accessKey); got != tt.want || ok != tt.ok {
				t.Errorf("SecretKey(%q) = %q, %v, want %q, %v", tt.accessKey, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestGenerateCredential(t *testing.T) {
	a, b := GenerateCredential(), GenerateCredential()
	if a.AccessKey == b.AccessKey || a.SecretKey == b.SecretKey {
		t.Fatalf("GenerateCredential() returned %v twice", a)
	}
	c := Default()
	c.Backend = Backend{Endpoint: "https://s3.example.com", Region: DefaultRegion, AccessKey: "x", SecretKey: "y", DataDir: DefaultDataDir}
	c.Credentials = []Credential{a, b}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() with generated credentials = %v, want nil", err)
	}
}

// FuzzParse: Parse never panics, and whatever it accepts is valid and
// survives a trip through Redacted.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(examplePath); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"", "[server]\nlisten = \":0\"\ndomains = [\"a.b\"]",
		"[[credentials]]\naccess_key = \"abc\"\nsecret_key = \"12345678\"\n[[credentials]]\naccess_key = \"abc\"",
		"[backend]\nendpoint = \"http://[::1]:9000/\"\naccess_key = \"a\"\nsecret_key = \"b\"",
		"log = { level = 1 }", "server = 3", "[server]\nListen = 1\nlisten = 2", "a.b.c = [[]]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, nil)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse(%q) succeeded but Validate() = %v", data, err)
		}
		if _, err := Parse([]byte(c.Redacted()), nil); err != nil {
			t.Fatalf("Parse(%q) succeeded but Parse(Redacted()) = %v", data, err)
		}
	})
}

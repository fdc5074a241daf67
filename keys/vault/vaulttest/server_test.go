package vaulttest

import (
	"encoding/base64"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// These tests pin the Vault behaviours that package vault depends on or guards against, as the
// fake reproduces them, so that a change to the fake cannot quietly weaken the client's tests.

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestTransitRoundTripAndLeniency(t *testing.T) {
	s := New(t, Options{})
	s.Write(t, "transit/keys/k", nil)
	data := s.Write(t, "transit/encrypt/k", map[string]any{"plaintext": b64("secret"), "associated_data": b64("b/o")})
	ct, _ := data["ciphertext"].(string)
	if !strings.HasPrefix(ct, "vault:v1:") || data["key_version"] == nil {
		t.Fatalf("encrypt = %v, want a vault:v1: ciphertext and key_version", data)
	}
	for _, tc := range []struct {
		name, ct, ad string
		wantStatus   int
		wantErr      string
	}{
		{"genuine", ct, b64("b/o"), http.StatusOK, ""},
		{"version-0-reads-as-1", strings.Replace(ct, "v1:", "v0:", 1), b64("b/o"), http.StatusOK, ""},
		{"version-plus-1", strings.Replace(ct, "v1:", "v+1:", 1), b64("b/o"), http.StatusOK, ""},
		{"line-break-skipped", ct[:20] + "\n" + ct[20:], b64("b/o"), http.StatusOK, ""},
		{"wrong-ad", ct, b64("b/x"), http.StatusBadRequest, "cipher: message authentication failed"},
		{"no-ad", ct, "", http.StatusBadRequest, "cipher: message authentication failed"},
		{"too-new", strings.Replace(ct, "v1:", "v2:", 1), b64("b/o"), http.StatusBadRequest, "invalid ciphertext: version is too new"},
		{"no-prefix", ct[9:], b64("b/o"), http.StatusBadRequest, "invalid ciphertext: no prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := s.Do(t, http.MethodPost, "transit/decrypt/k", s.RootToken, map[string]any{"ciphertext": tc.ct, "associated_data": tc.ad})
			if status != tc.wantStatus {
				t.Fatalf("decrypt(%s) = %d %v, want %d", tc.name, status, out, tc.wantStatus)
			}
			if tc.wantErr != "" && !reflect.DeepEqual(out["errors"], []any{tc.wantErr}) {
				t.Errorf("decrypt(%s) errors = %v, want [%q]", tc.name, out["errors"], tc.wantErr)
			}
			if tc.wantErr == "" && out["data"].(map[string]any)["plaintext"] != b64("secret") {
				t.Errorf("decrypt(%s) = %v, want the plaintext", tc.name, out)
			}
		})
	}
}

func TestEncryptUpsert(t *testing.T) {
	s := New(t, Options{})
	updateOnly := s.AddToken(Policy{"transit/encrypt/*": {"update"}})
	body := map[string]any{"plaintext": b64("x")}
	if status, out := s.Do(t, http.MethodPost, "transit/encrypt/new", updateOnly, body); status != http.StatusForbidden {
		t.Errorf("encrypt to a missing key with update only = %d %v, want 403", status, out)
	}
	if status, _ := s.Do(t, http.MethodGet, "transit/keys/new", s.RootToken, nil); status != http.StatusNotFound {
		t.Errorf("read missing key = %d, want 404", status)
	}
	if status, _ := s.Do(t, http.MethodPost, "transit/encrypt/new", s.RootToken, body); status != http.StatusOK {
		t.Errorf("encrypt to a missing key with create = %d, want 200 (upsert)", status)
	}
	if status, _ := s.Do(t, http.MethodGet, "transit/keys/new", s.RootToken, nil); status != http.StatusOK {
		t.Errorf("read upserted key = %d, want 200", status)
	}
}

func TestTokensAndLogin(t *testing.T) {
	s := New(t, Options{})
	s.Write(t, "transit/keys/k", nil)
	s.AddAppRole("r", "s", time.Minute, Policy{"transit/keys/k": {"read"}})

	status, out := s.Do(t, http.MethodPost, "auth/approle/login", "", map[string]any{"role_id": "r", "secret_id": "wrong"})
	if status != http.StatusBadRequest || !reflect.DeepEqual(out["errors"], []any{"invalid role or secret ID"}) {
		t.Errorf("login with a wrong secret = %d %v, want 400 invalid role or secret ID", status, out)
	}
	status, out = s.Do(t, http.MethodPost, "auth/approle/login", "", map[string]any{"role_id": "r", "secret_id": "s"})
	auth, _ := out["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if status != http.StatusOK || tok == "" || auth["lease_duration"] != float64(60) {
		t.Fatalf("login = %d %v, want a token with lease_duration 60", status, out)
	}

	for _, tc := range []struct {
		name, method, path, token string
		advance                   time.Duration
		wantStatus                int
		wantErrors                []any
	}{
		{"allowed", http.MethodGet, "transit/keys/k", tok, 0, http.StatusOK, nil},
		{"policy-refuses", http.MethodPost, "transit/decrypt/k", tok, 0, http.StatusForbidden, []any{"1 error occurred:\n\t* permission denied\n\n"}},
		{"no-token", http.MethodGet, "transit/keys/k", "", 0, http.StatusForbidden, []any{"permission denied"}},
		{"unknown-token", http.MethodGet, "transit/keys/k", "hvs.nope", 0, http.StatusForbidden, []any{"permission denied", "invalid token"}},
		{"expired-token", http.MethodGet, "transit/keys/k", tok, time.Minute, http.StatusForbidden, []any{"permission denied", "invalid token"}},
		{"unknown-path", http.MethodGet, "other/keys/k", s.RootToken, 0, http.StatusNotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Advance(tc.advance)
			status, out := s.Do(t, tc.method, tc.path, tc.token, nil)
			if status != tc.wantStatus || (tc.wantErrors != nil && !reflect.DeepEqual(out["errors"], tc.wantErrors)) {
				t.Errorf("%s %s = %d %v, want %d %v", tc.method, tc.path, status, out["errors"], tc.wantStatus, tc.wantErrors)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy(`
# comment
path "transit/encrypt/k" {
  capabilities = ["update"]
}
path "transit/keys/*" { capabilities = ["read", "list"] }
path "transit/+/secret" { capabilities = ["deny"] }
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, capability string
		want             bool
	}{
		{"transit/encrypt/k", "update", true},
		{"transit/encrypt/k", "create", false},
		{"transit/encrypt/k2", "update", false},
		{"transit/keys/anything", "read", true},
		{"transit/keys", "read", false},
		{"transit/decrypt/secret", "update", false},
	} {
		if got := p.allows(tc.path, tc.capability); got != tc.want {
			t.Errorf("allows(%q, %q) = %v, want %v", tc.path, tc.capability, got, tc.want)
		}
	}
	if _, err := ParsePolicy(`path "a" { capabilities = ["read"] } policy = "write"`); err == nil {
		t.Error("ParsePolicy(text outside stanzas) = nil error, want an error")
	}
}

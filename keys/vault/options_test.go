package vault_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/vault"
	"github.com/sseproxy/sseproxy/keys/vault/vaulttest"
)

func TestNewRejectsOptions(t *testing.T) {
	role := &vault.AppRole{RoleID: "r", SecretID: "s"}
	for _, tc := range []struct {
		name string
		o    vault.Options
		want string // in the error message
	}{
		{"no-address", vault.Options{Token: "t"}, "Address is required"},
		{"bad-scheme", vault.Options{Address: "ftp://vault:8200", Token: "t"}, "want http(s)"},
		{"no-host", vault.Options{Address: "https://", Token: "t"}, "want http(s)"},
		{"query", vault.Options{Address: "https://vault:8200/?x=1", Token: "t"}, "want http(s)"},
		{"user-info", vault.Options{Address: "https://u:p@vault:8200", Token: "t"}, "want http(s)"},
		{"no-auth", vault.Options{Address: "https://vault:8200"}, "Token or AppRole is required"},
		{"both-auth", vault.Options{Address: "https://vault:8200", Token: "t", AppRole: role}, "not both"},
		{"approle-no-secret", vault.Options{Address: "https://vault:8200", AppRole: &vault.AppRole{RoleID: "r"}}, "RoleID and SecretID"},
		{"approle-bad-mount", vault.Options{Address: "https://vault:8200", AppRole: &vault.AppRole{RoleID: "r", SecretID: "s", MountPath: "../sys"}}, "AppRole.MountPath"},
		{"bad-mount", vault.Options{Address: "https://vault:8200", Token: "t", MountPath: "transit/../sys"}, "MountPath"},
		{"mount-with-space", vault.Options{Address: "https://vault:8200", Token: "t", MountPath: "my transit"}, "MountPath"},
		{"bad-default-key", vault.Options{Address: "https://vault:8200", Token: "t", DefaultKey: "a/b"}, "DefaultKey"},
		{"negative-timeout", vault.Options{Address: "https://vault:8200", Token: "t", Timeout: -time.Second}, "negative"},
		{"token-line-break", vault.Options{Address: "https://vault:8200", Token: "t\r\nX-Evil: 1"}, "Token contains"},
		{"namespace-line-break", vault.Options{Address: "https://vault:8200", Token: "t", Namespace: "ns\n"}, "Namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vault.New(t.Context(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%s) = %v, want an error containing %q", tc.name, err, tc.want)
			}
		})
	}
}

// TestOptionsString checks that printing the options, as a config dump might, shows no secret.
func TestOptionsString(t *testing.T) {
	o := vault.Options{Address: "https://vault:8200", Token: "hvs.secret-token"}
	r := vault.Options{Address: "https://vault:8200", AppRole: &vault.AppRole{RoleID: "role", SecretID: "secret-id-value"}}
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), fmt.Sprint(r), fmt.Sprintf("%#v", r), fmt.Sprintf("%v", *r.AppRole)} {
		if strings.Contains(s, "hvs.secret-token") || strings.Contains(s, "secret-id-value") {
			t.Errorf("formatted options = %q, which shows a secret", s)
		}
	}
}

// TestCustomMountsAndNamespace checks the paths and headers the client sends with non-default
// mounts and a namespace.
func TestCustomMountsAndNamespace(t *testing.T) {
	s := vaulttest.New(t, vaulttest.Options{MountPath: "team/transit", AppRoleMountPath: "machines"})
	s.Write(t, "team/transit/keys/k1", nil)
	s.AddAppRole("r", "s", time.Hour, vaulttest.Policy{
		"team/transit/encrypt/k1": {"update"},
		"team/transit/decrypt/k1": {"update"},
		"team/transit/keys/k1":    {"read"},
	})
	c := newClient(t, vault.Options{
		Address:   s.URL + "/",
		AppRole:   &vault.AppRole{RoleID: "r", SecretID: "s", MountPath: "/machines/"},
		MountPath: "/team/transit/",
		Namespace: "ns1/",
	})
	dk, err := c.GenerateDataKey(t.Context(), "k1", ad)
	if err != nil {
		t.Fatalf("GenerateDataKey = %v", err)
	}
	if _, err := c.Decrypt(t.Context(), "k1", dk.Ciphertext, ad); err != nil {
		t.Fatalf("Decrypt = %v", err)
	}
	h := s.LastHeader()
	if got := h.Get("X-Vault-Namespace"); got != "ns1/" {
		t.Errorf("X-Vault-Namespace = %q, want %q", got, "ns1/")
	}
	if got := h.Get("X-Vault-Request"); got != "true" {
		t.Errorf("X-Vault-Request = %q, want %q", got, "true")
	}
}

// TestRedirectNotFollowed checks that a redirect, which would carry the token to another host,
// is not followed.
func TestRedirectNotFollowed(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != "" {
			leaked.Add(1)
		}
		http.Error(w, "{}", http.StatusOK)
	}))
	defer other.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()

	for _, hc := range []*http.Client{nil, {}, {CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}} {
		c := newClient(t, vault.Options{Address: redirect.URL, Token: "hvs.secret", HTTPClient: hc})
		if _, err := c.GenerateDataKey(t.Context(), "k1", ad); !errors.Is(err, keys.ErrUnavailable) {
			t.Errorf("GenerateDataKey via a redirect = %v, want ErrUnavailable", err)
		}
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("the redirect target received the token %d times", n)
	}
}

// TestMalformedAnswers checks that a server answering 200 with nonsense is ErrUnavailable, and
// that a ciphertext it returns is checked.
func TestMalformedAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
	}{
		{"not-json", "<html>proxy error</html>"},
		{"no-data", `{"data": null}`},
		{"bad-ciphertext", `{"data": {"type": "aes256-gcm96", "latest_version": 1, "ciphertext": "vault:v1:short"}}`},
		{"ciphertext-version-0", `{"data": {"type": "aes256-gcm96", "latest_version": 1, "ciphertext": "vault:v0:` + strings.Repeat("A", 80) + `"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			c := newClient(t, vault.Options{Address: srv.URL, Token: "t"})
			if _, err := c.GenerateDataKey(t.Context(), "k1", ad); !errors.Is(err, keys.ErrUnavailable) {
				t.Errorf("GenerateDataKey = %v, want ErrUnavailable", err)
			}
			if _, err := c.Decrypt(t.Context(), "k1", []byte("vault:v1:"+strings.Repeat("A", 80)), ad); !errors.Is(err, keys.ErrUnavailable) {
				t.Errorf("Decrypt = %v, want ErrUnavailable", err)
			}
		})
	}
}

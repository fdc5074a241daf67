package vault_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/kmstest"
	"github.com/sseproxy/sseproxy/keys/vault"
	"github.com/sseproxy/sseproxy/keys/vault/vaulttest"
)

// The keys every test server holds.
const (
	keyName      = "sseproxy"
	otherKeyName = "sseproxy-other"
)

var ad = []byte("bucket/some/object.txt")

// docPolicy returns the least-privilege policy of the package documentation (doc.go), written
// there for the key "sseproxy", for the keys names instead.
func docPolicy(t *testing.T, names ...string) vaulttest.Policy {
	t.Helper()
	f, err := os.Open("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hcl strings.Builder
	in := false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		switch {
		case line == "// # Least-privilege policy":
			in = true
		case in && strings.HasPrefix(line, "//\t"):
			hcl.WriteString(strings.TrimPrefix(line, "//\t") + "\n")
		case in && hcl.Len() > 0 && line != "//":
			in = false
		}
	}
	p, err := vaulttest.ParsePolicy(hcl.String())
	if err != nil {
		t.Fatalf("policy in doc.go: %v\n%s", err, hcl.String())
	}
	out := vaulttest.Policy{}
	for path, caps := range p {
		base, ok := strings.CutSuffix(path, "/"+keyName)
		if !ok {
			t.Fatalf("policy in doc.go: path %q is not for the key %q", path, keyName)
		}
		for _, n := range names {
			out[base+"/"+n] = caps
		}
	}
	return out
}

// newServer starts a fake Vault holding the aes256-gcm96 keys keyName and otherKeyName.
func newServer(t *testing.T) *vaulttest.Server {
	t.Helper()
	s := vaulttest.New(t, vaulttest.Options{})
	s.Write(t, "transit/keys/"+keyName, nil)
	s.Write(t, "transit/keys/"+otherKeyName, nil)
	return s
}

// newClient calls vault.New and fails the test on error.
func newClient(t *testing.T, o vault.Options) *vault.Client {
	t.Helper()
	c, err := vault.New(t.Context(), o)
	if err != nil {
		t.Fatalf("New(%v) = %v", o, err)
	}
	return c
}

// appRoleClient returns a client of s that logs in with an AppRole whose tokens hold the
// documented least-privilege policy for keyName and otherKeyName, and live for ttl.
func appRoleClient(t *testing.T, s *vaulttest.Server, ttl time.Duration) *vault.Client {
	t.Helper()
	s.AddAppRole("sseproxy-role", "secret-1", ttl, docPolicy(t, keyName, otherKeyName))
	return newClient(t, vault.Options{
		Address:    s.URL,
		AppRole:    &vault.AppRole{RoleID: "sseproxy-role", SecretID: "secret-1"},
		DefaultKey: keyName,
	})
}

// rootClient returns a client of s with the root token.
func rootClient(t *testing.T, s *vaulttest.Server) *vault.Client {
	t.Helper()
	return newClient(t, vault.Options{Address: s.URL, Token: s.RootToken, DefaultKey: keyName})
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(t *testing.T, s *vaulttest.Server) *vault.Client
	}{
		{"approle-least-privilege", func(t *testing.T, s *vaulttest.Server) *vault.Client { return appRoleClient(t, s, time.Hour) }},
		{"root-token", rootClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("two-keys", func(t *testing.T) {
				kmstest.RunWithOtherKey(t, func(t *testing.T) (keys.KMS, string, string) {
					return tc.client(t, newServer(t)), keyName, otherKeyName
				})
			})
			t.Run("default-key", func(t *testing.T) {
				kmstest.Run(t, func(t *testing.T) (keys.KMS, string) {
					return tc.client(t, newServer(t)), ""
				})
			})
		})
	}
}

// TestNoUpsert checks that a token that may create keys does not create one by asking for a
// data key under a name that does not exist, as Transit's encrypt endpoint would.
func TestNoUpsert(t *testing.T) {
	s := newServer(t)
	c := rootClient(t, s)
	if _, err := c.GenerateDataKey(t.Context(), "typo", ad); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("GenerateDataKey(%q) = %v, want ErrNotFound", "typo", err)
	}
	if status, _ := s.Do(t, http.MethodGet, "transit/keys/typo", s.RootToken, nil); status != http.StatusNotFound {
		t.Errorf("after GenerateDataKey(%q): GET transit/keys/typo = %d, want 404: the key was created", "typo", status)
	}
}

func TestRotation(t *testing.T) {
	s := newServer(t)
	c := appRoleClient(t, s, time.Hour)
	ctx := t.Context()

	v1 := generate(t, c, ad)
	checkVersion(t, c, "before rotation", v1.Ciphertext, 1)
	s.Write(t, "transit/keys/"+keyName+"/rotate", nil)

	v2 := generate(t, c, ad)
	checkVersion(t, c, "after rotation", v2.Ciphertext, 2)
	for _, dk := range []keys.DataKey{v1, v2} {
		if got, err := c.Decrypt(ctx, keyName, dk.Ciphertext, ad); err != nil || !bytes.Equal(got, dk.Plaintext) {
			t.Errorf("Decrypt(%.9s...) after rotation = %v, want the data key", dk.Ciphertext, err)
		}
	}
	if latest, minDec, err := c.KeyVersions(ctx, keyName); latest != 2 || minDec != 1 || err != nil {
		t.Errorf("KeyVersions(%q) = %d, %d, %v, want 2, 1, nil", keyName, latest, minDec, err)
	}
	if v, err := c.CurrentVersion(ctx, ""); v != "2" || err != nil {
		t.Errorf("CurrentVersion(default) = %q, %v, want \"2\"", v, err)
	}

	rewrapped, to, err := c.Rewrap(ctx, keyName, v1.Ciphertext, ad, "")
	if err != nil || to != keyName {
		t.Fatalf("Rewrap(v1, to \"\") = %q, %v, want key %q", to, err, keyName)
	}
	checkVersion(t, c, "Rewrap(v1)", rewrapped, 2)
	if got, err := c.Decrypt(ctx, keyName, rewrapped, ad); err != nil || !bytes.Equal(got, v1.Plaintext) {
		t.Errorf("Decrypt(Rewrap(v1)) = %v, want the v1 data key", err)
	}
	if got, err := c.Decrypt(ctx, keyName, rewrapped, []byte("bucket/other")); !errors.Is(err, keys.ErrDecrypt) || got != nil {
		t.Errorf("Decrypt(Rewrap(v1), other ad) = %v, want ErrDecrypt: the rewrapped key lost its binding", err)
	}
	if _, _, err := c.Rewrap(ctx, keyName, v1.Ciphertext, []byte("bucket/other"), ""); !errors.Is(err, keys.ErrDecrypt) {
		t.Errorf("Rewrap(v1, other ad) = %v, want ErrDecrypt", err)
	}

	// To another key: bound to that key and to the same associated data.
	moved, to, err := c.Rewrap(ctx, keyName, v1.Ciphertext, ad, otherKeyName)
	if err != nil || to != otherKeyName {
		t.Fatalf("Rewrap(v1, to %q) = %q, %v", otherKeyName, to, err)
	}
	checkVersion(t, c, "Rewrap(v1, other key)", moved, 1)
	if got, err := c.Decrypt(ctx, otherKeyName, moved, ad); err != nil || !bytes.Equal(got, v1.Plaintext) {
		t.Errorf("Decrypt(%q, Rewrap(v1, to %q)) = %v, want the v1 data key", otherKeyName, otherKeyName, err)
	}
	if _, err := c.Decrypt(ctx, keyName, moved, ad); !errors.Is(err, keys.ErrDecrypt) {
		t.Errorf("Decrypt(%q, Rewrap(v1, to %q)) = %v, want ErrDecrypt", keyName, otherKeyName, err)
	}

	// Retiring version 1: its wrapped keys no longer open; rewrapped ones do.
	s.Write(t, "transit/keys/"+keyName+"/config", map[string]any{"min_decryption_version": 2})
	if latest, minDec, err := c.KeyVersions(ctx, ""); latest != 2 || minDec != 2 || err != nil {
		t.Errorf("KeyVersions(default) = %d, %d, %v, want 2, 2, nil", latest, minDec, err)
	}
	if got, err := c.Decrypt(ctx, keyName, v1.Ciphertext, ad); !errors.Is(err, keys.ErrDecrypt) || got != nil {
		t.Errorf("Decrypt(v1) with min_decryption_version 2 = %v, want ErrDecrypt", err)
	}
	if got, err := c.Decrypt(ctx, keyName, rewrapped, ad); err != nil || !bytes.Equal(got, v1.Plaintext) {
		t.Errorf("Decrypt(Rewrap(v1)) with min_decryption_version 2 = %v, want the v1 data key", err)
	}
}

func generate(t *testing.T, c *vault.Client, ad []byte) keys.DataKey {
	t.Helper()
	dk, err := c.GenerateDataKey(t.Context(), keyName, ad)
	if err != nil {
		t.Fatalf("GenerateDataKey(%q) = %v", keyName, err)
	}
	return dk
}

func checkVersion(t *testing.T, c *vault.Client, what string, ct []byte, want int) {
	t.Helper()
	if got, ok := c.WrappedVersion(ct); got != strconv.Itoa(want) || !ok {
		t.Errorf("%s: WrappedVersion(%.12s...) = %q, %v, want %q", what, ct, got, ok, strconv.Itoa(want))
	}
	if prefix := "vault:v" + strconv.Itoa(want) + ":"; !bytes.HasPrefix(ct, []byte(prefix)) {
		t.Errorf("%s: ciphertext %.12s... does not start with %q", what, ct, prefix)
	}
}

func TestKeyErrors(t *testing.T) {
	s := newServer(t)
	s.Write(t, "transit/keys/signing", map[string]any{"type": "ed25519"})
	s.Write(t, "transit/keys/derived", map[string]any{"derived": true})
	c := rootClient(t, s)
	noDefault := newClient(t, vault.Options{Address: s.URL, Token: s.RootToken})
	dk := generate(t, c, ad)

	for _, tc := range []struct {
		name string
		call func() error
		want error // nil: an error matching none of the keys errors
	}{
		{"generate-unknown", func() error { _, err := c.GenerateDataKey(t.Context(), "missing", ad); return err }, keys.ErrNotFound},
		{"decrypt-unknown", func() error { _, err := c.Decrypt(t.Context(), "missing", dk.Ciphertext, ad); return err }, keys.ErrNotFound},
		{"versions-unknown", func() error { _, _, err := c.KeyVersions(t.Context(), "missing"); return err }, keys.ErrNotFound},
		{"generate-path-traversal", func() error { _, err := c.GenerateDataKey(t.Context(), "../../sys/seal", ad); return err }, keys.ErrNotFound},
		{"decrypt-slash", func() error { _, err := c.Decrypt(t.Context(), "a/b", dk.Ciphertext, ad); return err }, keys.ErrNotFound},
		{"generate-no-default", func() error { _, err := noDefault.GenerateDataKey(t.Context(), "", ad); return err }, keys.ErrNotFound},
		{"decrypt-wrong-ad", func() error {
			_, err := c.Decrypt(t.Context(), keyName, dk.Ciphertext, []byte("bucket/other"))
			return err
		}, keys.ErrDecrypt},
		{"decrypt-other-key", func() error { _, err := c.Decrypt(t.Context(), otherKeyName, dk.Ciphertext, ad); return err }, keys.ErrDecrypt},
		{"decrypt-version-0", func() error {
			_, err := c.Decrypt(t.Context(), keyName, bytes.Replace(dk.Ciphertext, []byte("v1:"), []byte("v0:"), 1), ad)
			return err
		}, keys.ErrDecrypt},
		{"decrypt-version-too-new", func() error {
			_, err := c.Decrypt(t.Context(), keyName, bytes.Replace(dk.Ciphertext, []byte("v1:"), []byte("v7:"), 1), ad)
			return err
		}, keys.ErrDecrypt},
		{"generate-ed25519", func() error { _, err := c.GenerateDataKey(t.Context(), "signing", ad); return err }, nil},
		{"generate-derived", func() error { _, err := c.GenerateDataKey(t.Context(), "derived", ad); return err }, nil},
		{"rewrap-tampered", func() error { _, _, err := c.Rewrap(t.Context(), keyName, dk.Ciphertext[:20], ad, ""); return err }, keys.ErrDecrypt},
		{"rewrap-to-unknown", func() error { _, _, err := c.Rewrap(t.Context(), keyName, dk.Ciphertext, ad, "missing"); return err }, keys.ErrNotFound},
		{"rewrap-from-unknown", func() error { _, _, err := c.Rewrap(t.Context(), "missing", dk.Ciphertext, ad, keyName); return err }, keys.ErrNotFound},
		{"rewrap-to-ed25519", func() error { _, _, err := c.Rewrap(t.Context(), keyName, dk.Ciphertext, ad, "signing"); return err }, nil},
		{"version-unknown", func() error { _, err := c.CurrentVersion(t.Context(), "missing"); return err }, keys.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatalf("%s = nil, want an error", tc.name)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%s = %v, want %v", tc.name, err, tc.want)
			}
			for _, other := range []error{keys.ErrNotFound, keys.ErrDecrypt, keys.ErrUnavailable, keys.ErrDisabled, vault.ErrPermissionDenied} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("%s = %v, which also matches %v", tc.name, err, other)
				}
			}
			if tc.want == keys.ErrDecrypt && err != keys.ErrDecrypt {
				t.Errorf("%s = %q, want ErrDecrypt itself, without detail", tc.name, err)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(s *vaulttest.Server)
	}{
		{"sealed-503", func(s *vaulttest.Server) { s.SetFault(http.StatusServiceUnavailable) }},
		{"rate-limited-429", func(s *vaulttest.Server) { s.SetFault(http.StatusTooManyRequests) }},
		{"internal-500", func(s *vaulttest.Server) { s.SetFault(http.StatusInternalServerError) }},
		{"closed", func(s *vaulttest.Server) { s.Close() }},
		{"hanging", func(s *vaulttest.Server) { s.SetHang(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			c, err := vault.New(t.Context(), vault.Options{Address: s.URL, Token: s.RootToken, DefaultKey: keyName, Timeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			dk := generate(t, c, ad)
			tc.fault(s)
			defer s.SetHang(false)
			if _, err := c.GenerateDataKey(t.Context(), otherKeyName, ad); !errors.Is(err, keys.ErrUnavailable) {
				t.Errorf("GenerateDataKey = %v, want ErrUnavailable", err)
			}
			if got, err := c.Decrypt(t.Context(), keyName, dk.Ciphertext, ad); !errors.Is(err, keys.ErrUnavailable) || errors.Is(err, keys.ErrDecrypt) || got != nil {
				t.Errorf("Decrypt = %v, want ErrUnavailable only", err)
			}
			if _, err := vault.New(t.Context(), vault.Options{Address: s.URL, Token: s.RootToken, DefaultKey: keyName, Timeout: 200 * time.Millisecond}); !errors.Is(err, keys.ErrUnavailable) {
				t.Errorf("New = %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestCallerDeadline checks that when the caller's context ends first the error wraps its
// error, not ErrUnavailable.
func TestCallerDeadline(t *testing.T) {
	s := newServer(t)
	c := rootClient(t, s)
	dk := generate(t, c, ad)
	s.SetHang(true)
	defer s.SetHang(false)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Decrypt(ctx, keyName, dk.Ciphertext, ad); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, keys.ErrUnavailable) {
		t.Errorf("Decrypt(ctx that expires) = %v, want context.DeadlineExceeded", err)
	}
}

package vault_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/vault"
	"github.com/sseproxy/sseproxy/keys/vault/vaulttest"
)

// TestAppRoleExpiredToken checks that a call refused because the AppRole token has expired logs
// in again and succeeds, and that concurrent callers share that one login.
func TestAppRoleExpiredToken(t *testing.T) {
	s := newServer(t)
	c := appRoleClient(t, s, time.Hour)
	dk := generate(t, c, ad)
	if n := s.Logins(); n != 1 {
		t.Fatalf("logins after New and one call = %d, want 1", n)
	}

	s.Advance(2 * time.Hour) // the server's clock only: the client does not know
	const callers = 16
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if got, err := c.Decrypt(t.Context(), keyName, dk.Ciphertext, ad); err != nil || !bytes.Equal(got, dk.Plaintext) {
				t.Errorf("caller %d: Decrypt with an expired token = %v, want the data key after a new login", i, err)
			}
		})
	}
	wg.Wait()
	if n := s.Logins(); n != 2 {
		t.Errorf("logins after the token expired under %d concurrent calls = %d, want 2", callers, n)
	}
}

// TestPermissionErrors checks 403s: a wrong token, a wrong secret ID and a policy that refuses
// a path are ErrPermissionDenied, never ErrDecrypt; only the policy refusal, which concerns one
// key, also matches ErrNotFound.
func TestPermissionErrors(t *testing.T) {
	s := newServer(t)
	good := rootClient(t, s)
	dk := generate(t, good, ad)

	// A token that may encrypt and read, but not decrypt.
	noDecrypt := vaulttest.Policy{}
	for path, caps := range docPolicy(t, keyName) {
		if !strings.Contains(path, "/decrypt/") {
			noDecrypt[path] = caps
		}
	}
	s.AddAppRole("encrypt-only", "secret-2", time.Hour, noDecrypt)
	encryptOnly := newClient(t, vault.Options{Address: s.URL, AppRole: &vault.AppRole{RoleID: "encrypt-only", SecretID: "secret-2"}})
	limited := newClient(t, vault.Options{Address: s.URL, Token: s.AddToken(noDecrypt)})
	wrongToken := newClient(t, vault.Options{Address: s.URL, Token: "hvs.not-a-token"})

	for _, tc := range []struct {
		name         string
		call         func() error
		alsoNotFound bool
	}{
		{"wrong-token-generate", func() error { _, err := wrongToken.GenerateDataKey(t.Context(), keyName, ad); return err }, false},
		{"wrong-token-decrypt", func() error { _, err := wrongToken.Decrypt(t.Context(), keyName, dk.Ciphertext, ad); return err }, false},
		{"wrong-token-new", func() error {
			_, err := vault.New(t.Context(), vault.Options{Address: s.URL, Token: "hvs.not-a-token", DefaultKey: keyName})
			return err
		}, false},
		{"wrong-secret-id", func() error {
			_, err := vault.New(t.Context(), vault.Options{Address: s.URL, AppRole: &vault.AppRole{RoleID: "encrypt-only", SecretID: "wrong"}})
			return err
		}, false},
		{"policy-refuses-decrypt-token", func() error { _, err := limited.Decrypt(t.Context(), keyName, dk.Ciphertext, ad); return err }, true},
		{"policy-refuses-decrypt-approle", func() error { _, err := encryptOnly.Decrypt(t.Context(), keyName, dk.Ciphertext, ad); return err }, true},
		{"policy-refuses-other-key", func() error { _, err := limited.GenerateDataKey(t.Context(), otherKeyName, ad); return err }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, vault.ErrPermissionDenied) || errors.Is(err, keys.ErrDecrypt) || errors.Is(err, keys.ErrUnavailable) {
				t.Errorf("%s = %v, want ErrPermissionDenied", tc.name, err)
			}
			if errors.Is(err, keys.ErrNotFound) != tc.alsoNotFound {
				t.Errorf("%s = %v: errors.Is(err, ErrNotFound) = %v, want %v", tc.name, err, !tc.alsoNotFound, tc.alsoNotFound)
			}
			for _, secret := range []string{"hvs.not-a-token", "secret-2", s.RootToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%s = %q, which contains a credential", tc.name, err)
				}
			}
		})
	}
	if _, err := encryptOnly.GenerateDataKey(t.Context(), keyName, ad); err != nil {
		t.Errorf("GenerateDataKey with encrypt permission = %v, want success", err)
	}
	// A fresh token refused by its policy is not a reason to log in again.
	if n := s.Logins(); n != 1 {
		t.Errorf("AppRole logins = %d, want 1: a policy refusal triggered a new login", n)
	}
}

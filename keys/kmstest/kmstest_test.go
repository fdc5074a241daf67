package kmstest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/kmstest"
)

// brokenEnv selects, in a child test process, which broken provider TestBrokenProvider runs.
const brokenEnv = "KMSTEST_BROKEN_PROVIDER"

// broken wraps a correct KMS and breaks one part of the contract.
type broken struct {
	keys.KMS
	mode string

	mu    sync.Mutex
	first *keys.DataKey     // "repeat": the data key returned every time
	owner map[string]string // "ignore-keyid": ciphertext -> key that wrapped it
}

func (b *broken) GenerateDataKey(ctx context.Context, keyID string, ad []byte) (keys.DataKey, error) {
	switch b.mode {
	case "ignore-ad":
		ad = nil
	case "ignore-ctx":
		ctx = context.Background()
	}
	dk, err := b.KMS.GenerateDataKey(ctx, keyID, ad)
	if err != nil {
		return dk, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.mode {
	case "repeat":
		if b.first == nil {
			b.first = &dk
		}
		dk = *b.first
	case "ignore-keyid":
		b.owner[string(dk.Ciphertext)] = dk.KeyID
	}
	return dk, nil
}

func (b *broken) Decrypt(ctx context.Context, keyID string, ct, ad []byte) ([]byte, error) {
	switch b.mode {
	case "ignore-ad":
		ad = nil
	case "ignore-ctx":
		ctx = context.Background()
	case "ignore-keyid":
		b.mu.Lock()
		if owner, ok := b.owner[string(ct)]; ok {
			keyID = owner
		}
		b.mu.Unlock()
	}
	pt, err := b.KMS.Decrypt(ctx, keyID, ct, ad)
	if b.mode == "detailed-errors" && errors.Is(err, keys.ErrDecrypt) {
		return nil, errors.New("keys: gcm: message authentication failed")
	}
	return pt, err
}

// TestBrokenProvider runs the suite against a broken provider; it runs only as the child
// process of TestSuiteCatchesBrokenProviders, which expects it to fail.
func TestBrokenProvider(t *testing.T) {
	mode := os.Getenv(brokenEnv)
	if mode == "" {
		t.Skip("run by TestSuiteCatchesBrokenProviders")
	}
	kmstest.RunWithOtherKey(t, func(t *testing.T) (keys.KMS, string, string) {
		k, err := keys.OpenKeyring(keys.KeyringOptions{Path: filepath.Join(t.TempDir(), "k.json"), CreateIfMissing: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Create("other"); err != nil {
			t.Fatal(err)
		}
		return &broken{KMS: k, mode: mode, owner: map[string]string{}}, "default", "other"
	})
}

// TestSuiteCatchesBrokenProviders checks the suite itself: each broken provider must fail the
// subtest that guards the part of the contract it breaks.
func TestSuiteCatchesBrokenProviders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child test processes")
	}
	for _, tc := range []struct {
		mode     string
		wantFail []string
	}{
		{"ignore-ad", []string{"AssociatedDataMismatch", "Concurrent"}},
		{"ignore-ctx", []string{"CancelledContext"}},
		{"ignore-keyid", []string{"WrongKeyID"}},
		{"repeat", []string{"GenerateDataKey", "Concurrent"}},
		{"detailed-errors", []string{"Tampered", "AssociatedDataMismatch", "WrongKeyID"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenProvider$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+tc.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("suite passed a provider that breaks %q:\n%s", tc.mode, out)
			}
			for _, sub := range tc.wantFail {
				if !strings.Contains(string(out), "--- FAIL: TestBrokenProvider/"+sub+" ") {
					t.Errorf("suite did not fail subtest %s for provider %q:\n%s", sub, tc.mode, out)
				}
			}
		})
	}
}

// TestCorrectProviderPasses runs the suite against the plain wrapper, so the broken modes are
// known to fail for what they break and not for the wrapping.
func TestCorrectProviderPasses(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) (keys.KMS, string) {
		k, err := keys.OpenKeyring(keys.KeyringOptions{Path: filepath.Join(t.TempDir(), "k.json"), CreateIfMissing: true})
		if err != nil {
			t.Fatal(err)
		}
		return &broken{KMS: k, mode: "none", owner: map[string]string{}}, ""
	})
}

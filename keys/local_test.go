package keys_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/kmstest"
)

// newKeyring opens a new keyring file in a fresh temporary directory.
func newKeyring(t testing.TB) (*keys.Keyring, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.json")
	k, err := keys.OpenKeyring(keys.KeyringOptions{Path: path, CreateIfMissing: true})
	if err != nil {
		t.Fatalf("OpenKeyring(create %s) = %v", path, err)
	}
	return k, path
}

// reopen opens the keyring file path again, as a restarted proxy would.
func reopen(t *testing.T, path string) *keys.Keyring {
	t.Helper()
	k, err := keys.OpenKeyring(keys.KeyringOptions{Path: path})
	if err != nil {
		t.Fatalf("OpenKeyring(%s) = %v", path, err)
	}
	return k
}

// version returns the CMK version recorded in a format-1 wrapped key (bytes 1-4, see doc.go).
func version(t *testing.T, wrapped []byte) int {
	t.Helper()
	if len(wrapped) < 5 || wrapped[0] != 1 {
		t.Fatalf("wrapped key %x is not format 1", wrapped)
	}
	return int(binary.BigEndian.Uint32(wrapped[1:5]))
}

func TestKeyringConformance(t *testing.T) {
	kmstest.RunWithOtherKey(t, func(t *testing.T) (keys.KMS, string, string) {
		k, _ := newKeyring(t)
		if err := k.Create("other"); err != nil {
			t.Fatalf("Create(other) = %v", err)
		}
		return k, k.DefaultKeyID(), "other"
	})
	t.Run("DefaultKeyID", func(t *testing.T) {
		kmstest.Run(t, func(t *testing.T) (keys.KMS, string) {
			k, _ := newKeyring(t)
			return k, ""
		})
	})
}

func TestRotate(t *testing.T) {
	ctx := t.Context()
	k, path := newKeyring(t)
	ad := []byte("bucket/object")
	var wrapped []keys.DataKey // wrapped[i] was generated under version i+1
	for want := 1; want <= 4; want++ {
		if want > 1 {
			got, err := k.Rotate("default")
			if err != nil || got != want {
				t.Fatalf("Rotate(default) = %d, %v, want %d, nil", got, err, want)
			}
		}
		dk, err := k.GenerateDataKey(ctx, "", ad)
		if err != nil {
			t.Fatalf("GenerateDataKey after rotation to %d = %v", want, err)
		}
		if got := version(t, dk.Ciphertext); got != want {
			t.Errorf("GenerateDataKey after rotation to %d: wrapped by version %d, want %d", want, got, want)
		}
		wrapped = append(wrapped, dk)
	}
	for name, kr := range map[string]*keys.Keyring{"same": k, "reopened": reopen(t, path)} {
		for i, dk := range wrapped {
			got, err := kr.Decrypt(ctx, dk.KeyID, dk.Ciphertext, ad)
			if err != nil || !bytes.Equal(got, dk.Plaintext) {
				t.Errorf("%s keyring: Decrypt(version %d key) = %x, %v, want the generated key", name, i+1, got, err)
			}
		}
	}
	if got := k.List()[0]; got.CurrentVersion != 4 || len(got.Versions) != 4 {
		t.Errorf("List()[0] = %+v, want CurrentVersion 4 and 4 versions", got)
	}
	if _, err := k.Rotate("nope"); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Rotate(nope) = %v, want ErrNotFound", err)
	}
}

func TestImport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keyName string
		size    int
		wantErr string
	}{
		{"32-bytes", "byok", 32, ""},
		{"empty", "byok", 0, "0 bytes, want exactly 32"},
		{"16-bytes", "byok", 16, "16 bytes"},
		{"31-bytes", "byok", 31, "31 bytes"},
		{"33-bytes", "byok", 33, "33 bytes"},
		{"64-bytes", "byok", 64, "64 bytes"},
		{"existing-name", "default", 32, "key already exists"},
		{"invalid-name", "by ok", 32, "invalid key name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, path := newKeyring(t)
			material := bytes.Repeat([]byte{0x42}, tc.size)
			err := k.Import(tc.keyName, material)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Import(%q, %d bytes) = %v, want error containing %q", tc.keyName, tc.size, err, tc.wantErr)
				}
				if got := len(k.List()); got != 1 {
					t.Errorf("after failed Import, List() has %d keys, want 1", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Import(%q, %d bytes) = %v", tc.keyName, tc.size, err)
			}
			clear(material) // the keyring must have kept its own copy
			dk, err := k.GenerateDataKey(t.Context(), tc.keyName, nil)
			if err != nil {
				t.Fatalf("GenerateDataKey(%q) = %v", tc.keyName, err)
			}
			got, err := reopen(t, path).Decrypt(t.Context(), tc.keyName, dk.Ciphertext, nil)
			if err != nil || !bytes.Equal(got, dk.Plaintext) {
				t.Errorf("reopened Decrypt(%q) = %x, %v, want the generated key", tc.keyName, got, err)
			}
			info := k.List()[0]
			if info.Name != tc.keyName || !info.Versions[0].Imported {
				t.Errorf("List()[0] = %+v, want %q with an imported version 1", info, tc.keyName)
			}
		})
	}
}

func TestDisable(t *testing.T) {
	ctx := t.Context()
	k, path := newKeyring(t)
	ad := []byte("b/o")
	dk, err := k.GenerateDataKey(ctx, "default", ad)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Disable("default"); err != nil {
		t.Fatalf("Disable(default) = %v", err)
	}
	if err := k.Disable("default"); err != nil {
		t.Errorf("Disable(default) again = %v, want nil", err)
	}
	for name, kr := range map[string]*keys.Keyring{"same": k, "reopened": reopen(t, path)} {
		for _, keyID := range []string{"", "default"} {
			if _, err := kr.GenerateDataKey(ctx, keyID, ad); !errors.Is(err, keys.ErrDisabled) {
				t.Errorf("%s keyring: GenerateDataKey(%q) of disabled key = %v, want ErrDisabled", name, keyID, err)
			}
			if got, err := kr.Decrypt(ctx, keyID, dk.Ciphertext, ad); !errors.Is(err, keys.ErrDisabled) || got != nil {
				t.Errorf("%s keyring: Decrypt(%q) of disabled key = %x, %v, want nil, ErrDisabled", name, keyID, got, err)
			}
		}
		if info := kr.List()[0]; !info.Disabled {
			t.Errorf("%s keyring: List()[0].Disabled = false, want true", name)
		}
	}
	if _, err := k.Rotate("default"); !errors.Is(err, keys.ErrDisabled) {
		t.Errorf("Rotate(disabled key) = %v, want ErrDisabled", err)
	}
	if err := k.Disable("nope"); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Disable(nope) = %v, want ErrNotFound", err)
	}
	if err := k.Enable("default"); err != nil {
		t.Fatalf("Enable(default) = %v", err)
	}
	if got, err := reopen(t, path).Decrypt(ctx, "default", dk.Ciphertext, ad); err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Errorf("Decrypt after Enable = %x, %v, want the generated key", got, err)
	}
}

func TestCreateNames(t *testing.T) {
	for _, tc := range []struct {
		name, keyName string
		wantErr       string
	}{
		{"simple", "tenant-a", ""},
		{"all-punctuation", "alias/team_1:prod.v2-x", ""},
		{"max-length", strings.Repeat("k", 128), ""},
		{"one-char", "k", ""},
		{"empty", "", "invalid key name"},
		{"too-long", strings.Repeat("k", 129), "invalid key name"},
		{"space", "a b", "invalid key name"},
		{"newline", "a\nb", "invalid key name"},
		{"non-ascii", "clé", "invalid key name"},
		{"plus", "a+b", "invalid key name"},
		{"duplicate", "default", "key already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, path := newKeyring(t)
			err := k.Create(tc.keyName)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Create(%q) = %v, want error containing %q", tc.keyName, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Create(%q) = %v", tc.keyName, err)
			}
			if _, err := reopen(t, path).GenerateDataKey(t.Context(), tc.keyName, nil); err != nil {
				t.Errorf("reopened GenerateDataKey(%q) = %v", tc.keyName, err)
			}
		})
	}
}

func TestList(t *testing.T) {
	k, path := newKeyring(t)
	for _, name := range []string{"zeta", "alpha"} {
		if err := k.Create(name); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Import("byok", make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Rotate("alpha"); err != nil {
		t.Fatal(err)
	}
	if err := k.Disable("zeta"); err != nil {
		t.Fatal(err)
	}
	got := k.List()
	want := []struct {
		name            string
		current         int
		disabled, deflt bool
		imported        bool
	}{
		{"alpha", 2, false, false, false},
		{"byok", 1, false, false, true},
		{"default", 1, false, true, false},
		{"zeta", 1, true, false, false},
	}
	if len(got) != len(want) {
		t.Fatalf("List() = %+v, want %d keys", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.CurrentVersion != w.current || len(g.Versions) != w.current ||
			g.Disabled != w.disabled || g.Default != w.deflt || g.Versions[0].Imported != w.imported || g.Created.IsZero() {
			t.Errorf("List()[%d] = %+v, want %+v", i, g, w)
		}
		for j, v := range g.Versions {
			if v.Version != j+1 || v.Created.IsZero() {
				t.Errorf("List()[%d].Versions[%d] = %+v, want version %d with a creation time", i, j, v, j+1)
			}
		}
	}
	if again := reopen(t, path).List(); !slices.EqualFunc(got, again, equalInfo) {
		t.Errorf("reopened List() = %+v, want %+v", again, got)
	}
}

func equalInfo(a, b keys.KeyInfo) bool {
	return a.Name == b.Name && a.Created.Equal(b.Created) && a.CurrentVersion == b.CurrentVersion &&
		a.Disabled == b.Disabled && a.Default == b.Default &&
		slices.EqualFunc(a.Versions, b.Versions, func(x, y keys.VersionInfo) bool {
			return x.Version == y.Version && x.Created.Equal(y.Created) && x.Imported == y.Imported
		})
}

func TestDefaultKeyName(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	k, err := keys.OpenKeyring(keys.KeyringOptions{Path: path, CreateIfMissing: true, DefaultKeyName: "tenant-a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Create("tenant-b"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, option, want string
		wantErr            error
	}{
		{"from-file", "", "tenant-a", nil},
		{"same-as-file", "tenant-a", "tenant-a", nil},
		{"override", "tenant-b", "tenant-b", nil},
		{"override-missing", "tenant-c", "", keys.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := keys.OpenKeyring(keys.KeyringOptions{Path: path, DefaultKeyName: tc.option})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("OpenKeyring(default %q) = %v, want %v naming %s", tc.option, err, tc.wantErr, path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := k.DefaultKeyID(); got != tc.want {
				t.Errorf("DefaultKeyID() = %q, want %q", got, tc.want)
			}
			dk, err := k.GenerateDataKey(ctx, "", nil)
			if err != nil || dk.KeyID != tc.want {
				t.Fatalf("GenerateDataKey(\"\") = KeyID %q, %v, want %q", dk.KeyID, err, tc.want)
			}
			if _, err := k.Decrypt(ctx, "", dk.Ciphertext, nil); err != nil {
				t.Errorf("Decrypt(\"\", ...) = %v, want success", err)
			}
		})
	}
	if _, err := keys.OpenKeyring(keys.KeyringOptions{Path: filepath.Join(dir, "new.json"), CreateIfMissing: true, DefaultKeyName: "bad name"}); err == nil || !strings.Contains(err.Error(), "invalid key name") {
		t.Errorf("OpenKeyring(create, default \"bad name\") = %v, want an invalid key name error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.json")); !os.IsNotExist(err) {
		t.Errorf("OpenKeyring with an invalid default name created a file: stat = %v", err)
	}
}

// TestSaveFailure checks that a mutation that cannot be saved changes nothing in memory.
func TestSaveFailure(t *testing.T) {
	k, path := newKeyring(t)
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if err := k.Create("new"); err == nil {
		t.Fatal("Create with its directory removed = nil, want an error")
	}
	if _, err := k.Rotate("default"); err == nil {
		t.Fatal("Rotate with its directory removed = nil, want an error")
	}
	if err := k.Disable("default"); err == nil {
		t.Fatal("Disable with its directory removed = nil, want an error")
	}
	got := k.List()
	if len(got) != 1 || got[0].CurrentVersion != 1 || got[0].Disabled {
		t.Errorf("List() after failed saves = %+v, want the original single key", got)
	}
	if _, err := k.GenerateDataKey(t.Context(), "", nil); err != nil {
		t.Errorf("GenerateDataKey after failed saves = %v", err)
	}
}

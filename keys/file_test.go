package keys_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sseproxy/sseproxy/keys"
)

// material32 is the base64 of 32 bytes of key material, for hand-written keyring files.
var material32 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, 32))

// keyringJSON is a valid format-1 keyring file; tests derive corrupt files from it.
var keyringJSON = `{"format": 1, "default_key": "default", "keys": {"default": {"created": "2026-01-02T03:04:05Z",
 "versions": [{"version": 1, "created": "2026-01-02T03:04:05Z", "material": "` + material32 + `"}]}}}`

// writeFile writes a keyring file with mode perm and returns its path.
func writeFile(t *testing.T, data string, perm fs.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // not subject to umask
		t.Fatal(err)
	}
	return path
}

func TestOpenKeyringFile(t *testing.T) {
	swap := func(old, new string) string {
		if !strings.Contains(keyringJSON, old) {
			t.Fatalf("keyringJSON does not contain %q", old)
		}
		return strings.Replace(keyringJSON, old, new, 1)
	}
	for _, tc := range []struct {
		name, data, wantErr string
	}{
		{"valid", keyringJSON, ""},
		{"empty", "", "not a keyring file"},
		{"not-json", "hello", "not a keyring file"},
		{"null", "null", "no format field"},
		{"array", "[1]", "not a keyring file"},
		{"no-format", `{"default_key": "default", "keys": {}}`, "no format field"},
		{"format-0", swap(`"format": 1`, `"format": 0`), "unsupported keyring format 0"},
		{"format-2", swap(`"format": 1`, `"format": 2`), "unsupported keyring format 2"},
		{"format-string", swap(`"format": 1`, `"format": "1"`), "not a keyring file"},
		{"unknown-field", swap(`"format": 1,`, `"format": 1, "extra": true,`), "unknown field"},
		{"trailing-data", keyringJSON + "{}", "after top-level value"},
		{"material-16-bytes", swap(material32, base64.StdEncoding.EncodeToString(make([]byte, 16))), "material is 16 bytes, want 32"},
		{"material-not-base64", swap(material32, "!!not base64!!"), "parse keyring"},
		{"version-gap", swap(`"version": 1`, `"version": 2`), "version 2 at position 1"},
		{"no-versions", `{"format": 1, "default_key": "default", "keys": {"default": {"versions": []}}}`, "no versions"},
		{"invalid-name", swap(`"keys": {"default"`, `"keys": {"a b"`), "invalid key name"},
		{"missing-default", swap(`"default_key": "default"`, `"default_key": "other"`), `default key "other" is not in the keyring`},
		{"no-keys", `{"format": 1, "default_key": "default"}`, "default key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.data, 0o600)
			k, err := keys.OpenKeyring(keys.KeyringOptions{Path: path})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("OpenKeyring(%s) = %v", tc.name, err)
				}
				if _, err := k.GenerateDataKey(t.Context(), "", nil); err != nil {
					t.Errorf("GenerateDataKey = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("OpenKeyring(%s) = nil error, want error containing %q", tc.name, tc.wantErr)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantErr) || !strings.Contains(msg, path) || !strings.HasPrefix(msg, "keys: ") {
				t.Errorf("OpenKeyring(%s) = %q, want a keys: error naming %s and containing %q", tc.name, msg, path, tc.wantErr)
			}
			if strings.Contains(msg, material32) {
				t.Errorf("OpenKeyring(%s) error reveals key material: %q", tc.name, msg)
			}
		})
	}
}

func TestOpenKeyringPermissions(t *testing.T) {
	for _, tc := range []struct {
		perm   fs.FileMode
		refuse bool
	}{
		{0o600, false},
		{0o400, false},
		{0o700, false},
		{0o640, true},
		{0o644, true},
		{0o604, true},
		{0o620, true},
		{0o602, true},
		{0o660, true},
		{0o666, true},
		{0o601, true},
	} {
		t.Run(tc.perm.String(), func(t *testing.T) {
			path := writeFile(t, keyringJSON, tc.perm)
			_, err := keys.OpenKeyring(keys.KeyringOptions{Path: path, CreateIfMissing: true})
			switch {
			case !tc.refuse && err != nil:
				t.Errorf("OpenKeyring(mode %04o) = %v, want success", tc.perm, err)
			case tc.refuse && (err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod 600")):
				t.Errorf("OpenKeyring(mode %04o) = %v, want a refusal naming %s and the fix", tc.perm, err, path)
			}
		})
	}
}

func TestOpenKeyringMissing(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		o        keys.KeyringOptions
		wantErr  string
		notExist bool
	}{
		{"empty-path", keys.KeyringOptions{}, "path is empty", false},
		{"missing", keys.KeyringOptions{Path: filepath.Join(dir, "missing.json")}, "no such file", true},
		{"missing-dir", keys.KeyringOptions{Path: filepath.Join(dir, "nodir", "k.json"), CreateIfMissing: true}, "no such file", true},
		{"directory", keys.KeyringOptions{Path: dir, CreateIfMissing: true}, "not a regular file", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keys.OpenKeyring(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, fs.ErrNotExist) != tc.notExist {
				t.Errorf("OpenKeyring(%+v) = %v, want error containing %q (fs.ErrNotExist: %v)", tc.o, err, tc.wantErr, tc.notExist)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed opens left files in %s: %v", dir, entries)
	}
}

// TestAtomicWrite checks after creation and every mutation that the keyring file is mode 0600
// and that no temporary file is left beside it.
func TestAtomicWrite(t *testing.T) {
	k, path := newKeyring(t)
	check := func(step string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("after %s: %v", step, err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("after %s: keyring mode = %04o, want 0600", step, perm)
		}
		entries, err := os.ReadDir(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != filepath.Base(path) {
			t.Errorf("after %s: directory holds %v, want only %s", step, entries, filepath.Base(path))
		}
	}
	check("create")
	for _, step := range []struct {
		name string
		do   func() error
	}{
		{"Create", func() error { return k.Create("k2") }},
		{"Import", func() error { return k.Import("k3", make([]byte, 32)) }},
		{"Rotate", func() error { _, err := k.Rotate("k2"); return err }},
		{"Disable", func() error { return k.Disable("k2") }},
		{"Enable", func() error { return k.Enable("k2") }},
		{"failed Create", func() error {
			if err := k.Create("k2"); !errors.Is(err, keys.ErrExists) {
				return err
			}
			return nil
		}},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s = %v", step.name, err)
		}
		check(step.name)
	}
}

// TestConcurrentCreate opens one missing keyring from several goroutines at once, as several
// proxy processes starting together would: exactly one key must result, shared by all.
func TestConcurrentCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	const n = 8
	rings := make([]*keys.Keyring, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := keys.OpenKeyring(keys.KeyringOptions{Path: path, CreateIfMissing: true})
			if err != nil {
				t.Errorf("OpenKeyring #%d = %v", i, err)
			}
			rings[i] = k
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, k := range rings {
		dk, err := k.GenerateDataKey(t.Context(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		next := rings[(i+1)%n]
		if got, err := next.Decrypt(t.Context(), "", dk.Ciphertext, nil); err != nil || !bytes.Equal(got, dk.Plaintext) {
			t.Errorf("keyring #%d cannot decrypt a key of keyring #%d: %v", (i+1)%n, i, err)
		}
	}
}

// TestConcurrentRotate uses a keyring while it is rotated; run with -race.
func TestConcurrentRotate(t *testing.T) {
	k, _ := newKeyring(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 5 {
			if _, err := k.Rotate("default"); err != nil {
				t.Errorf("Rotate = %v", err)
			}
			k.List()
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 20 {
				dk, err := k.GenerateDataKey(t.Context(), "", []byte("b/o"))
				if err != nil {
					t.Errorf("GenerateDataKey = %v", err)
					return
				}
				if got, err := k.Decrypt(t.Context(), "", dk.Ciphertext, []byte("b/o")); err != nil || !bytes.Equal(got, dk.Plaintext) {
					t.Errorf("Decrypt = %v", err)
				}
			}
		})
	}
	wg.Wait()
}

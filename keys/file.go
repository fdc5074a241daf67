package keys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// fileFormat is the keyring file format this package reads and writes. Files of any other
// format are refused before their contents are parsed.
const fileFormat = 1

// maxFileSize bounds what OpenKeyring reads; a keyring holding a thousand keys of a hundred
// versions each is about 15 MiB.
const maxFileSize = 32 << 20

// keyringFile is the JSON document of a keyring file, format 1 (see the package comment).
type keyringFile struct {
	Format     int                `json:"format"`
	DefaultKey string             `json:"default_key"`
	Keys       map[string]fileKey `json:"keys"`
}

// fileKey is one CMK in a keyring file.
type fileKey struct {
	Created  time.Time     `json:"created"`
	Disabled bool          `json:"disabled,omitempty"`
	Versions []fileVersion `json:"versions"`
}

// fileVersion is one version of a CMK in a keyring file; Material is base64 in JSON.
type fileVersion struct {
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Imported bool      `json:"imported,omitempty"`
	Material []byte    `json:"material"`
}

// state is a keyring in memory. A published state (Keyring.st) is never modified: mutations
// work on a clone and publish it once it is on disk.
type state struct {
	defaultKey string
	keys       map[string]*cmk
}

// cmk is one customer master key: its versions, oldest first; versions[i] is version i+1 and
// the last one is current.
type cmk struct {
	created  time.Time
	disabled bool
	versions []cmkVersion
}

// cmkVersion is one version of a CMK. material is never modified once created, so clones
// share it.
type cmkVersion struct {
	created  time.Time
	imported bool
	material []byte
}

// clone returns a copy of s that may be modified without affecting s; key material is shared.
func (s *state) clone() *state {
	c := &state{defaultKey: s.defaultKey, keys: make(map[string]*cmk, len(s.keys)+1)}
	for name, k := range s.keys {
		kc := *k
		kc.versions = append([]cmkVersion(nil), k.versions...)
		c.keys[name] = &kc
	}
	return c
}

// decodeKeyring parses and validates the bytes of a keyring file. It checks the format field
// before anything else, then parses strictly: unknown fields, trailing data, invalid names,
// material of the wrong size and gaps in version numbers are all errors. Error messages never
// contain key material.
func decodeKeyring(data []byte) (*state, error) {
	var head struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a keyring file: %w", err)
	}
	if head.Format == nil {
		return nil, errors.New("not a keyring file: no format field")
	}
	if *head.Format != fileFormat {
		return nil, fmt.Errorf("unsupported keyring format %d (this build reads format %d)", *head.Format, fileFormat)
	}
	// json.Unmarshal above has rejected any data after the document.
	var f keyringFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse keyring: %w", err)
	}
	st := &state{defaultKey: f.DefaultKey, keys: make(map[string]*cmk, len(f.Keys))}
	for name, fk := range f.Keys {
		if !validName(name) {
			return nil, fmt.Errorf("invalid key name %s", quoteName(name))
		}
		if len(fk.Versions) == 0 {
			return nil, fmt.Errorf("key %q has no versions", name)
		}
		k := &cmk{created: fk.Created, disabled: fk.Disabled, versions: make([]cmkVersion, len(fk.Versions))}
		for i, v := range fk.Versions {
			if v.Version != i+1 || int64(v.Version) > math.MaxUint32 {
				return nil, fmt.Errorf("key %q: version %d at position %d, want %d", name, v.Version, i+1, i+1)
			}
			if len(v.Material) != cmkSize {
				return nil, fmt.Errorf("key %q version %d: material is %d bytes, want %d", name, v.Version, len(v.Material), cmkSize)
			}
			k.versions[i] = cmkVersion{created: v.Created, imported: v.Imported, material: v.Material}
		}
		st.keys[name] = k
	}
	if _, ok := st.keys[st.defaultKey]; !ok {
		return nil, fmt.Errorf("default key %s is not in the keyring", quoteName(st.defaultKey))
	}
	return st, nil
}

// encodeKeyring returns the file bytes of st. The caller should clear them once written.
func encodeKeyring(st *state) ([]byte, error) {
	f := keyringFile{Format: fileFormat, DefaultKey: st.defaultKey, Keys: make(map[string]fileKey, len(st.keys))}
	for name, k := range st.keys {
		fk := fileKey{Created: k.created, Disabled: k.disabled, Versions: make([]fileVersion, len(k.versions))}
		for i, v := range k.versions {
			fk.Versions[i] = fileVersion{Version: i + 1, Created: v.created, Imported: v.imported, Material: v.material}
		}
		f.Keys[name] = fk
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// loadKeyring reads and decodes the keyring file at path, refusing files that group or others
// may access (see OpenKeyring). A missing file yields an error wrapping fs.ErrNotExist.
func loadKeyring(path string) (*state, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: open keyring: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keys: open keyring: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: keyring %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("keys: keyring %s has mode %04o: it holds every master key in the clear, "+
			"so group and others must have no access (run: chmod 600 %s)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	defer clear(data)
	if err != nil {
		return nil, fmt.Errorf("keys: read keyring %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("keys: keyring %s is larger than %d bytes", path, maxFileSize)
	}
	st, err := decodeKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("keys: keyring %s: %w", path, err)
	}
	return st, nil
}

// saveKeyring writes st to path atomically: a 0600 temporary file in the same directory,
// fsynced, then renamed over path, then the directory fsynced. Readers of path see either the
// old or the new keyring, never a mix; a crash leaves at worst a stray temporary file.
func saveKeyring(path string, st *state) error {
	tmp, err := writeTemp(path, st)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keys: save keyring: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// createKeyring writes st to path like saveKeyring, but only if path does not exist: the file
// is linked into place, which fails if another process created it first. Then, and only then,
// existed is true and nothing was written.
func createKeyring(path string, st *state) (existed bool, err error) {
	tmp, err := writeTemp(path, st)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return true, nil
		}
		// Some file systems have no hard links; fall back to a (clobbering) rename.
		if err := os.Rename(tmp, path); err != nil {
			return false, fmt.Errorf("keys: create keyring: %w", err)
		}
	}
	return false, syncDir(filepath.Dir(path))
}

// writeTemp writes the encoding of st to a new 0600 file beside path, fsyncs it and returns its
// name. On error it removes the file.
func writeTemp(path string, st *state) (name string, err error) {
	data, err := encodeKeyring(st)
	defer clear(data)
	if err != nil {
		return "", fmt.Errorf("keys: encode keyring: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("keys: save keyring: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("keys: save keyring: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("keys: save keyring: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("keys: save keyring: %w", err)
	}
	return f.Name(), nil
}

// syncDir fsyncs a directory so that a rename or link in it survives a crash.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keys: sync keyring directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keys: sync keyring directory: %w", err)
	}
	return nil
}

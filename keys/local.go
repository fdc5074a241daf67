package keys

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// KeyringOptions configures OpenKeyring. The zero value of each field is its documented default.
type KeyringOptions struct {
	// Path is the keyring file. Required.
	Path string
	// CreateIfMissing makes OpenKeyring create the file, holding one fresh random key named
	// DefaultKeyName, when Path does not exist. Default false: a missing file is an error, so that
	// a typo in the path cannot silently start a new, empty key hierarchy.
	CreateIfMissing bool
	// DefaultKeyName is the key used when GenerateDataKey or Decrypt get keyID "". When the file
	// is created it is stored there as the default; when the file exists and DefaultKeyName is
	// set, it overrides the file's default for this Keyring (without changing the file) and must
	// name an existing key. Default: the file's default key, or "default" for a new file.
	DefaultKeyName string
}

// Keyring is the local KMS provider: customer master keys kept in one JSON file on local disk,
// each with numbered versions of 32-byte AES-256 material. It implements KMS, and the management
// operations a key CLI needs; each of those persists the whole keyring atomically before it
// returns, and changes nothing in memory if that fails.
//
// A Keyring reads its file once, in OpenKeyring: changes made by another process (the CLI
// while the proxy runs) take effect when the proxy reopens the keyring. Mutations from several
// processes at once are not coordinated: run one key-management command at a time.
//
// A Keyring is safe for concurrent use.
type Keyring struct {
	path       string
	defaultKey string

	writeMu sync.Mutex   // serializes mutations, so each one starts from the previous one's state
	mu      sync.RWMutex // guards st
	st      *state       // never modified once published; see state
}

var _ KMS = (*Keyring)(nil)

// OpenKeyring loads the keyring file o.Path. With o.CreateIfMissing and no file, it creates one
// holding a fresh random key named o.DefaultKeyName (version 1), written with mode 0600.
//
// OpenKeyring refuses a keyring file that group or others may read or write (mode & 0077 != 0),
// with an error naming the path and the fix (chmod 600). It refuses rather than warns because
// the file holds every master key in the clear: a warning is easily lost in logs while the key
// material stays exposed, and write access would let another user substitute a key they know.
// The check is skipped on Windows, which has no Unix permission bits.
//
// It also refuses files of an unknown format version, unparsable or inconsistent files and files
// larger than 32 MiB, with errors naming the path.
func OpenKeyring(o KeyringOptions) (*Keyring, error) {
	if o.Path == "" {
		return nil, errors.New("keys: keyring path is empty")
	}
	st, err := loadKeyring(o.Path)
	if errors.Is(err, fs.ErrNotExist) && o.CreateIfMissing {
		st, err = newKeyringFile(o.Path, o.DefaultKeyName)
	}
	if err != nil {
		return nil, err
	}
	k := &Keyring{path: o.Path, defaultKey: st.defaultKey, st: st}
	if o.DefaultKeyName != "" && o.DefaultKeyName != st.defaultKey {
		if _, ok := st.keys[o.DefaultKeyName]; !ok {
			return nil, fmt.Errorf("%w: default key %s is not in keyring %s", ErrNotFound, quoteName(o.DefaultKeyName), o.Path)
		}
		k.defaultKey = o.DefaultKeyName
	}
	return k, nil
}

// newKeyringFile creates the keyring file path holding one random key named name (default
// "default"). If another process creates the file first, it loads that file instead.
func newKeyringFile(path, name string) (*state, error) {
	if name == "" {
		name = "default"
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	st := &state{defaultKey: name, keys: map[string]*cmk{}}
	if err := addKey(st, name, nil); err != nil {
		return nil, err
	}
	existed, err := createKeyring(path, st)
	if err != nil {
		return nil, err
	}
	if existed {
		return loadKeyring(path)
	}
	return st, nil
}

// DefaultKeyID returns the name of the key used for keyID "".
func (k *Keyring) DefaultKeyID() string { return k.defaultKey }

// GenerateDataKey returns a fresh random data key wrapped by the current version of the key
// keyID ("" for the default key), bound to keyID and associatedData. DataKey.KeyID is the
// resolved key name. Errors: ErrNotFound, ErrDisabled, or ctx.Err() (wrapped) if ctx is done.
func (k *Keyring) GenerateDataKey(ctx context.Context, keyID string, associatedData []byte) (DataKey, error) {
	if err := ctx.Err(); err != nil {
		return DataKey{}, fmt.Errorf("keys: %w", err)
	}
	name, key, err := k.lookup(keyID)
	if err != nil {
		return DataKey{}, err
	}
	version := len(key.versions)
	plaintext := make([]byte, DataKeySize)
	if _, err := rand.Read(plaintext); err != nil {
		return DataKey{}, fmt.Errorf("keys: generate data key: %w", err)
	}
	wrapped, err := wrap(key.versions[version-1].material, version, name, associatedData, plaintext)
	if err != nil {
		clear(plaintext)
		return DataKey{}, err
	}
	return DataKey{KeyID: name, Plaintext: plaintext, Ciphertext: wrapped}, nil
}

// Decrypt unwraps ciphertext, a DataKey.Ciphertext from GenerateDataKey with the same keyID
// ("" for the default key) and associatedData, using whichever version of the key wrapped it.
// Errors: ErrNotFound, ErrDisabled, ErrDecrypt for any ciphertext that does not authenticate
// under this key and associated data, or ctx.Err() (wrapped) if ctx is done.
func (k *Keyring) Decrypt(ctx context.Context, keyID string, ciphertext, associatedData []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	name, key, err := k.lookup(keyID)
	if err != nil {
		return nil, err
	}
	version, ok := wrappedVersion(ciphertext)
	if !ok || version > len(key.versions) {
		return nil, ErrDecrypt
	}
	return unwrap(key.versions[version-1].material, name, associatedData, ciphertext)
}

// lookup resolves keyID ("" for the default) to an enabled key. The returned key belongs to a
// published state and must not be modified.
func (k *Keyring) lookup(keyID string) (string, *cmk, error) {
	if keyID == "" {
		keyID = k.defaultKey
	}
	k.mu.RLock()
	key, ok := k.st.keys[keyID]
	k.mu.RUnlock()
	switch {
	case !ok:
		return "", nil, fmt.Errorf("%w: %s", ErrNotFound, quoteName(keyID))
	case key.disabled:
		return "", nil, fmt.Errorf("%w: %s", ErrDisabled, quoteName(keyID))
	}
	return keyID, key, nil
}

// Create adds a key named name with fresh random material as version 1.
// Errors: an invalid name, ErrExists, or a failure to save the keyring.
func (k *Keyring) Create(name string) error {
	return k.update(func(st *state) error { return addKey(st, name, nil) })
}

// Import adds a key named name whose version 1 is material, external key material of exactly
// 32 bytes (bring your own key). The Keyring keeps its own copy of material; the caller should
// clear its copy. Errors: an invalid name or material size, ErrExists, or a failure to save.
func (k *Keyring) Import(name string, material []byte) error {
	if len(material) != cmkSize {
		return fmt.Errorf("keys: import %s: key material is %d bytes, want exactly %d", quoteName(name), len(material), cmkSize)
	}
	return k.update(func(st *state) error { return addKey(st, name, slices.Clone(material)) })
}

// addKey adds a key to st, with material as version 1, or fresh random material if nil.
func addKey(st *state, name string, material []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, ok := st.keys[name]; ok {
		return fmt.Errorf("%w: %s", ErrExists, quoteName(name))
	}
	v, err := newVersion(material)
	if err != nil {
		return err
	}
	st.keys[name] = &cmk{created: v.created, versions: []cmkVersion{v}}
	return nil
}

// newVersion returns a key version holding material, or fresh random material if nil.
func newVersion(material []byte) (cmkVersion, error) {
	v := cmkVersion{created: time.Now().UTC().Truncate(time.Second), imported: material != nil, material: material}
	if material == nil {
		v.material = make([]byte, cmkSize)
		if _, err := rand.Read(v.material); err != nil {
			return cmkVersion{}, fmt.Errorf("keys: generate key material: %w", err)
		}
	}
	return v, nil
}

// Rotate adds a new version with fresh random material to the key name and returns its number.
// New data keys are wrapped by the new version; data keys wrapped by older versions still
// decrypt, so no data is re-encrypted. Errors: ErrNotFound, ErrDisabled, or a failure to save.
func (k *Keyring) Rotate(name string) (version int, err error) {
	err = k.update(func(st *state) error {
		key, err := mutableKey(st, name)
		if err != nil {
			return err
		}
		if key.disabled {
			return fmt.Errorf("%w: %s", ErrDisabled, quoteName(name))
		}
		if int64(len(key.versions)) >= math.MaxUint32 {
			return fmt.Errorf("keys: rotate %s: no versions left", quoteName(name))
		}
		v, err := newVersion(nil)
		if err != nil {
			return err
		}
		key.versions = append(key.versions, v)
		version = len(key.versions)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return version, nil
}

// Disable disables the key name: GenerateDataKey and Decrypt with it return ErrDisabled until
// Enable. Its material is kept. Disabling a disabled key does nothing.
// Errors: ErrNotFound, or a failure to save.
func (k *Keyring) Disable(name string) error { return k.setDisabled(name, true) }

// Enable re-enables the key name after Disable. Enabling an enabled key does nothing.
// Errors: ErrNotFound, or a failure to save.
func (k *Keyring) Enable(name string) error { return k.setDisabled(name, false) }

func (k *Keyring) setDisabled(name string, disabled bool) error {
	return k.update(func(st *state) error {
		key, err := mutableKey(st, name)
		if err != nil {
			return err
		}
		if key.disabled == disabled {
			return errUnchanged
		}
		key.disabled = disabled
		return nil
	})
}

// mutableKey returns the key name of a cloned state, or ErrNotFound.
func mutableKey(st *state, name string) (*cmk, error) {
	key, ok := st.keys[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, quoteName(name))
	}
	return key, nil
}

// errUnchanged tells update that a mutation changed nothing and need not be saved.
var errUnchanged = errors.New("keys: unchanged")

// update applies fn to a clone of the current state, saves the clone and then publishes it.
// If fn or the save fails, the Keyring is unchanged.
func (k *Keyring) update(fn func(st *state) error) error {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	k.mu.RLock()
	next := k.st.clone()
	k.mu.RUnlock()
	if err := fn(next); err != nil {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	if err := saveKeyring(k.path, next); err != nil {
		return err
	}
	k.mu.Lock()
	k.st = next
	k.mu.Unlock()
	return nil
}

// KeyInfo describes one key of a Keyring. It never contains key material.
type KeyInfo struct {
	// Name is the key name, the keyID of GenerateDataKey and Decrypt.
	Name string
	// Created is when the key (its version 1) was created or imported, in UTC.
	Created time.Time
	// CurrentVersion is the version that wraps new data keys: the newest one.
	CurrentVersion int
	// Versions lists every version, oldest first; all of them still decrypt.
	Versions []VersionInfo
	// Disabled reports whether the key is disabled.
	Disabled bool
	// Default reports whether the key is the one used for keyID "".
	Default bool
}

// VersionInfo describes one version of a key.
type VersionInfo struct {
	// Version numbers versions from 1; it is recorded in every data key the version wraps.
	Version int
	// Created is when the version was created or imported, in UTC.
	Created time.Time
	// Imported reports whether the material came from Import (bring your own key) rather than
	// from crypto/rand.
	Imported bool
}

// List describes every key of the keyring, sorted by name, without key material.
func (k *Keyring) List() []KeyInfo {
	k.mu.RLock()
	st := k.st
	k.mu.RUnlock()
	infos := make([]KeyInfo, 0, len(st.keys))
	for name, key := range st.keys {
		info := KeyInfo{
			Name:           name,
			Created:        key.created,
			CurrentVersion: len(key.versions),
			Versions:       make([]VersionInfo, len(key.versions)),
			Disabled:       key.disabled,
			Default:        name == k.defaultKey,
		}
		for i, v := range key.versions {
			info.Versions[i] = VersionInfo{Version: i + 1, Created: v.created, Imported: v.imported}
		}
		infos = append(infos, info)
	}
	slices.SortFunc(infos, func(a, b KeyInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos
}

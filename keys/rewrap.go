package keys

import (
	"context"
	"fmt"
	"strconv"
)

// Rewrapper is implemented by KMSs that re-wrap a wrapped data key under
// the current version of a CMK, or under another CMK, so that key rotation
// never moves object data. The caller never needs the data key itself where
// the KMS has a native operation (AWS ReEncrypt; Vault re-encrypts, as its rewrap endpoint ignores associated data).
type Rewrapper interface {
	// Rewrap unwraps ciphertext (wrapped by fromKeyID with associated data
	// ad) and wraps the same data key under toKeyID ("" = fromKeyID's
	// current version), with the same associated data. It returns the new
	// ciphertext and the resolved key id. Errors as for Decrypt.
	Rewrap(ctx context.Context, fromKeyID string, ciphertext, ad []byte, toKeyID string) ([]byte, string, error)
}

// Versioner is implemented by KMSs whose wrapped keys name the CMK version
// that wrapped them.
type Versioner interface {
	// WrappedVersion returns the CMK version of ciphertext, or ok false.
	WrappedVersion(ciphertext []byte) (version string, ok bool)
	// CurrentVersion returns the version new data keys of keyID use.
	CurrentVersion(ctx context.Context, keyID string) (string, error)
}

var (
	_ Rewrapper = (*Keyring)(nil)
	_ Versioner = (*Keyring)(nil)
)

// Rewrap re-wraps a data key under the current version of toKeyID ("" =
// fromKeyID), binding it to toKeyID and the same associated data.
func (k *Keyring) Rewrap(ctx context.Context, fromKeyID string, ciphertext, ad []byte, toKeyID string) ([]byte, string, error) {
	dk, err := k.Decrypt(ctx, fromKeyID, ciphertext, ad)
	if err != nil {
		return nil, "", err
	}
	defer clear(dk)
	if toKeyID == "" {
		toKeyID = fromKeyID
	}
	name, key, err := k.lookup(toKeyID)
	if err != nil {
		return nil, "", err
	}
	version := len(key.versions)
	wrapped, err := wrap(key.versions[version-1].material, version, name, ad, dk)
	return wrapped, name, err
}

// WrappedVersion returns the keyring version that wrapped ciphertext.
func (k *Keyring) WrappedVersion(ciphertext []byte) (string, bool) {
	v, ok := wrappedVersion(ciphertext)
	if !ok {
		return "", false
	}
	return strconv.Itoa(v), true
}

// CurrentVersion returns the version new data keys of keyID use.
func (k *Keyring) CurrentVersion(ctx context.Context, keyID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("keys: %w", err)
	}
	_, key, err := k.lookup(keyID)
	if err != nil {
		return "", err
	}
	return strconv.Itoa(len(key.versions)), nil
}

// Rebinder is implemented by KMSs that can move a wrapped data key to new
// associated data under the same CMK: a copy of an object to another name
// keeps its data key (the backend copies the bytes server-side) while the
// wrapped key is bound to the new name.
type Rebinder interface {
	// Rebind unwraps ciphertext (keyID, fromAD) and wraps the same data key
	// under keyID's current version with toAD. Errors as for Decrypt.
	Rebind(ctx context.Context, keyID string, ciphertext, fromAD, toAD []byte) ([]byte, error)
}

var _ Rebinder = (*Keyring)(nil)

// Rebind re-wraps a data key of keyID from associated data fromAD to toAD.
func (k *Keyring) Rebind(ctx context.Context, keyID string, ciphertext, fromAD, toAD []byte) ([]byte, error) {
	dk, err := k.Decrypt(ctx, keyID, ciphertext, fromAD)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	name, key, err := k.lookup(keyID)
	if err != nil {
		return nil, err
	}
	version := len(key.versions)
	return wrap(key.versions[version-1].material, version, name, toAD, dk)
}

package keys

import (
	"context"
	"errors"
	"fmt"
)

// DataKeySize is the length in bytes of every data key a KMS generates: one AES-256 key.
const DataKeySize = 32

// DataKey is a fresh data key: Plaintext (DataKeySize random bytes) to encrypt one object, and
// Ciphertext, the same key wrapped by the CMK named KeyID. Ciphertext is opaque and
// self-describing: it carries the CMK version that wrapped it, so rotation never needs
// re-encryption of data.
//
// The caller owns both slices. It should clear Plaintext (clear(dk.Plaintext)) once the object is
// encrypted, and store KeyID and Ciphertext beside the object.
type DataKey struct {
	// KeyID names the CMK that wrapped the key, resolved by the KMS: when GenerateDataKey was
	// asked for the default key (""), KeyID is that key's real name. Pass it back to Decrypt.
	KeyID string
	// Plaintext is the data key itself. It is secret: never log or store it.
	Plaintext []byte
	// Ciphertext is Plaintext wrapped by the CMK, safe to store in object metadata.
	Ciphertext []byte
}

// KMS is what the proxy needs from a key management service: wrapped data keys, bound to the
// object they protect.
//
// Contract, which the conformance suite in package keys/kmstest checks for every provider:
//   - Implementations are safe for concurrent use.
//   - keyID "" means the provider's default key; any other keyID names one CMK.
//   - associatedData binds the wrapped key to its object (the proxy passes "bucket/object"):
//     Decrypt with different associated data fails with ErrDecrypt. Nil and empty associated
//     data are the same value.
//   - A ciphertext is bound to the CMK that wrapped it: Decrypt under another keyID fails with
//     ErrDecrypt (or ErrNotFound if that key does not exist).
//   - Errors: ErrNotFound for a key that does not exist, ErrDisabled for a disabled key,
//     ErrDecrypt for any ciphertext that does not authenticate, whatever the reason,
//     ErrUnavailable when the service cannot be reached or times out. If ctx is done before or
//     during the call, the error wraps ctx.Err().
//   - Returned slices belong to the caller, who may clear or modify them.
type KMS interface {
	// GenerateDataKey returns a fresh random data key wrapped by the CMK keyID, bound to
	// associatedData.
	GenerateDataKey(ctx context.Context, keyID string, associatedData []byte) (DataKey, error)
	// Decrypt unwraps a DataKey.Ciphertext produced by GenerateDataKey for the same keyID and
	// associatedData, and returns the plaintext data key.
	Decrypt(ctx context.Context, keyID string, ciphertext, associatedData []byte) ([]byte, error)
}

// Errors returned by KMS providers and the keyring. Callers test them with errors.Is; providers
// may wrap them to add the key name, but never wrap ErrDecrypt with detail.
var (
	// ErrNotFound means the named key does not exist. The proxy answers 400 KMS.NotFoundException.
	ErrNotFound = errors.New("keys: key not found")
	// ErrDisabled means the key exists but is disabled. The proxy answers 403 KMS.DisabledException.
	ErrDisabled = errors.New("keys: key disabled")
	// ErrDecrypt is the one opaque unwrap failure: wrong key, wrong associated data, tampered or
	// truncated ciphertext, unknown format or CMK version. It reveals nothing else, by design.
	ErrDecrypt = errors.New("keys: decryption failed")
	// ErrUnavailable means the KMS could not be reached or timed out. The proxy answers 503.
	ErrUnavailable = errors.New("keys: kms unavailable")
	// ErrExists means a key of that name already exists (key management, e.g. the CLI).
	ErrExists = errors.New("keys: key already exists")
)

// maxNameLen is the longest key name the keyring accepts.
const maxNameLen = 128

// validName reports whether name is a legal keyring key name: 1 to 128 characters from
// A-Z a-z 0-9 and / _ - : . (the characters AWS KMS allows in aliases and ARNs, and safe in
// logs, metadata values and URL paths without escaping).
func validName(name string) bool {
	if len(name) == 0 || len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '/', c == '_', c == '-', c == ':', c == '.':
		default:
			return false
		}
	}
	return true
}

// checkName returns a descriptive error if name is not a legal key name.
func checkName(name string) error {
	if validName(name) {
		return nil
	}
	return fmt.Errorf("keys: invalid key name %s: want 1-%d characters from [A-Za-z0-9/_:.-]",
		quoteName(name), maxNameLen)
}

// quoteName quotes a caller-supplied name for an error message, cut short so that a hostile
// name cannot flood logs.
func quoteName(name string) string {
	const max = maxNameLen + 8
	if len(name) > max {
		return fmt.Sprintf("%q...", name[:max])
	}
	return fmt.Sprintf("%q", name)
}

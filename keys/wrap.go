package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
)

// Wrapped key format 1, specified in the package comment (doc.go). Offsets and sizes in bytes.
const (
	wrapFormat1 = 0x01 // first byte of every format-1 wrapped key

	cmkSize   = 32 // CMK material: one AES-256 key
	saltSize  = 16 // HKDF salt, random per wrapped key
	nonceSize = 12 // AES-GCM nonce, random per wrapped key
	tagSize   = 16 // AES-GCM tag

	offVersion = 1
	offSalt    = offVersion + 4
	offNonce   = offSalt + saltSize
	offSealed  = offNonce + nonceSize

	wrappedSize = offSealed + DataKeySize + tagSize // 81
)

// wrapInfo is the HKDF info string; it separates wrapping keys from any other use of a CMK.
const wrapInfo = "sseproxy/keys: wrap v1"

// wrap seals dataKey under version version of the CMK named keyID, whose material is cmk, and
// binds it to keyID and ad. It returns a wrappedSize-byte format-1 wrapped key.
func wrap(cmk []byte, version int, keyID string, ad, dataKey []byte) ([]byte, error) {
	if len(dataKey) != DataKeySize || version < 1 || int64(version) > math.MaxUint32 {
		return nil, errors.New("keys: wrap: invalid data key or version")
	}
	out := make([]byte, offSealed, wrappedSize)
	out[0] = wrapFormat1
	binary.BigEndian.PutUint32(out[offVersion:], uint32(version))
	if _, err := rand.Read(out[offSalt:offSealed]); err != nil {
		return nil, err
	}
	aead, err := wrapAEAD(cmk, out[offSalt:offNonce])
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, out[offNonce:offSealed], dataKey, wrapAAD(out, keyID, ad)), nil
}

// wrappedVersion checks the format and bounds of a wrapped key and returns the CMK version that
// wrapped it. ok is false for anything that is not a well-formed format-1 wrapped key.
func wrappedVersion(wrapped []byte) (version int, ok bool) {
	if len(wrapped) != wrappedSize || wrapped[0] != wrapFormat1 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(wrapped[offVersion:offSalt])
	if v == 0 || uint64(v) > math.MaxInt { // an int has 32 bits on some platforms
		return 0, false
	}
	return int(v), true
}

// unwrap opens a wrapped key already checked by wrappedVersion, under the CMK material of the
// version it names. Every failure is ErrDecrypt.
func unwrap(cmk []byte, keyID string, ad, wrapped []byte) ([]byte, error) {
	if _, ok := wrappedVersion(wrapped); !ok {
		return nil, ErrDecrypt
	}
	aead, err := wrapAEAD(cmk, wrapped[offSalt:offNonce])
	if err != nil {
		return nil, ErrDecrypt
	}
	dataKey, err := aead.Open(nil, wrapped[offNonce:offSealed], wrapped[offSealed:], wrapAAD(wrapped, keyID, ad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return dataKey, nil
}

// wrapAEAD returns AES-256-GCM keyed with HKDF-SHA256(cmk, salt, wrapInfo). Deriving a fresh
// wrapping key per wrapped key lifts GCM's limit of 2^32 random nonces per key: one CMK version
// may wrap any number of data keys. The derived key is cleared once the cipher is built.
func wrapAEAD(cmk, salt []byte) (cipher.AEAD, error) {
	if len(cmk) != cmkSize {
		return nil, errors.New("keys: wrap: invalid CMK size")
	}
	kek, err := hkdf.Key(sha256.New, cmk, salt, wrapInfo, 32)
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// wrapAAD returns the associated data of a wrapped key: its format and version bytes, then
// keyID and ad, each preceded by its length as a big-endian uint64, so that no two distinct
// (keyID, ad) pairs encode alike and a wrapped key cannot move to another key name or object.
func wrapAAD(wrapped []byte, keyID string, ad []byte) []byte {
	b := make([]byte, 0, offSalt+8+len(keyID)+8+len(ad))
	b = append(b, wrapped[:offSalt]...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(keyID)))
	b = append(b, keyID...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(ad)))
	return append(b, ad...)
}

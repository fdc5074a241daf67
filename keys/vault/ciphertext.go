package vault

import (
	"bytes"
	"encoding/base64"
)

// A Transit ciphertext is "vault:v" <version> ":" <base64(nonce || sealed || tag)>, written by
// keysutil.Policy.EncryptWithFactory in Vault (sdk/helper/keysutil/policy.go). Vault parses it
// leniently: version "0" means 1, strconv.Atoi accepts "+1" and "01", and the base64 decoder
// skips line breaks and ignores non-zero padding bits. Each of those lets a changed ciphertext
// decrypt, so the client accepts only the canonical form Vault writes, and checks it before
// anything goes to Vault.
const (
	ciphertextPrefix = "vault:v"
	// maxVersionDigits bounds the version: nine digits stay below 2^31.
	maxVersionDigits = 9
	// maxCiphertextLen bounds a ciphertext before it is parsed; real ones are about 90 bytes.
	maxCiphertextLen = 256
)

// The sealed payload of a 32-byte data key: nonce, encrypted key, 16-byte tag. A 12-byte nonce
// for aes128-gcm96, aes256-gcm96 and chacha20-poly1305; 24 bytes for xchacha20-poly1305.
const (
	sealedSize12 = 12 + 32 + 16
	sealedSize24 = 24 + 32 + 16
)

// parseCiphertext checks that ct is a canonical Transit ciphertext of a 32-byte data key and
// returns its key version (>= 1).
func parseCiphertext(ct []byte) (version int, ok bool) {
	if len(ct) > maxCiphertextLen || !bytes.HasPrefix(ct, []byte(ciphertextPrefix)) {
		return 0, false
	}
	rest := ct[len(ciphertextPrefix):]
	i := bytes.IndexByte(rest, ':')
	if i < 1 || i > maxVersionDigits || rest[0] == '0' {
		return 0, false
	}
	for _, d := range rest[:i] {
		if d < '0' || d > '9' {
			return 0, false
		}
		version = version*10 + int(d-'0')
	}
	payload := rest[i+1:]
	for _, b := range payload {
		if !isBase64(b) {
			return 0, false // also rules out the line breaks the decoder would skip
		}
	}
	var buf [sealedSize24 + 3]byte
	if base64.StdEncoding.DecodedLen(len(payload)) > len(buf) {
		return 0, false
	}
	n, err := base64.StdEncoding.Strict().Decode(buf[:], payload)
	if err != nil || (n != sealedSize12 && n != sealedSize24) {
		return 0, false
	}
	return version, true
}

// isBase64 reports whether b belongs to the standard base64 alphabet or is padding.
func isBase64(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '+' || b == '/' || b == '='
}

package kes

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// Wrapped key format 1, specified in the package comment (doc.go).
const (
	sealFormat1 = 0x01        // first byte of every format-1 wrapped key
	tagSize     = sha256.Size // HMAC-SHA256 tag, the last 32 bytes
	sealInfo    = "sseproxy/keys/kes: wrapped key v1"

	minSealed = 1 + 1 + tagSize
	maxSealed = 1 + maxKESCiphertext + tagSize
)

// seal returns the format-1 wrapped key holding kesCiphertext, which KES returned for dataKey
// under the KES key name.
func seal(name string, kesCiphertext, dataKey []byte) []byte {
	out := make([]byte, 0, 1+len(kesCiphertext)+tagSize)
	out = append(out, sealFormat1)
	out = append(out, kesCiphertext...)
	return append(out, sealTag(dataKey, name, out)...)
}

// parseSealed returns the KES ciphertext inside a format-1 wrapped key, or false if sealed is
// not shaped like one. It does not authenticate anything: verify does, once KES has returned the
// data key.
func parseSealed(sealed []byte) (kesCiphertext []byte, ok bool) {
	if len(sealed) < minSealed || len(sealed) > maxSealed || sealed[0] != sealFormat1 {
		return nil, false
	}
	return sealed[1 : len(sealed)-tagSize], true
}

// verify reports whether the tag of the format-1 wrapped key sealed matches dataKey and name, in
// constant time.
func verify(name string, sealed, dataKey []byte) bool {
	if len(sealed) < minSealed {
		return false
	}
	body := sealed[:len(sealed)-tagSize]
	return hmac.Equal(sealTag(dataKey, name, body), sealed[len(sealed)-tagSize:])
}

// sealTag returns HMAC-SHA256(macKey, be64(len(name)) || name || body), with macKey derived from
// dataKey by HKDF-SHA256 (no salt, info sealInfo).
func sealTag(dataKey []byte, name string, body []byte) []byte {
	macKey, err := hkdf.Key(sha256.New, dataKey, nil, sealInfo, sha256.Size)
	if err != nil { // only for an output length HKDF cannot produce
		panic("kes: hkdf: " + err.Error())
	}
	defer clear(macKey)
	mac := hmac.New(sha256.New, macKey)
	mac.Write(binary.BigEndian.AppendUint64(nil, uint64(len(name))))
	mac.Write([]byte(name))
	mac.Write(body)
	return mac.Sum(nil)
}

// Package keys owns sseproxy's key hierarchy: the KMS contract the proxy codes against, the
// errors every provider returns, and the local keyring provider (Keyring). Providers backed by
// real key management services live in sub-packages; package kmstest is the conformance suite
// they all run.
//
// # Envelope encryption
//
// Every object gets its own data key; a customer master key (CMK), which never leaves the KMS,
// wraps it. The proxy stores only the wrapped key, next to the object:
//
//	PUT:  dk := kms.GenerateDataKey(ctx, keyID, ad)     // ad = "bucket/object"
//	      store object = sse.Encrypt(dk.Plaintext, body), metadata = {dk.KeyID, dk.Ciphertext}
//	      clear(dk.Plaintext)
//	GET:  key := kms.Decrypt(ctx, meta.KeyID, meta.Ciphertext, ad)
//	      body = sse.Decrypt(key, object); clear(key)
//
// The associated data binds a wrapped key to its object, so a wrapped key copied onto another
// object's metadata does not decrypt. (A copy to a new name therefore needs a new wrapped key;
// re-wrapping the existing data key would need a KMS Encrypt operation, which this contract
// does not have yet.) A CMK rotation adds a version; the version that wrapped a
// data key travels inside the wrapped key, so old objects stay readable and nothing is
// re-encrypted.
//
// # Wrapped key format 1 (local keyring)
//
// A Keyring's DataKey.Ciphertext is exactly 81 bytes:
//
//	offset  size  field
//	     0     1  format, 0x01
//	     1     4  CMK version, big-endian uint32, >= 1
//	     5    16  salt, from crypto/rand
//	    21    12  nonce, from crypto/rand
//	    33    32  data key, encrypted with AES-256-GCM
//	    65    16  GCM tag
//
// with
//
//	kek    = HKDF-SHA256(secret = material of that CMK version, salt = salt,
//	                     info = "sseproxy/keys: wrap v1", length = 32)
//	aad    = ciphertext[0:5] || be64(len(keyID)) || keyID || be64(len(ad)) || ad
//	sealed = AES-256-GCM(kek).Seal(nonce, dataKey, aad)     // ciphertext[33:81]
//
// keyID is the resolved key name (never ""), ad the caller's associated data (nil and empty are
// the same). The length prefixes keep (keyID, ad) pairs unambiguous, so a wrapped key moves
// neither to another object nor to another CMK name, even one holding the same material.
//
// A fresh kek per wrapped key, rather than the CMK itself, is the one departure from the plain
// "AES-GCM under the CMK" design: GCM with random 96-bit nonces allows only 2^32 encryptions per
// key (NIST SP 800-38D, 8.3), a number a busy proxy could reach under one CMK version. With a
// random 128-bit salt, a CMK version can wrap any number of data keys.
//
// Decrypt checks, in order: ctx; the key exists (else ErrNotFound) and is enabled (else
// ErrDisabled); the length is exactly 81, the format byte is 0x01 and the version is one the key
// has; then GCM authentication. Every ciphertext failure is the same ErrDecrypt.
//
// # Keyring file format 1
//
// A Keyring keeps all its keys in one JSON file, mode 0600, replaced atomically on every change
// (temporary file in the same directory, fsync, rename, fsync of the directory):
//
//	{
//	  "format": 1,
//	  "default_key": "default",
//	  "keys": {
//	    "default": {
//	      "created": "2026-01-02T03:04:05Z",
//	      "versions": [
//	        {"version": 1, "created": "2026-01-02T03:04:05Z", "material": "<base64 of 32 bytes>"},
//	        {"version": 2, "created": "2026-04-01T00:00:00Z", "material": "<base64 of 32 bytes>"}
//	      ]
//	    },
//	    "byok": {
//	      "created": "2026-03-01T00:00:00Z",
//	      "disabled": true,
//	      "versions": [
//	        {"version": 1, "created": "2026-03-01T00:00:00Z", "imported": true, "material": "..."}
//	      ]
//	    }
//	  }
//	}
//
// "disabled" and "imported" are omitted when false. The current version of a key is its last.
//
// The reader checks "format" before parsing the rest and refuses any format but 1, then parses
// strictly: unknown fields, names outside [A-Za-z0-9/_\-:.]{1,128}, versions not numbered 1, 2,
// 3, ... in order, material not 32 bytes, or a default key missing from "keys" are errors.
// Key material comes only from crypto/rand, or from Import; it is never logged and never appears
// in an error message.
package keys

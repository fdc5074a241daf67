// Package vault is the keys.KMS provider for the Transit secrets engine of HashiCorp Vault and
// OpenBao: customer master keys are Transit keys, which never leave Vault, and the client
// speaks Vault's HTTP API with net/http and encoding/json.
//
// # Envelope
//
//	GenerateDataKey(name, ad):
//	    dataKey = 32 bytes from crypto/rand
//	    POST /v1/<mount>/encrypt/<name> {"plaintext": b64(dataKey), "associated_data": b64(ad)}
//	    -> DataKey{KeyID: name, Plaintext: dataKey, Ciphertext: "vault:v<version>:<base64>"}
//	Decrypt(name, ciphertext, ad):
//	    POST /v1/<mount>/decrypt/<name> {"ciphertext": ciphertext, "associated_data": b64(ad)}
//	    -> b64decode(plaintext), which must be 32 bytes
//
// The associated data ("bucket/object") is AEAD associated data of the Transit key (Vault
// 1.13 and later, hashicorp/vault#17638; OpenBao), so a wrapped key copied to another object
// does not decrypt. Transit's datakey endpoint would generate the key inside Vault, but Vault's
// takes no associated data (builtin/logical/transit/path_datakey.go has no such field, and
// unknown fields are ignored: the key would silently not be bound; OpenBao added it only in
// openbao/openbao#1828), so the client generates the key and uses encrypt, which takes it
// everywhere.
//
// The ciphertext carries the key version. After a rotation (POST /v1/<mount>/keys/<name>/rotate)
// new data keys are wrapped by the new version and old wrapped keys still decrypt, until
// min_decryption_version moves past their version. Client.Rewrap (keys.Rewrapper) moves a
// wrapped key to the latest version, or to another key, without touching the object; it
// decrypts and encrypts again, because Transit's rewrap endpoint takes no associated data
// (builtin/logical/transit/path_rewrap.go; hashicorp/vault#31791) and cannot open these
// ciphertexts.
// Client.WrappedVersion and Client.CurrentVersion (keys.Versioner) tell which wrapped keys need
// it; Client.KeyVersions also reports min_decryption_version.
//
// # Checks before Vault sees a request
//
// Key names must match Vault's name pattern (word characters, '-', '.', '@'), so no name can
// reach another Vault path; other names are keys.ErrNotFound. A ciphertext must have the
// canonical form Vault writes: Vault reads "vault:v0:" as version 1 and skips line breaks in the
// base64, so without this check a changed ciphertext could still decrypt.
//
// The first GenerateDataKey for a key name reads the key (GET /v1/<mount>/keys/<name>) and
// remembers the name once the key is found to exist, not soft-deleted (OpenBao: else
// keys.ErrDisabled), of an AEAD type and not derived. The read is needed because encrypt
// creates a missing key when the token may "create" on its path: without it a typo in a key
// name would silently start a new key. With the policy below (update only), Vault refuses
// encrypt on a missing key instead.
//
// # Errors
//
//   - keys.ErrNotFound: a 404; a 400 "encryption key not found"; an invalid key name.
//   - keys.ErrDecrypt, and nothing else, for any 400 from decrypt: wrong associated data,
//     wrong key, tampered ciphertext, "ciphertext or signature version is disallowed by policy
//     (too old)". Also for a malformed ciphertext, without a call.
//   - keys.ErrUnavailable: network failures, Timeout, 5xx, 429, 412, 472, 473, redirects
//     (never followed: they would carry the token to another host), malformed answers.
//   - ErrPermissionDenied for a 403. A 403 on one key's path also matches keys.ErrNotFound:
//     Vault does not tell a key that does not exist from one the policy does not cover. A 403
//     that says "invalid token" (an expired or revoked token) is ErrPermissionDenied only.
//   - An error wrapping ctx.Err() when the caller's context ends.
//
// Vault's error messages appear in errors, quoted and cut short, except for decrypt. Tokens,
// secret IDs and key material never appear in errors, and the package logs nothing.
//
// # Authentication
//
// Options.Token is used as is. Options.AppRole logs in (POST /v1/auth/<mount>/login) in New,
// again when 90% of the token's TTL has passed, and again, with one retry of the refused call,
// when Vault answers 403 "invalid token" (or any 403 to a token more than a minute old, for
// servers that do not say "invalid token"). Concurrent callers share one login.
//
// # Least-privilege policy
//
// The token needs these capabilities on each key the proxy may use; for a key named
// "sseproxy" on the mount "transit":
//
//	path "transit/encrypt/sseproxy" {
//	  capabilities = ["update"]
//	}
//	path "transit/decrypt/sseproxy" {
//	  capabilities = ["update"]
//	}
//	path "transit/keys/sseproxy" {
//	  capabilities = ["read"]
//	}
//
// "update" without "create" on encrypt keeps the token from creating keys. Rewrap needs the
// same capabilities; rotating keys and setting min_decryption_version are for an operator's
// token, not the proxy's. Reading a key returns its type, versions and their creation times,
// never its material. Vault's standby nodes forward requests to the active node; give the
// address of a load balancer or the active node.
//
// # How this package is verified
//
// The provider is verified against an httptest implementation of the Transit and AppRole HTTP
// APIs (package vaulttest), written from Vault's API documentation and source, with real
// AES-256-GCM under per-version keys, not against a real Vault or OpenBao server. The tests run
// the conformance suite keys/kmstest with a token holding exactly the policy above, parsed from
// this comment.
package vault

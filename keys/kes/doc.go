// Package kes is a keys.KMS provider backed by MinIO KES (tested against v0.23.0): the KES
// server holds the customer master keys; the proxy asks it for data keys and to unwrap them.
// It speaks KES's REST API over mutual TLS with net/http and imports no KES library (the KES
// server and its Go clients, kes-go and kms-go, are AGPL; KES runs as a separate process).
//
// # API calls
//
//	POST /v1/key/generate/NAME  {"context": b64(ad)}                   -> {"plaintext": b64, "ciphertext": b64}
//	POST /v1/key/decrypt/NAME   {"ciphertext": b64, "context": b64(ad)} -> {"plaintext": b64}
//	POST /v1/key/create/NAME    (no body)                              -> 200
//
// ad is the associated data ("bucket/object"), which KES binds to the ciphertext as AEAD
// associated data. KES v0.23.0 declares these routes PUT and accepts POST from older clients;
// POST works on old and new servers. Errors come back as {"message": "..."}.
//
// # Identity and least-privilege policy
//
// KES authenticates a client by its TLS certificate: the client's identity is the hex SHA-256
// of the certificate's SubjectPublicKeyInfo (Client.Identity, or `kes identity of client.crt`).
// Chains are not verified unless the server sets tls.auth: on, so whoever holds the private key
// is the identity; a renewed certificate for the same key keeps it. A leaf marked as a CA is
// ignored by KES, and New refuses one.
//
// The proxy needs to generate and unwrap data keys under its own keys, and to encrypt a data
// key it already holds (Rebind: a copy to another object name keeps the data key and re-binds
// it; Rewrap: `sseproxy rewrap --to-key`), nothing else. In the KES server configuration (v1
// format):
//
//	admin:
//	  identity: <identity of the operator's certificate; never the proxy's>
//	policy:
//	  sseproxy:
//	    allow:
//	    - /v1/key/generate/sseproxy-*
//	    - /v1/key/decrypt/sseproxy-*
//	    - /v1/key/encrypt/sseproxy-*
//	    identities:
//	    - <output of: kes identity of sseproxy-client.crt>
//
// Rules are path prefixes when they end in '*', exact paths otherwise; name the proxy's keys so
// that one prefix covers them. Keys are created by the admin (`kes key create sseproxy-default`,
// or Client.CreateKey with the admin's certificate), not by the proxy: a compromised proxy then
// cannot create, delete, list or import keys. KES checks the policy before it looks a key up,
// so a key outside the policy fails with ErrNotAllowed even if it does not exist.
//
// KES key names are stricter than the keyring's: 1-80 characters from [A-Za-z0-9_-], not
// starting or ending with '-'. A name outside that set is never sent; it reads as
// keys.ErrNotFound.
//
// # Errors
//
//	KES answer                                        error
//	404 "key does not exist"                          keys.ErrNotFound
//	400 on decrypt ("decryption failed: ...")         keys.ErrDecrypt, unwrapped, no detail
//	400 "key already exists" on create                keys.ErrExists
//	401, 403 "not authorized"                         ErrNotAllowed, naming the identity and path
//	429, 5xx; no answer, TLS failure, timeout         keys.ErrUnavailable
//	a malformed 200, other statuses                   a plain error
//
// An error wraps ctx.Err() when the caller's ctx ends first. Errors never hold key material,
// associated data or ciphertexts; the package logs nothing.
//
// # Endpoints, failover and timeouts
//
// A call tries Options.Endpoints in order, starting with the last one that answered, and moves
// on when one cannot be reached, fails TLS, times out, breaks off its answer or answers 502,
// 503 or 504; any other answer is final. Options.Timeout (5s by default) bounds the whole call;
// every endpoint but the last gets an equal share of the time left, so one that hangs does not
// starve the next. Generate and decrypt are safe to repeat on another endpoint; create is not
// (a lost answer turns into keys.ErrExists). The client speaks HTTP/1.1 with keep-alive and
// ignores $HTTPS_PROXY.
//
// # Wrapped key format 1
//
// DataKey.Ciphertext is not KES's ciphertext itself but seals it:
//
//	offset  size  field
//	     0     1  format, 0x01
//	     1     n  KES ciphertext, as /v1/key/generate returned it, 1 <= n <= 4096
//	   1+n    32  tag
//
// with
//
//	macKey = HKDF-SHA256(secret = data key, salt = none,
//	                     info = "sseproxy/keys/kes: wrapped key v1", length = 32)
//	tag    = HMAC-SHA256(macKey, be64(len(keyName)) || keyName || ciphertext[0:1+n])
//
// keyName is the resolved KES key name. The reason: a KES v0.23.0 ciphertext is the msgpack
// array [algorithm, key ID, IV, nonce, sealed key], and KES authenticates the IV, nonce and
// sealed key but never checks the key ID, so a ciphertext with a modified key ID still decrypts
// (TestKESCiphertextIsMalleable). The tag makes every stored byte count, so that tampering of
// any kind is keys.ErrDecrypt, and binds the wrapped key to the key name, as the local keyring
// does (KES binds only the key material). It cannot be forged without the data key, which only
// KES can unwrap.
//
// Decrypt checks, in order: ctx; the key name (else keys.ErrNotFound); the format byte and the
// length (else keys.ErrDecrypt, without asking KES); KES's decrypt with the associated data;
// that KES returned 32 bytes; the tag, in constant time. Every failure after the name is the
// same keys.ErrDecrypt.
//
// Worked example (TestSealExample): data key 00 01 02 ... 1f, key name "sseproxy-a", KES
// ciphertext "kes" (6b 65 73) seal to
//
//	01 6b6573 d80b8845a43b48361d95882df86971e93b04b2bb4290f4af3511e32e14902223
//
// These wrapped keys are not interchangeable with MinIO's own SSE-KMS metadata, which stores
// raw KES ciphertexts.
package kes

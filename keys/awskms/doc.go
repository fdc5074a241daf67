// Package awskms is the keys.KMS provider for AWS KMS: the proxy's data keys are generated and
// unwrapped by a symmetric customer master key (CMK) that never leaves AWS KMS, through the
// GenerateDataKey, Decrypt and ReEncrypt operations of the AWS SDK for Go v2. Any server that
// speaks the AWS KMS API works too, e.g. local-kms for tests (Options.Endpoint).
//
// # Mapping the keys contract onto AWS KMS
//
//	GenerateDataKey(keyID, ad)  = kms:GenerateDataKey{KeyId: keyID, KeySpec: AES_256,
//	                                  EncryptionContext: {"sseproxy-ad": base64(ad)}}
//	                              -> DataKey{KeyID: keyID, Plaintext, Ciphertext: CiphertextBlob}
//	Decrypt(keyID, ct, ad)      = kms:Decrypt{KeyId: keyID, CiphertextBlob: ct,
//	                                  EncryptionContext: {"sseproxy-ad": base64(ad)}}
//	ReEncrypt(from, ct, ad, to) = kms:ReEncrypt{SourceKeyId: from, DestinationKeyId: to,
//	                                  CiphertextBlob: ct, the same context on both sides}
//
// The associated data ("bucket/object") travels as the encryption context, which AWS KMS
// authenticates with the wrapped key: a wrapped key moved to another object's metadata does
// not decrypt. An encryption context is a map of strings, handled as UTF-8 text by KMS, IAM
// conditions and CloudTrail, while associated data is arbitrary bytes; so the one value is the
// standard base64 encoding of the bytes, which is defined for every byte string and
// one-to-one. CloudTrail records it, so an audit can decode which object each call was for.
// (The cost: an IAM condition cannot match a bucket by prefix on the encoded value.) The proxy's
// associated data is at most 1,088 bytes (a 63-byte bucket name, "/", a 1,024-byte object key),
// 1,452 characters encoded.
//
// Decrypt and ReEncrypt always name the CMK (KeyId, SourceKeyId). AWS KMS could find the CMK
// from the ciphertext alone, but naming it means a ciphertext is only ever unwrapped by the key
// the object's metadata says, never redirected to another CMK the proxy may use.
//
// The CiphertextBlob is stored as it is: it names the CMK and the key-material version that
// wrapped it, so automatic key rotation (kms:EnableKeyRotation) needs no re-encryption and old
// objects stay readable.
//
// # Key names
//
// DataKey.KeyID is the key id exactly as the caller named it (or Options.DefaultKeyID for ""),
// not the key ARN that KMS reports. The proxy stores it beside the object and passes it back to
// Decrypt as it is, so the stored name is the operator's own: a key id, alias or ARN from the
// configuration. (KMS reports the key ARN, which names one region: stored, it would tie every
// object to that region, where a multi-Region key's id, "mrk-...", resolves to the replica in
// whichever region the proxy runs.)
//
// The consequence for aliases: an alias is resolved on every call. Repointing an alias to
// another CMK (manual rotation) makes the objects wrapped under the old target fail to decrypt
// by that alias (IncorrectKeyException, reported as keys.ErrDecrypt). Prefer automatic
// rotation, which keeps the CMK and its aliases; or ReEncrypt the stored wrapped keys to the new
// CMK before repointing the alias; or configure keys by key id or ARN.
//
// # Errors
//
//	NotFoundException                                -> keys.ErrNotFound
//	DisabledException, KMSInvalidStateException      -> keys.ErrDisabled (disabled, pending
//	                                                    deletion or import, unavailable key store)
//	InvalidCiphertextException, IncorrectKeyException,
//	InvalidKeyUsageException                         -> keys.ErrDecrypt, bare (Decrypt, ReEncrypt)
//	network errors, the per-call timeout, throttling,
//	5xx, KMSInternalException, DependencyTimeoutException,
//	KeyUnavailableException                          -> keys.ErrUnavailable, with the cause's text
//	anything else                                    -> the SDK error, wrapped
//
// "Anything else" is a configuration fault rather than an outage: AccessDeniedException, bad
// credentials, a ValidationException, or InvalidKeyUsageException from GenerateDataKey (the
// key is asymmetric or HMAC). A cancelled or expired caller ctx gives an error wrapping
// ctx.Err(). Options.Timeout bounds each call including the SDK's retries (three attempts by
// default); its expiry is keys.ErrUnavailable. Errors name keys and KMS error codes; those
// mapped to keys.ErrUnavailable and the unmapped ones also carry the SDK's error text (endpoint,
// HTTP status, the service's message). None carries key material or ciphertext.
//
// # Least-privilege IAM policy
//
// The proxy needs two actions on its CMKs; a rewrap tool needs ReEncryptFrom on the old key and
// ReEncryptTo on the new one. Each statement only allows requests whose encryption context has
// exactly the one key "sseproxy-ad" (ForAllValues: no other keys; Null false: the key is
// present, since ForAllValues alone also matches a request with no context). IAM resources
// must be key ARNs: a policy on an alias ARN does not authorize use of the key behind it.
//
//	{
//	  "Version": "2012-10-17",
//	  "Statement": [
//	    {
//	      "Sid": "SseproxyDataKeys",
//	      "Effect": "Allow",
//	      "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
//	      "Resource": ["arn:aws:kms:REGION:ACCOUNT:key/KEY-ID"],
//	      "Condition": {
//	        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["sseproxy-ad"]},
//	        "Null": {"kms:EncryptionContextKeys": "false"}
//	      }
//	    },
//	    {
//	      "Sid": "SseproxyRewrap",
//	      "Effect": "Allow",
//	      "Action": ["kms:ReEncryptFrom", "kms:ReEncryptTo"],
//	      "Resource": ["arn:aws:kms:REGION:ACCOUNT:key/OLD-KEY-ID", "arn:aws:kms:REGION:ACCOUNT:key/NEW-KEY-ID"],
//	      "Condition": {
//	        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["sseproxy-ad"]},
//	        "Null": {"kms:EncryptionContextKeys": "false"}
//	      }
//	    }
//	  ]
//	}
//
// Give the second statement to the identity that runs the rewrap. The proxy itself uses
// ReEncrypt only to re-bind a data key when an object is copied to another name under the same
// key (Rebind: the bytes are then copied server-side); with kms:ReEncryptFrom and
// kms:ReEncryptTo on its own keys it does that, without them such copies stream through the
// proxy under a fresh data key. The proxy needs neither kms:DescribeKey nor kms:Encrypt.
package awskms

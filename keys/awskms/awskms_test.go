package awskms_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/awskms"
)

// ad is the associated data most tests use, shaped like the proxy's "bucket/object".
var ad = []byte("bucket/some/object.txt")

// errOther stands, in a table's want column, for an error that is none of the keys errors.
var errOther = errors.New("an error that is none of the keys errors")

// errResult marks, in TestErrors, a call that returned a result where it should have failed.
var errResult = errors.New("the call returned a result")

// sentinels are the keys errors a provider reports.
var sentinels = []error{keys.ErrNotFound, keys.ErrDisabled, keys.ErrDecrypt, keys.ErrUnavailable}

// checkErr reports whether err is what a table row wants: nil, a keys error (bare if
// ErrDecrypt, whose contract forbids detail), or errOther.
func checkErr(err, want error) bool {
	switch {
	case errors.Is(err, errResult):
		return false
	case want == nil:
		return err == nil
	case err == nil:
		return false
	case want == keys.ErrDecrypt:
		return err == keys.ErrDecrypt
	case want == errOther:
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return false
			}
		}
		return true
	default:
		return errors.Is(err, want) && strings.HasPrefix(err.Error(), "awskms: ")
	}
}

// secret describes a returned key in a failure message without printing it.
func secret(key []byte) string {
	if key == nil {
		return "nil"
	}
	return fmt.Sprintf("<%d-byte key>", len(key))
}

func generate(t *testing.T, c *awskms.Client, keyID string, ad []byte) keys.DataKey {
	t.Helper()
	dk, err := c.GenerateDataKey(t.Context(), keyID, ad)
	if err != nil {
		t.Fatalf("GenerateDataKey(%q, %q) = %v", keyID, ad, err)
	}
	return dk
}

// createKey creates a symmetric key with alias name, and returns its ARN (DisableKey and
// ScheduleKeyDeletion do not take aliases).
func createKey(t *testing.T, admin *kms.Client, name string) string {
	t.Helper()
	out, err := admin.CreateKey(t.Context(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("CreateKey = %v", err)
	}
	if _, err := admin.CreateAlias(t.Context(), &kms.CreateAliasInput{AliasName: aws.String(name), TargetKeyId: out.KeyMetadata.KeyId}); err != nil {
		t.Fatalf("CreateAlias(%q) = %v", name, err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// TestErrors checks the provider's errors against local-kms, for keys that are missing,
// disabled, pending deletion or unfit, and ciphertexts that do not unwrap.
// randomBody returns ct with everything after its first 100 bytes (the
// key reference local-kms parses) replaced by random bytes.
func randomBody(ct []byte) []byte {
	out := append([]byte(nil), ct...)
	if len(out) > 100 {
		copy(out[100:], randomBytes(len(out)-100))
	}
	return out
}

func TestErrors(t *testing.T) {
	srv := startLocalKMS(t)
	c := srv.Client(t, nil)
	admin := srv.Admin()
	ctx := t.Context()

	const disabled, pending, signOnly = "alias/sseproxy-disabled", "alias/sseproxy-pending", "alias/sseproxy-sign"
	disabledARN := createKey(t, admin, disabled)
	pendingARN := createKey(t, admin, pending)
	disabledDK := generate(t, c, disabled, ad)
	pendingDK := generate(t, c, pending, ad)
	if _, err := admin.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(disabledARN)}); err != nil {
		t.Fatalf("DisableKey = %v", err)
	}
	if _, err := admin.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(pendingARN), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatalf("ScheduleKeyDeletion = %v", err)
	}
	sign, err := admin.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatalf("CreateKey(sign) = %v", err)
	}
	if _, err := admin.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(signOnly), TargetKeyId: sign.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}

	dk := generate(t, c, keyA, ad)
	missing := "alias/sseproxy-missing"
	missingID := "00000000-0000-4000-8000-000000000000"
	tooLong := "alias/" + strings.Repeat("x", 2048)
	generateWith := func(keyID string) func() error {
		return func() error {
			got, err := c.GenerateDataKey(ctx, keyID, ad)
			if err == nil || got.Plaintext != nil || got.Ciphertext != nil {
				return errors.Join(err, fmt.Errorf("%w: %s and a %d-byte ciphertext", errResult, secret(got.Plaintext), len(got.Ciphertext)))
			}
			return err
		}
	}
	decryptWith := func(keyID string, ct, ad []byte) func() error {
		return func() error {
			got, err := c.Decrypt(ctx, keyID, ct, ad)
			if err == nil || got != nil {
				return errors.Join(err, fmt.Errorf("%w: %s", errResult, secret(got)))
			}
			return err
		}
	}
	reEncryptWith := func(from string, ct, ad []byte, to string) func() error {
		return func() error {
			got, err := c.ReEncrypt(ctx, from, ct, ad, to)
			if err == nil || got != nil {
				return errors.Join(err, fmt.Errorf("%w: a %d-byte ciphertext", errResult, len(got)))
			}
			return err
		}
	}
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"generate/unknown-alias", generateWith(missing), keys.ErrNotFound},
		{"generate/unknown-key-id", generateWith(missingID), keys.ErrNotFound},
		{"generate/no-default-key", generateWith(""), keys.ErrNotFound},
		{"generate/key-id-too-long", generateWith(tooLong), keys.ErrNotFound},
		{"generate/disabled", generateWith(disabled), keys.ErrDisabled},
		{"generate/pending-deletion", generateWith(pending), keys.ErrDisabled},
		{"generate/sign-only-key", generateWith(signOnly), errOther},

		{"decrypt/unknown-alias", decryptWith(missing, dk.Ciphertext, ad), keys.ErrNotFound},
		{"decrypt/no-default-key", decryptWith("", dk.Ciphertext, ad), keys.ErrNotFound},
		{"decrypt/disabled", decryptWith(disabled, disabledDK.Ciphertext, ad), keys.ErrDisabled},
		{"decrypt/pending-deletion", decryptWith(pending, pendingDK.Ciphertext, ad), keys.ErrDisabled},
		{"decrypt/wrong-ad", decryptWith(keyA, dk.Ciphertext, []byte("bucket/other.txt")), keys.ErrDecrypt},
		{"decrypt/other-key", decryptWith(keyB, dk.Ciphertext, ad), keys.ErrDecrypt},
		{"decrypt/empty", decryptWith(keyA, nil, ad), keys.ErrDecrypt},
		{"decrypt/oversized", decryptWith(keyA, make([]byte, 6145), ad), keys.ErrDecrypt},
		// The genuine header with a random body. (Fully random bytes are not
		// a usable row: local-kms drops the connection on some of them,
		// a panic in its parser, which reads as ErrUnavailable; AWS answers
		// InvalidCiphertextException.)
		{"decrypt/random", decryptWith(keyA, randomBody(dk.Ciphertext), ad), keys.ErrDecrypt},

		{"re-encrypt/unknown-destination", reEncryptWith(keyA, dk.Ciphertext, ad, missing), keys.ErrNotFound},
		{"re-encrypt/disabled-destination", reEncryptWith(keyA, dk.Ciphertext, ad, disabled), keys.ErrDisabled},
		{"re-encrypt/disabled-source", reEncryptWith(disabled, disabledDK.Ciphertext, ad, keyA), keys.ErrDisabled},
		{"re-encrypt/wrong-ad", reEncryptWith(keyA, dk.Ciphertext, []byte("bucket/other.txt"), keyB), keys.ErrDecrypt},
		{"re-encrypt/wrong-source", reEncryptWith(keyB, dk.Ciphertext, ad, keyB), keys.ErrDecrypt},
		{"re-encrypt/empty", reEncryptWith(keyA, nil, ad, keyB), keys.ErrDecrypt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !checkErr(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
	// The failures above must not have disturbed the genuine key.
	if got, err := c.Decrypt(ctx, keyA, dk.Ciphertext, ad); err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Errorf("Decrypt(genuine) after failures = %s, %v, want the generated key", secret(got), err)
	}
}

// TestReEncrypt moves a wrapped key from keyA to keyB and back.
func TestReEncrypt(t *testing.T) {
	srv := startLocalKMS(t)
	c := srv.Client(t, func(o *awskms.Options) { o.DefaultKeyID = keyA })
	ctx := t.Context()
	dk := generate(t, c, keyA, ad)

	toB, err := c.ReEncrypt(ctx, keyA, dk.Ciphertext, ad, keyB)
	if err != nil || len(toB) == 0 || bytes.Equal(toB, dk.Ciphertext) {
		t.Fatalf("ReEncrypt(%s -> %s) = %d bytes, %v, want a new ciphertext", keyA, keyB, len(toB), err)
	}
	backToA, err := c.ReEncrypt(ctx, keyB, toB, ad, "") // "" is the default key, keyA
	if err != nil {
		t.Fatalf("ReEncrypt(%s -> default) = %v", keyB, err)
	}
	for _, tc := range []struct {
		name  string
		keyID string
		ct    []byte
		ad    []byte
		want  error
	}{
		{"b-under-b", keyB, toB, ad, nil},
		{"b-under-b-arn", keyARN(keyB), toB, ad, nil},
		{"b-under-a", keyA, toB, ad, keys.ErrDecrypt},
		{"b-under-default", "", toB, ad, keys.ErrDecrypt},
		{"b-other-ad", keyB, toB, []byte("bucket/other.txt"), keys.ErrDecrypt},
		{"back-under-a", keyA, backToA, ad, nil},
		{"back-under-b", keyB, backToA, ad, keys.ErrDecrypt},
		{"original-still-under-a", keyA, dk.Ciphertext, ad, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Decrypt(ctx, tc.keyID, tc.ct, tc.ad)
			if !checkErr(err, tc.want) || (tc.want == nil) != bytes.Equal(got, dk.Plaintext) {
				t.Errorf("Decrypt(%q, re-encrypted) = %s, %v, want %v", tc.keyID, secret(got), err, tc.want)
			}
		})
	}
}

// TestKeyNames checks which key id GenerateDataKey reports, and that every name of a key
// decrypts what it wrapped.
func TestKeyNames(t *testing.T) {
	srv := startLocalKMS(t)
	c := srv.Client(t, func(o *awskms.Options) { o.DefaultKeyID = keyA })
	ctx := t.Context()
	for _, tc := range []struct {
		name, keyID, wantKeyID string
	}{
		{"default", "", keyA},
		{"alias", keyB, keyB},
		{"alias-arn", "arn:aws:kms:" + region + ":" + account + ":" + keyB, "arn:aws:kms:" + region + ":" + account + ":" + keyB},
		{"key-arn", keyARN(keyA), keyARN(keyA)},
		{"key-id", seedKeyIDs[keyA], seedKeyIDs[keyA]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dk := generate(t, c, tc.keyID, ad)
			if dk.KeyID != tc.wantKeyID {
				t.Errorf("GenerateDataKey(%q).KeyID = %q, want %q", tc.keyID, dk.KeyID, tc.wantKeyID)
			}
			wrapper := keyA
			if strings.Contains(tc.wantKeyID, keyB) {
				wrapper = keyB
			}
			for _, name := range []string{tc.keyID, dk.KeyID, wrapper, keyARN(wrapper), seedKeyIDs[wrapper]} {
				if got, err := c.Decrypt(ctx, name, dk.Ciphertext, ad); err != nil || !bytes.Equal(got, dk.Plaintext) {
					t.Errorf("Decrypt(%q, GenerateDataKey(%q)) = %s, %v, want the generated key", name, tc.keyID, secret(got), err)
				}
			}
		})
	}
}

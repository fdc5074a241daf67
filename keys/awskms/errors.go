package awskms

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/sseproxy/sseproxy/keys"
)

// fail turns the SDK error err of operation op on the key(s) named by what (quoted) into the
// error the Client returns:
//
//   - ctx (the caller's) is done: an error wrapping ctx.Err();
//   - an answer that fits a keys error: that error, wrapped with the KMS error code only (never
//     the service's message), except that keys.ErrDecrypt is returned bare, as the keys
//     contract requires;
//   - no usable answer (network failure, timeout, throttling, a 5xx or malformed response):
//     keys.ErrUnavailable, wrapped, with the SDK's error text kept for logs;
//   - anything else (access denied, bad credentials, validation errors: configuration faults,
//     not outages): the SDK error, wrapped.
//
// The SDK error is kept as text, not wrapped, under keys.ErrUnavailable: when the per-call
// timeout fires it holds context.DeadlineExceeded, which the caller must not mistake for the
// expiry of its own ctx.
func fail(ctx context.Context, op, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("awskms: %s %s: %w", op, what, ctxErr)
	}
	sentinel, code := classify(err)
	switch {
	case sentinel == keys.ErrDecrypt && op == "generate data key":
		// InvalidKeyUsageException: the key exists but cannot wrap data keys (an asymmetric
		// or HMAC key). A configuration fault; "decryption failed" would mislead.
		return fmt.Errorf("awskms: %s %s: key cannot wrap data keys (%s)", op, what, code)
	case sentinel == keys.ErrDecrypt:
		return keys.ErrDecrypt
	case sentinel == keys.ErrUnavailable:
		return fmt.Errorf("awskms: %s %s: %w: %v", op, what, keys.ErrUnavailable, err)
	case sentinel != nil:
		return fmt.Errorf("awskms: %s %s: %w (%s)", op, what, sentinel, code)
	default:
		return fmt.Errorf("awskms: %s %s: %w", op, what, err)
	}
}

// classify maps an SDK error to the keys error it means, or nil if none fits, and returns the
// KMS error code if the service answered with one.
func classify(err error) (sentinel error, code string) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	switch {
	case isA[*types.NotFoundException](err):
		return keys.ErrNotFound, code
	case isA[*types.DisabledException](err), isA[*types.KMSInvalidStateException](err):
		// KMSInvalidStateException: pending deletion, pending import, or in an unavailable
		// custom key store. The key exists and cannot be used: the proxy's "disabled".
		return keys.ErrDisabled, code
	case isA[*types.InvalidCiphertextException](err), isA[*types.IncorrectKeyException](err),
		isA[*types.InvalidKeyUsageException](err):
		return keys.ErrDecrypt, code
	case isA[*types.KMSInternalException](err), isA[*types.DependencyTimeoutException](err),
		isA[*types.KeyUnavailableException](err):
		return keys.ErrUnavailable, code
	}
	if apiErr != nil {
		if _, throttled := retry.DefaultThrottleErrorCodes[code]; throttled || apiErr.ErrorFault() == smithy.FaultServer {
			return keys.ErrUnavailable, code
		}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return keys.ErrUnavailable, code
	}
	if apiErr != nil || isA[*v4.SigningError](err) || isA[smithy.InvalidParamsError](err) ||
		isA[*smithy.InvalidParamsError](err) {
		// A definite answer we have no keys error for, no credentials to sign with, or a
		// request the SDK refused to send.
		return nil, code
	}
	// No answer, or none the SDK could read: connection refused or reset, DNS failure, the
	// per-call timeout, a malformed response body.
	return keys.ErrUnavailable, code
}

// isA reports whether err's chain holds an error of type T.
func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// quote quotes a key id for an error message, cut short so that a hostile id (read from
// object metadata) cannot flood logs.
func quote(keyID string) string {
	const max = 256
	if len(keyID) > max {
		return fmt.Sprintf("%q...", keyID[:max])
	}
	return fmt.Sprintf("%q", keyID)
}

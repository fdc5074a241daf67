package proxy

import (
	"context"
	"errors"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/proxy/auth"
	"github.com/sseproxy/sseproxy/proxy/ossauth"
	"github.com/sseproxy/sseproxy/proxy/s3"
	"github.com/sseproxy/sseproxy/sse"
)

// errorTable maps the sentinel errors of the packages the proxy uses to the
// S3 error a client sees. toS3Error is the only place errors become codes.
var errorTable = []struct {
	err error
	s3  *s3.Error
}{
	{auth.ErrAnonymous, s3.ErrAccessDenied},
	{auth.ErrInvalidAccessKeyID, s3.ErrInvalidAccessKeyID},
	{auth.ErrSignatureDoesNotMatch, s3.ErrSignatureDoesNotMatch},
	{auth.ErrRequestTimeTooSkewed, s3.ErrRequestTimeTooSkewed},
	{auth.ErrExpired, s3.ErrRequestExpired},
	{auth.ErrAuthorizationHeaderMalformed, s3.ErrAuthorizationHeaderMalformed},
	{auth.ErrAuthorizationQueryParametersError, s3.ErrAuthorizationQueryParametersErr},
	{auth.ErrContentSHA256Mismatch, s3.ErrContentSHA256Mismatch},
	{auth.ErrBadDigest, s3.ErrBadDigest},
	{auth.ErrInvalidDigest, s3.ErrInvalidDigest},
	{auth.ErrInvalidChecksum, s3.ErrInvalidRequest.WithMessage("The checksum you specified is not valid.")},
	{auth.ErrIncompleteBody, s3.ErrIncompleteBody},
	{auth.ErrMalformedChunk, s3.ErrIncompleteBody.WithMessage("The aws-chunked body is malformed.")},
	{auth.ErrUnsupportedSignature, s3.ErrUnsupportedSignature},
	{auth.ErrInvalidChunkSize, s3.ErrInvalidChunkSize},
	{auth.ErrMalformedTrailer, s3.ErrMalformedTrailer},
	{auth.ErrInvalidDate, s3.ErrAccessDenied.WithMessage("AWS authentication requires a valid Date or x-amz-date header.")},
	{auth.ErrMissingContentSHA256, s3.ErrInvalidRequest.WithMessage("Missing required header for this request: x-amz-content-sha256.")},
	{auth.ErrInvalidContentSHA256, s3.ErrInvalidArgument.WithMessage("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a SHA-256 hex digest.")},
	{auth.ErrUnsignedHeaders, s3.ErrAccessDenied.WithMessage("There were headers present in the request which were not signed.")},
	{auth.ErrMultipleAuth, s3.ErrInvalidArgument.WithMessage("Only one auth mechanism allowed.")},

	{ossauth.ErrAnonymous, s3.ErrAccessDenied},
	{ossauth.ErrInvalidAccessKeyID, s3.ErrInvalidAccessKeyID},
	{ossauth.ErrSignatureDoesNotMatch, s3.ErrSignatureDoesNotMatch},
	{ossauth.ErrRequestTimeTooSkewed, s3.ErrRequestTimeTooSkewed},
	{ossauth.ErrExpired, s3.ErrRequestExpired},
	{ossauth.ErrMissingDate, s3.ErrAccessDenied.WithMessage("OSS authentication requires a valid Date.")},
	{ossauth.ErrInvalidArgument, s3.ErrInvalidArgument.WithMessage("The authorization is malformed.")},
	{ossauth.ErrUnsupportedSignature, s3.ErrInvalidArgument.WithMessage("The authorization mechanism is not supported.")},
	{ossauth.ErrMultipleAuth, s3.ErrInvalidArgument.WithMessage("Only one authentication mechanism is allowed.")},
	{ossauth.ErrInvalidDigest, s3.ErrInvalidDigest},
	{ossauth.ErrBadDigest, s3.ErrInvalidDigest.WithMessage("The Content-MD5 you specified did not match what we received.")},
	{ossauth.ErrIncompleteBody, s3.ErrIncompleteBody},

	{keys.ErrNotFound, s3.ErrKMSNotFound},
	{keys.ErrDisabled, s3.ErrKMSDisabled},
	{keys.ErrUnavailable, s3.ErrKMSUnavailable},
	{keys.ErrDecrypt, s3.ErrDecryptionFailed},

	{sse.ErrAuthentication, s3.ErrDecryptionFailed},
	{sse.ErrInvalidSize, s3.ErrDecryptionFailed},
	{sse.ErrInvalidRecord, s3.ErrDecryptionFailed},

	{backend.ErrTimeout, s3.ErrGatewayTimeout},
	{backend.ErrUnreachable, s3.ErrBadGateway},
	{context.DeadlineExceeded, s3.ErrGatewayTimeout},
}

// toS3Error maps any error to the S3 error the client gets. Unknown errors
// become InternalError (the caller logs them with the request id).
func toS3Error(err error) *s3.Error {
	var e *s3.Error
	if errors.As(err, &e) {
		return e
	}
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			return row.s3
		}
	}
	var be *backend.Error
	if errors.As(err, &be) && be.Status != 0 {
		// The store's own answer (NoSuchKey, NoSuchBucket, BucketNotEmpty,
		// BucketAlreadyOwnedByYou, ...) passes through with its status.
		return &s3.Error{Code: be.Code, Message: be.Message, Status: be.Status}
	}
	return s3.ErrInternal
}

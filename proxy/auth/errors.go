package auth

import "errors"

// The sentinel errors returned by [Verifier.Verify] and by reads from
// [Result.Body]. Callers match them with [errors.Is]: most are returned
// wrapped with a detail for the log (never a secret). Each maps to exactly one
// S3 error code, shown as "Code (HTTP status): message" in its comment; the
// message is the one S3 sends, which the proxy may reuse verbatim.
//
// Several sentinels share an S3 code on purpose: they name different causes
// for the log while the client sees what S3 would have sent.
var (
	// ErrAnonymous means the request carries no credentials at all: no
	// Authorization header and no presigned query. The proxy decides what
	// anonymous requests may do; by default it answers
	// AccessDenied (403): "Access Denied".
	ErrAnonymous = errors.New("auth: anonymous request")

	// ErrInvalidAccessKeyID maps to InvalidAccessKeyId (403): "The AWS
	// Access Key Id you provided does not exist in our records."
	ErrInvalidAccessKeyID = errors.New("auth: access key does not exist")

	// ErrSignatureDoesNotMatch maps to SignatureDoesNotMatch (403): "The
	// request signature we calculated does not match the signature you
	// provided. Check your key and signing method." It covers the request
	// signature, every aws-chunked chunk signature and the trailer signature.
	ErrSignatureDoesNotMatch = errors.New("auth: signature does not match")

	// ErrRequestTimeTooSkewed maps to RequestTimeTooSkewed (403): "The
	// difference between the request time and the current time is too
	// large." Returned when X-Amz-Date (or Date) is further than
	// Options.MaxSkew from now, and for a presigned X-Amz-Date further than
	// MaxSkew in the future.
	ErrRequestTimeTooSkewed = errors.New("auth: request time too skewed")

	// ErrExpired maps to AccessDenied (403): "Request has expired". Returned
	// when a presigned request is used after X-Amz-Date + X-Amz-Expires.
	ErrExpired = errors.New("auth: presigned request has expired")

	// ErrAuthorizationHeaderMalformed maps to AuthorizationHeaderMalformed
	// (400): "The authorization header is malformed; ..." (S3 appends the
	// reason). Returned for an unparsable Authorization header, a credential
	// scope that is not date/region/s3/aws4_request, or a scope date that is
	// not the date of X-Amz-Date.
	ErrAuthorizationHeaderMalformed = errors.New("auth: authorization header malformed")

	// ErrAuthorizationQueryParametersError maps to
	// AuthorizationQueryParametersError (400): "Query-string authentication
	// version 4 requires the X-Amz-Algorithm, X-Amz-Credential,
	// X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires
	// parameters." (or the specific reason, such as "X-Amz-Expires must be
	// less than a week (in seconds) that is 604800").
	ErrAuthorizationQueryParametersError = errors.New("auth: presigned query parameters error")

	// ErrContentSHA256Mismatch maps to XAmzContentSHA256Mismatch (400):
	// "The provided 'x-amz-content-sha256' header does not match what was
	// computed."
	ErrContentSHA256Mismatch = errors.New("auth: x-amz-content-sha256 does not match payload")

	// ErrBadDigest maps to BadDigest (400): "The Content-MD5 you specified
	// did not match what we received." for Content-MD5, and "The CRC32 you
	// specified did not match the calculated checksum." (with the algorithm
	// named) for an x-amz-checksum-* header or trailer.
	ErrBadDigest = errors.New("auth: payload digest does not match")

	// ErrInvalidDigest maps to InvalidDigest (400): "The Content-MD5 you
	// specified is not valid." Returned for a Content-MD5 that is not the
	// base64 of 16 bytes.
	ErrInvalidDigest = errors.New("auth: content-md5 is not valid")

	// ErrInvalidChecksum maps to InvalidRequest (400), with S3's messages
	// "Value for x-amz-checksum-crc32 header is invalid.", "Expecting a
	// single x-amz-checksum- header. Multiple checksum Types are not
	// allowed.", "The value specified in the x-amz-trailer header is not
	// supported" and "x-amz-sdk-checksum-algorithm specified, but no
	// corresponding x-amz-checksum-* or x-amz-trailer headers were found."
	ErrInvalidChecksum = errors.New("auth: invalid checksum")

	// ErrIncompleteBody maps to IncompleteBody (400): "You did not provide
	// the number of bytes specified by the Content-Length HTTP header."
	// Returned when the body ends before Content-Length or
	// x-amz-decoded-content-length bytes, or inside aws-chunked framing.
	ErrIncompleteBody = errors.New("auth: incomplete body")

	// ErrMalformedChunk maps to IncompleteBody (400), which is what S3
	// answers for aws-chunked framing it cannot parse (a bad chunk-size line,
	// a missing CRLF, more data than x-amz-decoded-content-length, bytes after
	// the final chunk). It is kept apart from ErrIncompleteBody for the log.
	ErrMalformedChunk = errors.New("auth: malformed aws-chunked encoding")

	// ErrInvalidChunkSize maps to InvalidChunkSizeError (400): "Only the last
	// chunk is allowed to have a size less than 8192 bytes".
	ErrInvalidChunkSize = errors.New("auth: aws-chunked chunk smaller than 8192 bytes")

	// ErrMalformedTrailer maps to MalformedTrailerError (400): "The request
	// contained trailing data that was not well-formed or did not conform to
	// our published schema." Returned for an undeclared, duplicated or
	// missing trailer, or a trailer signature where none belongs.
	ErrMalformedTrailer = errors.New("auth: malformed trailer")

	// ErrUnsupportedSignature maps to InvalidRequest (400): "The
	// authorization mechanism you have provided is not supported. Please use
	// AWS4-HMAC-SHA256." which is what S3 answers for Signature Version 2
	// (header or query) and for algorithms it does not offer; SigV4A
	// (AWS4-ECDSA-P256-SHA256) lands here too.
	ErrUnsupportedSignature = errors.New("auth: unsupported authorization mechanism")

	// ErrInvalidDate maps to AccessDenied (403): "AWS authentication
	// requires a valid Date or x-amz-date header". Returned when a header
	// signed request has neither header, or one that does not parse.
	ErrInvalidDate = errors.New("auth: missing or invalid date")

	// ErrMissingContentSHA256 maps to InvalidRequest (400): "Missing
	// required header for this request: x-amz-content-sha256". S3 requires
	// the header on every request signed with the Authorization header.
	ErrMissingContentSHA256 = errors.New("auth: missing x-amz-content-sha256")

	// ErrInvalidContentSHA256 maps to InvalidArgument (400):
	// "x-amz-content-sha256 must be UNSIGNED-PAYLOAD,
	// STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
	// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER,
	// STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD,
	// STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256
	// value."
	ErrInvalidContentSHA256 = errors.New("auth: invalid x-amz-content-sha256")

	// ErrUnsignedHeaders maps to AccessDenied (403): "There were headers
	// present in the request which were not signed". S3 requires every
	// x-amz-* header except x-amz-content-sha256 to be signed, and host to be
	// among the signed headers.
	ErrUnsignedHeaders = errors.New("auth: headers present that were not signed")

	// ErrMultipleAuth maps to InvalidArgument (400): "Only one auth mechanism
	// allowed; only the X-Amz-Algorithm query parameter, Signature query
	// string parameter or the Authorization header should be specified".
	ErrMultipleAuth = errors.New("auth: more than one authentication mechanism")
)

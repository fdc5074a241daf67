package ossauth

import "errors"

// The sentinel errors returned by [Verifier.Verify] and by reads from
// [Result.Body]. Callers match them with [errors.Is]: most are returned
// wrapped with a detail for the log (never a secret). Each maps to exactly
// one OSS error code, shown as "Code (HTTP status): message" in its comment;
// the message is the one OSS sends, which the proxy may reuse verbatim.
//
// Several sentinels share an OSS code on purpose: they name different
// causes for the log while the client sees what OSS would have sent.
var (
	// ErrAnonymous means the request carries no credentials at all: no
	// Authorization header and no signed query. The proxy decides what
	// anonymous requests may do; by default it answers
	// AccessDenied (403): "AccessDenied".
	ErrAnonymous = errors.New("ossauth: anonymous request")

	// ErrInvalidAccessKeyID maps to InvalidAccessKeyId (403): "The OSS
	// Access Key Id you provided does not exist in our records."
	ErrInvalidAccessKeyID = errors.New("ossauth: access key does not exist")

	// ErrSignatureDoesNotMatch maps to SignatureDoesNotMatch (403): "The
	// request signature we calculated does not match the signature you
	// provided. Check your key and signing method."
	ErrSignatureDoesNotMatch = errors.New("ossauth: signature does not match")

	// ErrRequestTimeTooSkewed maps to RequestTimeTooSkewed (403): "The
	// difference between the request time and the current time is too
	// large." Returned when x-oss-date (or Date) of a header-signed request
	// is further than Options.MaxSkew from now, and for a V4 presigned
	// x-oss-date further than MaxSkew in the future.
	ErrRequestTimeTooSkewed = errors.New("ossauth: request time too skewed")

	// ErrExpired maps to AccessDenied (403): "Request has expired."
	// Returned when a presigned request is used after its V1 Expires or
	// its V4 x-oss-date + x-oss-expires.
	ErrExpired = errors.New("ossauth: presigned request has expired")

	// ErrMissingDate maps to AccessDenied (403): "OSS authentication
	// requires a valid Date." Returned when a header-signed request has
	// neither x-oss-date nor Date, or one that does not parse.
	ErrMissingDate = errors.New("ossauth: missing or invalid date")

	// ErrInvalidArgument maps to InvalidArgument (400), with the reason as
	// the message. Returned for whatever is malformed about the
	// authentication itself: an unparsable Authorization header, a
	// credential scope that is not date/region/oss/aliyun_v4_request or
	// whose date is not the request's, missing, repeated or unparsable
	// presigned parameters, an x-oss-expires outside 1..604800, an
	// x-oss-content-sha256 that is neither UNSIGNED-PAYLOAD nor a hex
	// SHA-256, a signed sub-resource given twice, more than one
	// Authorization header.
	ErrInvalidArgument = errors.New("ossauth: invalid authentication argument")

	// ErrUnsupportedSignature maps to InvalidArgument (400): "The
	// authorization mechanism you have provided is not supported."
	// Returned for OSS signature version 2 ("OSS2", header or
	// x-oss-signature-version=OSS2) and for schemes OSS does not know.
	ErrUnsupportedSignature = errors.New("ossauth: unsupported authorization mechanism")

	// ErrMultipleAuth maps to InvalidArgument (400): "Only one auth
	// mechanism allowed". Returned when a request carries an Authorization
	// header and a signed query, or the V1 and V4 query forms together.
	ErrMultipleAuth = errors.New("ossauth: more than one authentication mechanism")

	// ErrInvalidDigest maps to InvalidDigest (400): "The Content-MD5 you
	// specified was invalid." Returned for a Content-MD5 header that is not
	// the base64 of 16 bytes, or that is sent more than once.
	ErrInvalidDigest = errors.New("ossauth: content-md5 is not valid")

	// ErrBadDigest maps to InvalidDigest (400): "The Content-MD5 you
	// specified was invalid." OSS answers a Content-MD5 that does not match
	// the payload with InvalidDigest, not S3's BadDigest (OSS error
	// 0017-00000503); it is kept apart from ErrInvalidDigest for the log.
	// It also covers a hex x-oss-content-sha256 that does not match the
	// payload: OSS itself accepts only UNSIGNED-PAYLOAD there, so it has
	// no code of its own for that case and InvalidDigest is the nearest.
	ErrBadDigest = errors.New("ossauth: payload digest does not match")

	// ErrIncompleteBody maps to IncompleteBody (400): "You did not provide
	// the number of bytes specified by the Content-Length HTTP header."
	// Returned when the body ends before Content-Length bytes.
	ErrIncompleteBody = errors.New("ossauth: incomplete body")
)

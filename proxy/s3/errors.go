// Package s3 holds the S3 wire vocabulary that the proxy speaks: the error
// table and its XML encoding, request classification, and the XML documents
// of the responses the proxy writes itself. It knows nothing of encryption,
// keys or the backend.
package s3

import (
	"encoding/xml"
	"net/http"
	"strconv"
)

// Error is one S3 error: the code and HTTP status a client sees, and the
// message that explains it.
type Error struct {
	Code    string
	Message string
	Status  int
}

// Error implements the error interface.
func (e *Error) Error() string { return "s3: " + e.Code + ": " + e.Message }

// WithMessage returns a copy of e with a more specific message.
func (e *Error) WithMessage(msg string) *Error {
	c := *e
	c.Message = msg
	return &c
}

// The S3 errors the proxy answers with. Codes, messages and statuses follow
// the Amazon S3 error reference; the KMS ones follow AWS's SSE-KMS answers.
var (
	ErrAccessDenied                    = &Error{"AccessDenied", "Access Denied.", http.StatusForbidden}
	ErrRequestExpired                  = &Error{"AccessDenied", "Request has expired.", http.StatusForbidden}
	ErrInvalidAccessKeyID              = &Error{"InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", http.StatusForbidden}
	ErrSignatureDoesNotMatch           = &Error{"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", http.StatusForbidden}
	ErrRequestTimeTooSkewed            = &Error{"RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.", http.StatusForbidden}
	ErrAuthorizationHeaderMalformed    = &Error{"AuthorizationHeaderMalformed", "The authorization header is malformed.", http.StatusBadRequest}
	ErrAuthorizationQueryParametersErr = &Error{"AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter.", http.StatusBadRequest}
	ErrContentSHA256Mismatch           = &Error{"XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", http.StatusBadRequest}
	ErrBadDigest                       = &Error{"BadDigest", "The Content-MD5 or checksum you specified did not match what we received.", http.StatusBadRequest}
	ErrInvalidDigest                   = &Error{"InvalidDigest", "The Content-MD5 you specified is not valid.", http.StatusBadRequest}
	ErrIncompleteBody                  = &Error{"IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.", http.StatusBadRequest}
	ErrInvalidRequest                  = &Error{"InvalidRequest", "Invalid Request.", http.StatusBadRequest}
	ErrInvalidArgument                 = &Error{"InvalidArgument", "Invalid Argument.", http.StatusBadRequest}
	ErrInvalidEncryptionAlgorithm      = &Error{"InvalidEncryptionAlgorithmError", "The encryption request you specified is not valid. Valid values are AES256 and aws:kms (KMS in OSS requests).", http.StatusBadRequest}
	ErrMissingContentLength            = &Error{"MissingContentLength", "You must provide the Content-Length HTTP header.", http.StatusLengthRequired}
	ErrEntityTooLarge                  = &Error{"EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.", http.StatusBadRequest}
	ErrInvalidRange                    = &Error{"InvalidRange", "The requested range is not satisfiable.", http.StatusRequestedRangeNotSatisfiable}
	ErrPreconditionFailed              = &Error{"PreconditionFailed", "At least one of the pre-conditions you specified did not hold.", http.StatusPreconditionFailed}
	ErrNotModified                     = &Error{"NotModified", "Not Modified.", http.StatusNotModified}
	ErrNoSuchKey                       = &Error{"NoSuchKey", "The specified key does not exist.", http.StatusNotFound}
	ErrNoSuchUpload                    = &Error{"NoSuchUpload", "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.", http.StatusNotFound}
	ErrInvalidPart                     = &Error{"InvalidPart", "One or more of the specified parts could not be found, or a part's entity tag did not match.", http.StatusBadRequest}
	ErrInvalidPartOrder                = &Error{"InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.", http.StatusBadRequest}
	ErrNoEncryptionConfiguration       = &Error{"ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found.", http.StatusNotFound}
	ErrNoSuchBucket                    = &Error{"NoSuchBucket", "The specified bucket does not exist.", http.StatusNotFound}
	ErrInvalidBucketName               = &Error{"InvalidBucketName", "The specified bucket is not valid.", http.StatusBadRequest}
	ErrKeyTooLong                      = &Error{"KeyTooLongError", "Your key is too long.", http.StatusBadRequest}
	ErrMalformedXML                    = &Error{"MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.", http.StatusBadRequest}
	ErrMetadataTooLarge                = &Error{"MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.", http.StatusBadRequest}
	ErrMethodNotAllowed                = &Error{"MethodNotAllowed", "The specified method is not allowed against this resource.", http.StatusMethodNotAllowed}
	ErrNotImplemented                  = &Error{"NotImplemented", "A header or operation you provided implies functionality that is not implemented.", http.StatusNotImplemented}
	ErrInternal                        = &Error{"InternalError", "We encountered an internal error. Please try again.", http.StatusInternalServerError}
	ErrBadGateway                      = &Error{"ServiceUnavailable", "The storage backend could not be reached. Please try again.", http.StatusBadGateway}
	ErrGatewayTimeout                  = &Error{"RequestTimeout", "The storage backend did not answer in time. Please try again.", http.StatusGatewayTimeout}
	ErrServiceUnavailable              = &Error{"ServiceUnavailable", "Reduce your request rate or try again.", http.StatusServiceUnavailable}
	ErrKMSUnavailable                  = &Error{"KMS.KMSInternalException", "The key management service is unavailable. Please try again.", http.StatusServiceUnavailable}
	ErrKMSNotFound                     = &Error{"KMS.NotFoundException", "The specified KMS key does not exist.", http.StatusBadRequest}
	ErrKMSDisabled                     = &Error{"KMS.DisabledException", "The specified KMS key is disabled.", http.StatusForbidden}
	ErrDecryptionFailed                = &Error{"InternalError", "The object could not be decrypted: its stored data or key failed authentication.", http.StatusInternalServerError}
	ErrUnsupportedSignature            = &Error{"InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.", http.StatusBadRequest}
	ErrInvalidChunkSize                = &Error{"InvalidChunkSizeError", "Only the last chunk is allowed to have a size less than 8192 bytes.", http.StatusBadRequest}
	ErrMalformedTrailer                = &Error{"MalformedTrailerError", "The request contained trailing data that was not well-formed or did not conform to our published schema.", http.StatusBadRequest}
)

// errorDocument is the XML body of an S3 error response.
type errorDocument struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	Resource   string   `xml:"Resource,omitempty"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}

// WriteError writes e as an S3 error response. HEAD requests and 304
// answers get the status and headers only, as S3 does.
func WriteError(w http.ResponseWriter, r *http.Request, e *Error, bucket, key, requestID string) {
	h := w.Header()
	h.Set("x-amz-request-id", requestID)
	if e.Status == http.StatusNotModified || r.Method == http.MethodHead {
		h.Del("Content-Length")
		w.WriteHeader(e.Status)
		return
	}
	body, err := xml.Marshal(errorDocument{
		Code: e.Code, Message: e.Message, BucketName: bucket, Key: key,
		Resource: r.URL.Path, RequestID: requestID, HostID: "sseproxy",
	})
	if err != nil {
		body = nil
	}
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// WriteXML writes v as an XML document with status 200.
func WriteXML(w http.ResponseWriter, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

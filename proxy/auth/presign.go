package auth

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// Presigned (query-string) authentication parameters.
const (
	queryAlgorithm     = "X-Amz-Algorithm"
	queryCredential    = "X-Amz-Credential"
	queryDate          = "X-Amz-Date"
	queryExpires       = "X-Amz-Expires"
	querySignedHeaders = "X-Amz-SignedHeaders"
	querySignature     = "X-Amz-Signature"
	queryContentSHA256 = "X-Amz-Content-Sha256"

	// maxPresignExpires is the longest validity S3 accepts: seven days.
	maxPresignExpires = 7 * 24 * 60 * 60
)

// presignedQuery is a parsed SigV4 presigned query.
type presignedQuery struct {
	authFields
	amzDate string    // X-Amz-Date as sent, the string to sign's timestamp
	date    time.Time // X-Amz-Date parsed
	expires time.Duration
	// contentSHA256 is X-Amz-Content-Sha256 when the client put it in the
	// query, or "".
	contentSHA256 string
}

// isPresignedV4 reports whether the query carries SigV4 presigned
// parameters (complete or not).
func isPresignedV4(params []sigio.Param) bool {
	for _, p := range params {
		switch p.Key {
		case queryAlgorithm, queryCredential, querySignature:
			return true
		}
	}
	return false
}

// isPresignedV2 reports whether the query carries Signature Version 2
// parameters.
func isPresignedV2(params []sigio.Param) bool {
	for _, p := range params {
		switch p.Key {
		case "AWSAccessKeyId", "Signature":
			return true
		}
	}
	return false
}

// parsePresigned extracts and validates the X-Amz-* parameters of a
// presigned request. Each must appear exactly once; X-Amz-Expires must be
// 1..604800 seconds. It does not check the scope against the date, the
// clock, or the signature. Errors wrap ErrAuthorizationQueryParametersError,
// except an algorithm other than AWS4-HMAC-SHA256, which wraps
// ErrUnsupportedSignature.
func parsePresigned(params []sigio.Param) (presignedQuery, error) {
	var q presignedQuery
	vals := make(map[string]string, 7)
	for _, p := range params {
		switch p.Key {
		case queryAlgorithm, queryCredential, queryDate, queryExpires,
			querySignedHeaders, querySignature, queryContentSHA256:
			if _, dup := vals[p.Key]; dup {
				return q, fmt.Errorf("%w: %s given more than once", ErrAuthorizationQueryParametersError, p.Key)
			}
			if len(p.Value) > maxAuthorizationLen {
				return q, fmt.Errorf("%w: %s too long", ErrAuthorizationQueryParametersError, p.Key)
			}
			vals[p.Key] = p.Value
		}
	}
	for _, k := range []string{queryAlgorithm, queryCredential, queryDate, queryExpires, querySignedHeaders, querySignature} {
		if _, ok := vals[k]; !ok {
			return q, fmt.Errorf("%w: missing %s", ErrAuthorizationQueryParametersError, k)
		}
	}
	if alg := vals[queryAlgorithm]; alg != algorithmHMAC {
		if alg == algorithmECDSA {
			return q, fmt.Errorf("%w: %s", ErrUnsupportedSignature, alg)
		}
		return q, fmt.Errorf("%w: X-Amz-Algorithm only supports %s", ErrAuthorizationQueryParametersError, algorithmHMAC)
	}
	var err error
	if q.cred, err = parseCredential(vals[queryCredential]); err != nil {
		return q, fmt.Errorf("%w: %v", ErrAuthorizationQueryParametersError, err)
	}
	if q.signedHeaders, err = parseSignedHeaders(vals[querySignedHeaders]); err != nil {
		return q, fmt.Errorf("%w: %v", ErrAuthorizationQueryParametersError, err)
	}
	if q.signature, err = parseSignature(vals[querySignature]); err != nil {
		return q, fmt.Errorf("%w: %v", ErrAuthorizationQueryParametersError, err)
	}
	q.amzDate = vals[queryDate]
	if q.date, err = time.Parse(iso8601Basic, q.amzDate); err != nil || len(q.amzDate) != len(iso8601Basic) {
		return q, fmt.Errorf("%w: X-Amz-Date %.32q is not yyyymmddThhmmssZ", ErrAuthorizationQueryParametersError, q.amzDate)
	}
	exp, err := strconv.ParseInt(vals[queryExpires], 10, 64)
	switch {
	case err != nil:
		return q, fmt.Errorf("%w: X-Amz-Expires should be a number", ErrAuthorizationQueryParametersError)
	case exp < 1:
		return q, fmt.Errorf("%w: X-Amz-Expires must be positive", ErrAuthorizationQueryParametersError)
	case exp > maxPresignExpires:
		return q, fmt.Errorf("%w: X-Amz-Expires must be less than a week (in seconds) that is 604800", ErrAuthorizationQueryParametersError)
	}
	q.expires = time.Duration(exp) * time.Second
	q.contentSHA256 = vals[queryContentSHA256]
	return q, nil
}

// checkPresignedTime enforces the validity window of a presigned request:
// not before X-Amz-Date (minus the allowed skew) and not after
// X-Amz-Date + X-Amz-Expires.
func checkPresignedTime(q presignedQuery, now time.Time, maxSkew time.Duration) error {
	if now.Before(q.date.Add(-maxSkew)) {
		return fmt.Errorf("%w: X-Amz-Date %s is in the future", ErrRequestTimeTooSkewed, q.amzDate)
	}
	if now.After(q.date.Add(q.expires)) {
		return fmt.Errorf("%w: at %s", ErrExpired, q.date.Add(q.expires).Format(time.RFC3339))
	}
	return nil
}

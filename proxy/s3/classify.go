package s3

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Op names an S3 operation. Its value is the operation's name in the S3 API
// reference, used in logs and metrics.
type Op string

// The operations the proxy knows. Anything else classifies as OpUnsupported
// and is answered with NotImplemented, never forwarded.
const (
	OpUnsupported       Op = "Unsupported"
	OpListBuckets       Op = "ListBuckets"
	OpCreateBucket      Op = "CreateBucket"
	OpDeleteBucket      Op = "DeleteBucket"
	OpHeadBucket        Op = "HeadBucket"
	OpGetBucketLocation Op = "GetBucketLocation"
	OpListObjects       Op = "ListObjects"
	OpListObjectsV2     Op = "ListObjectsV2"
	OpDeleteObjects     Op = "DeleteObjects"
	OpPutObject         Op = "PutObject"
	OpGetObject         Op = "GetObject"
	OpHeadObject        Op = "HeadObject"
	OpDeleteObject      Op = "DeleteObject"

	OpCreateMultipartUpload Op = "CreateMultipartUpload"
	OpUploadPart            Op = "UploadPart"
	OpCompleteMultipart     Op = "CompleteMultipartUpload"
	OpAbortMultipartUpload  Op = "AbortMultipartUpload"
	OpListParts             Op = "ListParts"
	OpListMultipartUploads  Op = "ListMultipartUploads"
	OpCopyObject            Op = "CopyObject"
	OpUploadPartCopy        Op = "UploadPartCopy"

	OpPutBucketEncryption    Op = "PutBucketEncryption"
	OpGetBucketEncryption    Op = "GetBucketEncryption"
	OpDeleteBucketEncryption Op = "DeleteBucketEncryption"
)

// Request is a classified S3 request.
type Request struct {
	Op     Op
	Bucket string
	Key    string
}

// Query parameters that never change which operation a request is: the
// presigned-URL parameters, the SDKs' x-id hint and response overrides.
var neutralParams = map[string]bool{
	"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true,
	"x-amz-expires": true, "x-amz-signedheaders": true, "x-amz-signature": true,
	"x-amz-security-token": true, "x-id": true,
	"response-content-type": true, "response-content-language": true,
	"response-expires": true, "response-cache-control": true,
	"response-content-disposition": true, "response-content-encoding": true,
	// Alibaba OSS presigned URLs (V1 and V4).
	"ossaccesskeyid": true, "expires": true, "signature": true, "security-token": true,
	"x-oss-signature-version": true, "x-oss-credential": true, "x-oss-date": true,
	"x-oss-expires": true, "x-oss-signature": true, "x-oss-additional-headers": true,
	"x-oss-security-token": true, "x-oss-access-key-id": true,
}

// Parameters that a listing takes.
var listParams = map[string]bool{
	"prefix": true, "delimiter": true, "marker": true, "max-keys": true,
	"encoding-type": true, "list-type": true, "continuation-token": true,
	"start-after": true, "fetch-owner": true,
}

// Classify names the operation of r. domains are the base domains under
// which virtual-hosted-style requests (bucket.domain) are recognised; other
// hosts address buckets path-style.
func Classify(r *http.Request, domains []string) Request {
	bucket, key := splitPath(r, domains)
	q := r.URL.Query()
	op := classify(r.Method, bucket, key, r.Header, q)
	return Request{Op: op, Bucket: bucket, Key: key}
}

func splitPath(r *http.Request, domains []string) (bucket, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, d := range domains {
		d = strings.ToLower(d)
		if strings.HasSuffix(host, "."+d) {
			return strings.TrimSuffix(host, "."+d), path
		}
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

func classify(method, bucket, key string, h http.Header, q url.Values) Op {
	var sub []string // parameters that are not neutral
	for k := range q {
		if !neutralParams[strings.ToLower(k)] {
			sub = append(sub, k)
		}
	}
	switch {
	case bucket == "":
		if method == http.MethodGet && len(sub) == 0 {
			return OpListBuckets
		}
		return OpUnsupported
	case key == "":
		return classifyBucket(method, q, sub)
	}
	if len(sub) > 0 {
		return classifyMultipart(method, h, q, sub)
	}
	switch method {
	case http.MethodPut:
		if h.Get("x-amz-copy-source") != "" {
			return OpCopyObject
		}
		return OpPutObject
	case http.MethodGet:
		return OpGetObject
	case http.MethodHead:
		return OpHeadObject
	case http.MethodDelete:
		return OpDeleteObject
	}
	return OpUnsupported
}

// uploadParams are the parameters of ListParts besides uploadId.
var uploadParams = map[string]bool{"uploadId": true, "max-parts": true, "part-number-marker": true, "encoding-type": true}

// classifyMultipart names object operations with sub-resources; anything
// else (versionId, tagging, acl, ...) is unsupported.
func classifyMultipart(method string, h http.Header, q url.Values, sub []string) Op {
	// encoding-type rides along on every multipart call of the OSS v2
	// SDK; it changes no operation.
	sub = slices.DeleteFunc(slices.Clone(sub), func(k string) bool { return k == "encoding-type" })
	has := func(names ...string) bool {
		if len(sub) != len(names) {
			return false
		}
		for _, n := range names {
			if !q.Has(n) {
				return false
			}
		}
		return true
	}
	switch {
	case method == http.MethodPost && has("uploads"):
		return OpCreateMultipartUpload
	case method == http.MethodPut && has("partNumber", "uploadId") && h.Get("x-amz-copy-source") == "":
		return OpUploadPart
	case method == http.MethodPut && has("partNumber", "uploadId"):
		return OpUploadPartCopy
	case method == http.MethodGet && has("partNumber"):
		return OpGetObject
	case method == http.MethodHead && has("partNumber"):
		return OpHeadObject
	case method == http.MethodHead && has("objectMeta"):
		return OpHeadObject // OSS GetObjectMeta: a HEAD with fewer headers
	case method == http.MethodPost && has("uploadId"):
		return OpCompleteMultipart
	case method == http.MethodDelete && has("uploadId"):
		return OpAbortMultipartUpload
	case method == http.MethodGet && q.Has("uploadId"):
		for _, k := range sub {
			if !uploadParams[k] {
				return OpUnsupported
			}
		}
		return OpListParts
	}
	return OpUnsupported
}

// uploadsParams are the parameters of ListMultipartUploads.
var uploadsParams = map[string]bool{
	"uploads": true, "prefix": true, "delimiter": true, "key-marker": true,
	"upload-id-marker": true, "max-uploads": true, "encoding-type": true,
}

func classifyBucket(method string, q url.Values, sub []string) Op {
	only := func(name string) bool { return len(sub) == 1 && q.Has(name) }
	switch method {
	case http.MethodGet:
		if only("location") {
			return OpGetBucketLocation
		}
		if only("encryption") {
			return OpGetBucketEncryption
		}
		if q.Has("uploads") {
			for _, k := range sub {
				if !uploadsParams[k] {
					return OpUnsupported
				}
			}
			return OpListMultipartUploads
		}
		for _, k := range sub {
			if !listParams[k] {
				return OpUnsupported
			}
		}
		if q.Get("list-type") == "2" {
			return OpListObjectsV2
		}
		if q.Has("list-type") {
			return OpUnsupported
		}
		return OpListObjects
	case http.MethodPut:
		if len(sub) == 0 {
			return OpCreateBucket
		}
		if only("encryption") {
			return OpPutBucketEncryption
		}
	case http.MethodDelete:
		if len(sub) == 0 {
			return OpDeleteBucket
		}
		if only("encryption") {
			return OpDeleteBucketEncryption
		}
	case http.MethodHead:
		if len(sub) == 0 {
			return OpHeadBucket
		}
	case http.MethodPost:
		if only("delete") {
			return OpDeleteObjects
		}
	}
	return OpUnsupported
}

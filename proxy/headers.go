package proxy

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/proxy/s3"
	"github.com/sseproxy/sseproxy/sse"
)

// S3 request and response headers of server-side encryption.
const (
	hdrSSE         = "X-Amz-Server-Side-Encryption"
	hdrSSEKeyID    = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
	hdrSSEContext  = "X-Amz-Server-Side-Encryption-Context"
	hdrSSECPrefix  = "X-Amz-Server-Side-Encryption-Customer-"
	hdrCopySSECPfx = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-"
	metaPrefix     = "x-amz-meta-"
	// maxUserMetadata is S3's limit on the user metadata of one object.
	maxUserMetadata = 2 << 10
	maxKeyLength    = 1024
)

// takesSSEHeader lists the operations that accept x-amz-server-side-encryption
// (the seed: PutObject, CopyObject, InitiateMultipartUpload). On any other
// operation the header is answered with 400 InvalidArgument.
var takesSSEHeader = map[s3.Op]bool{s3.OpPutObject: true, s3.OpCreateMultipartUpload: true, s3.OpCopyObject: true}

// checkSSEHeaders applies the seed's rules to the SSE request headers.
func checkSSEHeaders(req *request) error {
	h := req.r.Header
	for name := range h {
		if strings.HasPrefix(name, hdrSSECPrefix) || strings.HasPrefix(name, hdrCopySSECPfx) {
			return s3.ErrNotImplemented.WithMessage("Server-side encryption with customer-provided keys (SSE-C) is not supported.")
		}
	}
	_, hasAlg := h[hdrSSE]
	_, hasKeyID := h[hdrSSEKeyID]
	_, hasCtx := h[hdrSSEContext]
	if !hasAlg && !hasKeyID && !hasCtx {
		return nil
	}
	if req.Op == s3.OpCompleteMultipart && !req.oss {
		// S3 only: compared with the upload's own encryption
		// (sameEncryption). The OSS seed refuses it outright.
		return nil
	}
	if !takesSSEHeader[req.Op] {
		return s3.ErrInvalidArgument.WithMessage("The server-side encryption header is not supported by this operation.")
	}
	switch h.Get(hdrSSE) {
	case EncryptionAES256:
		if hasKeyID || hasCtx {
			return s3.ErrInvalidArgument.WithMessage("Server-side encryption key id and context are only valid with aws:kms.")
		}
		return nil
	case sse.AlgorithmKMS:
		if hasCtx {
			if _, err := decodeContext(h.Get(hdrSSEContext)); err != nil {
				return err
			}
		}
		if id := h.Get(hdrSSEKeyID); hasKeyID && (sse.Record{Algorithm: sse.AlgorithmKMS, KeyID: id, WrappedKey: []byte{0}}).Validate() != nil {
			return s3.ErrInvalidArgument.WithMessage("Invalid x-amz-server-side-encryption-aws-kms-key-id.")
		}
		return nil
	case "aws:kms:dsse":
		return s3.ErrNotImplemented.WithMessage("Dual-layer SSE-KMS (aws:kms:dsse) is not supported.")
	case "":
		if hasAlg {
			return s3.ErrInvalidEncryptionAlgorithm
		}
		return s3.ErrInvalidArgument.WithMessage("Server-side encryption key id and context require x-amz-server-side-encryption: aws:kms.")
	}
	return s3.ErrInvalidEncryptionAlgorithm
}

// checkNames rejects keys S3 would not store.
func checkNames(r s3.Request) error {
	if len(r.Key) > maxKeyLength {
		return s3.ErrKeyTooLong
	}
	if r.Key != "" && !utf8.ValidString(r.Key) {
		return s3.ErrInvalidArgument.WithMessage("Object keys must be valid UTF-8.")
	}
	return nil
}

// userMetadata extracts the x-amz-meta-* headers of a PUT. Clients may not
// set sseproxy's internal names.
func userMetadata(h http.Header) (map[string]string, error) {
	meta := map[string]string{}
	size := 0
	for name, vs := range h {
		l := strings.ToLower(name)
		if !strings.HasPrefix(l, metaPrefix) {
			continue
		}
		short := strings.TrimPrefix(l, metaPrefix)
		if sse.IsInternal(short) {
			return nil, s3.ErrInvalidArgument.WithMessage("Metadata names starting with " + metaPrefix + sse.MetaPrefix + " are reserved.")
		}
		v := strings.Join(vs, ",")
		size += len(short) + len(v)
		meta[short] = v
	}
	if size > maxUserMetadata {
		return nil, s3.ErrMetadataTooLarge
	}
	return meta, nil
}

// standardHeaders copies the standard object headers of a PUT.
func standardHeaders(h http.Header) http.Header {
	out := http.Header{}
	for _, name := range backend.StandardHeaders {
		if v := h.Get(name); v != "" {
			out.Set(name, v)
		}
	}
	// aws-chunked is transfer framing the proxy removes, not a stored encoding.
	if ce := out.Get("Content-Encoding"); ce != "" {
		var kept []string
		for _, p := range strings.Split(ce, ",") {
			if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "aws-chunked") {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			out.Del("Content-Encoding")
		} else {
			out.Set("Content-Encoding", strings.Join(kept, ","))
		}
	}
	return out
}

// responseOverrides are the GET query parameters that override response
// headers (used by presigned URLs).
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

// writeObjectHeaders sets the headers of a GET or HEAD answer for an object.
func writeObjectHeaders(req *request, o object) {
	h := req.w.Header()
	for name, vs := range o.info.Header {
		h[name] = vs
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "binary/octet-stream")
	}
	for name, v := range o.info.Metadata {
		if !sse.IsInternal(name) {
			h.Set(metaPrefix+name, v)
		}
	}
	q := req.r.URL.Query()
	for param, name := range responseOverrides {
		if v := q.Get(param); v != "" {
			h.Set(name, v)
		}
	}
	h.Set("ETag", o.etag())
	if !o.info.LastModified.IsZero() {
		h.Set("Last-Modified", o.info.LastModified.UTC().Format(http.TimeFormat))
	}
	h.Set("Accept-Ranges", "bytes")
	if o.encrypted {
		setSSEHeaders(h, o.record)
	}
}

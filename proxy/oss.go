package proxy

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/sseproxy/sseproxy/proxy/auth"
	"github.com/sseproxy/sseproxy/proxy/ossauth"
	"github.com/sseproxy/sseproxy/proxy/s3"
	"github.com/sseproxy/sseproxy/sse"
)

// Alibaba OSS clients share the listener with S3 clients. An OSS request
// (ossauth.IsOSS) is verified with its own signature scheme; then its x-oss-*
// headers are read as their x-amz-* twins, so every operation has one
// implementation, and the response's x-amz-* headers are written back as
// x-oss-*. User metadata is stored the same way for both dialects, so an
// object written by an OSS client reads through S3 and the other way round.

// OSSAuthenticator verifies OSS signatures; *ossauth.Verifier is one.
type OSSAuthenticator interface {
	Verify(r *http.Request) (*ossauth.Result, error)
}

var _ OSSAuthenticator = (*ossauth.Verifier)(nil)

// ossRequestHeaders maps OSS request headers to the S3 headers the handlers
// read. x-oss-meta-* maps to x-amz-meta-* separately.
var ossRequestHeaders = map[string]string{
	"X-Oss-Server-Side-Encryption":          hdrSSE,
	"X-Oss-Server-Side-Encryption-Key-Id":   hdrSSEKeyID,
	"X-Oss-Copy-Source":                     "X-Amz-Copy-Source",
	"X-Oss-Copy-Source-Range":               "X-Amz-Copy-Source-Range",
	"X-Oss-Metadata-Directive":              "X-Amz-Metadata-Directive",
	"X-Oss-Copy-Source-If-Match":            "X-Amz-Copy-Source-If-Match",
	"X-Oss-Copy-Source-If-None-Match":       "X-Amz-Copy-Source-If-None-Match",
	"X-Oss-Copy-Source-If-Modified-Since":   "X-Amz-Copy-Source-If-Modified-Since",
	"X-Oss-Copy-Source-If-Unmodified-Since": "X-Amz-Copy-Source-If-Unmodified-Since",
}

// ossAlgorithms maps OSS's encryption names to S3's.
var ossAlgorithms = map[string]string{"AES256": sse.AlgorithmAES256, "KMS": sse.AlgorithmKMS}

// ossRequest returns a copy of r whose OSS headers read as S3 headers. x-amz-*
// headers an OSS client sent are dropped: in the OSS dialect they mean
// nothing, and they must not smuggle in S3 semantics.
func ossRequest(r *http.Request) *http.Request {
	r2 := r.WithContext(r.Context())
	h := http.Header{}
	for name, vs := range r.Header {
		switch {
		case strings.HasPrefix(name, "X-Amz-"):
			continue
		case strings.HasPrefix(name, "X-Oss-Meta-"):
			h["X-Amz-Meta-"+strings.TrimPrefix(name, "X-Oss-Meta-")] = vs
		case ossRequestHeaders[name] != "":
			h[ossRequestHeaders[name]] = vs
		default:
			h[name] = vs
		}
	}
	if v, ok := h[hdrSSE]; ok && len(v) == 1 {
		if alg, known := ossAlgorithms[v[0]]; known {
			h[hdrSSE] = []string{alg}
		} else {
			h[hdrSSE] = []string{"invalid:" + v[0]} // still refused as InvalidEncryptionAlgorithmError
		}
	}
	r2.Header = h
	return r2
}

// verifyOSS verifies an OSS request and presents its identity and body as
// the S3 verifier does.
func (h *Handler) verifyOSS(r *http.Request) (*auth.Result, error) {
	if h.o.OSSAuth == nil {
		return nil, s3.ErrNotImplemented.WithMessage("The OSS dialect is not enabled.")
	}
	res, err := h.o.OSSAuth.Verify(r)
	if err != nil {
		return nil, err
	}
	return &auth.Result{AccessKey: res.AccessKey, Body: res.Body, ContentLength: res.ContentLength, Presigned: res.Presigned, Checksums: map[string]string{}}, nil
}

// ossWriter rewrites the S3 response headers of the handlers into OSS's
// when the status line is written.
type ossWriter struct {
	http.ResponseWriter
	done bool
}

func (w *ossWriter) WriteHeader(code int) {
	if !w.done && code >= 200 {
		w.done = true
		h := w.ResponseWriter.Header()
		for name, vs := range h {
			var to string
			switch {
			case strings.HasPrefix(name, "X-Amz-Meta-"):
				to = "X-Oss-Meta-" + strings.TrimPrefix(name, "X-Amz-Meta-")
			case name == http.CanonicalHeaderKey(hdrSSE):
				to = "X-Oss-Server-Side-Encryption"
				if len(vs) == 1 && vs[0] == sse.AlgorithmKMS {
					vs = []string{"KMS"}
				}
			case name == http.CanonicalHeaderKey(hdrSSEKeyID):
				to = "X-Oss-Server-Side-Encryption-Key-Id"
			case name == "X-Amz-Request-Id":
				to = "X-Oss-Request-Id"
			case strings.HasPrefix(name, "X-Amz-"):
				to = "" // S3-only headers (checksums, parts count) are dropped
			default:
				continue
			}
			delete(h, name)
			if to != "" {
				h[to] = vs
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *ossWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *ossWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ossErrorDocument is OSS's error body.
type ossErrorDocument struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
	Bucket    string   `xml:"BucketName,omitempty"`
	Key       string   `xml:"Key,omitempty"`
	EC        string   `xml:"EC,omitempty"`
}

// ossECs are OSS's fine-grained error codes (EC, also sent as x-oss-ec)
// for the codes whose EC OSS's documentation and answers show. Other errors
// carry none rather than a made-up one; OSS itself says clients must not
// depend on ECs.
var ossECs = map[string]string{
	"NoSuchKey":    "0026-00000001",
	"MalformedXML": "0031-00000001",
}

// ossCodes renames the few S3 codes whose OSS twin is spelled otherwise.
var ossCodes = map[string]string{
	"ServerSideEncryptionConfigurationNotFoundError": "NoSuchServerSideEncryptionRule",
	"XAmzContentSHA256Mismatch":                      "InvalidDigest",
	"BadDigest":                                      "InvalidDigest",
}

// writeOSSError writes e in OSS's error format.
func writeOSSError(w http.ResponseWriter, r *http.Request, e *s3.Error, bucket, key, requestID string) {
	code := e.Code
	if c, ok := ossCodes[code]; ok {
		code = c
	}
	h := w.Header()
	h.Set("X-Oss-Request-Id", requestID)
	ec := ossECs[code]
	if ec != "" {
		h.Set("X-Oss-Ec", ec)
	}
	if e.Status == http.StatusNotModified || r.Method == http.MethodHead {
		h.Del("Content-Length")
		w.WriteHeader(e.Status)
		return
	}
	body, _ := xml.Marshal(ossErrorDocument{Code: code, Message: e.Message, RequestID: requestID, HostID: "sseproxy", Bucket: bucket, Key: key, EC: ec})
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Type", "application/xml")
	h.Del("Content-Length")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// ossEncryptionRule is OSS's bucket encryption document.
type ossEncryptionRule struct {
	XMLName xml.Name `xml:"ServerSideEncryptionRule"`
	Default struct {
		SSEAlgorithm      string `xml:"SSEAlgorithm"`
		KMSMasterKeyID    string `xml:"KMSMasterKeyID,omitempty"`
		KMSDataEncryption string `xml:"KMSDataEncryption,omitempty"`
	} `xml:"ApplyServerSideEncryptionByDefault"`
}

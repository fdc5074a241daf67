package proxy

import (
	"context"
	"net/http"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/proxy/s3"
	"github.com/sseproxy/sseproxy/sse"
)

// encryption is how a new object is to be stored.
type encryption struct {
	alg     string // "" (plaintext), sse.AlgorithmAES256 or sse.AlgorithmKMS
	keyID   string // the CMK; "" = the KMS's default
	context string // base64 JSON encryption context (aws:kms), or ""
}

// requestEncryption decides the encryption of an object a request writes:
// the SSE headers when present (checkSSEHeaders validated them), the
// bucket's default otherwise, and the proxy's default last.
func (h *Handler) requestEncryption(req *request) (encryption, error) {
	hdr := req.r.Header
	switch alg := hdr.Get(hdrSSE); alg {
	case sse.AlgorithmAES256:
		return encryption{alg: alg, keyID: h.o.KeyID}, nil
	case sse.AlgorithmKMS:
		e := encryption{alg: alg, keyID: hdr.Get(hdrSSEKeyID), context: hdr.Get(hdrSSEContext)}
		if e.keyID == "" {
			e.keyID = h.o.KMSKeyID
		}
		return e, h.allowKey(req, e.keyID)
	}
	rule, err := h.bucketRule(req.ctx, req.Bucket)
	if err != nil {
		return encryption{}, err
	}
	switch rule.Algorithm {
	case sse.AlgorithmAES256:
		return encryption{alg: sse.AlgorithmAES256, keyID: h.o.KeyID}, nil
	case sse.AlgorithmKMS:
		e := encryption{alg: sse.AlgorithmKMS, keyID: rule.KeyID}
		if e.keyID == "" {
			e.keyID = h.o.KMSKeyID
		}
		return e, h.allowKey(req, e.keyID)
	case EncryptionNone:
		return encryption{}, nil
	}
	switch h.o.DefaultEncryption {
	case EncryptionNone:
		return encryption{}, nil
	case EncryptionKMS:
		return encryption{alg: sse.AlgorithmKMS, keyID: h.o.KMSKeyID}, h.allowKey(req, h.o.KMSKeyID)
	}
	return encryption{alg: sse.AlgorithmAES256, keyID: h.o.KeyID}, nil
}

// BucketRule is a bucket's default encryption: Algorithm "" (none set, the
// proxy's default applies), EncryptionNone, sse.AlgorithmAES256 or
// sse.AlgorithmKMS with an optional KeyID.
type BucketRule struct {
	Algorithm string
	KeyID     string
}

// BucketRules looks up bucket default encryption rules. Implementations are
// safe for concurrent use and may cache.
type BucketRules interface {
	Rule(ctx context.Context, bucket string) (BucketRule, error)
}

func (h *Handler) bucketRule(ctx context.Context, bucket string) (BucketRule, error) {
	if h.o.BucketRules == nil {
		return BucketRule{}, nil
	}
	return h.o.BucketRules.Rule(ctx, bucket)
}

// allowKey reports whether the request's credential may use CMK keyID.
func (h *Handler) allowKey(req *request, keyID string) error {
	if h.o.Authorize == nil {
		return nil
	}
	return h.o.Authorize.AllowKey(req.auth.AccessKey, keyID)
}

// allowBucket reports whether the request's credential may use bucket.
func (h *Handler) allowBucket(req *request, bucket string) error {
	if h.o.Authorize == nil || bucket == "" {
		return nil
	}
	return h.o.Authorize.AllowBucket(req.auth.AccessKey, bucket)
}

// Authorizer limits what a credential may do beyond a valid signature.
type Authorizer interface {
	// AllowBucket reports an error (s3.ErrAccessDenied) unless accessKey may
	// use bucket.
	AllowBucket(accessKey, bucket string) error
	// AllowKey reports an error (s3.ErrAccessDenied) unless accessKey may
	// encrypt with CMK keyID.
	AllowKey(accessKey, keyID string) error
}

// decodeContext parses x-amz-server-side-encryption-context.
func decodeContext(v string) (map[string]string, error) {
	ctx, err := sse.DecodeContext(v)
	if err != nil {
		return nil, s3.ErrInvalidArgument.WithMessage("The x-amz-server-side-encryption-context header must be base64 of a JSON object of strings.")
	}
	return ctx, nil
}

// newDataKey generates a data key under e and returns it with the record
// that stores it. The caller clears the key.
func (h *Handler) newDataKey(ctx context.Context, bucket, key string, e encryption) ([]byte, sse.Record, error) {
	ad, err := sse.Record{Context: e.context}.AssociatedData(bucket, key)
	if err != nil {
		return nil, sse.Record{}, s3.ErrInvalidArgument.WithMessage("Invalid x-amz-server-side-encryption-context.")
	}
	dk, err := h.o.KMS.GenerateDataKey(ctx, e.keyID, ad)
	if err != nil {
		return nil, sse.Record{}, err
	}
	rec := sse.Record{Algorithm: e.alg, KeyID: dk.KeyID, WrappedKey: dk.Ciphertext, Context: e.context}
	if rec.KeyID == "" {
		rec.KeyID = e.keyID
	}
	if err := rec.Validate(); err != nil {
		clear(dk.Plaintext)
		return nil, sse.Record{}, err
	}
	return dk.Plaintext, rec, nil
}

// keyRememberer is a KMS that caches unwrapped keys and can be told one it
// just generated (keys.Cached).
type keyRememberer interface {
	Remember(keyID string, ciphertext, plaintext, ad []byte)
}

// remember hands a freshly generated data key to a caching KMS, so that the
// parts of the upload it was made for, which unwrap it with dataKey, cost no
// KMS call on this instance.
func (h *Handler) remember(bucket, key string, rec sse.Record, plaintext []byte) {
	r, ok := h.o.KMS.(keyRememberer)
	if !ok {
		return
	}
	if ad, err := rec.AssociatedData(bucket, key); err == nil {
		r.Remember(rec.KeyID, rec.WrappedKey, plaintext, ad)
	}
}

// dataKey unwraps the data key of an object stored as bucket/key.
func (h *Handler) dataKey(ctx context.Context, bucket, key string, rec sse.Record) ([]byte, error) {
	ad, err := rec.AssociatedData(bucket, key)
	if err != nil {
		return nil, keys.ErrDecrypt
	}
	return h.o.KMS.Decrypt(ctx, rec.KeyID, rec.WrappedKey, ad)
}

// setSSEHeaders echoes how an object is encrypted.
func setSSEHeaders(h http.Header, rec sse.Record) {
	h.Set(hdrSSE, rec.Algorithm)
	if rec.Algorithm == sse.AlgorithmKMS {
		h.Set(hdrSSEKeyID, rec.KeyID)
	}
}

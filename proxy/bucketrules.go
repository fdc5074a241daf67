package proxy

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/sseproxy/sseproxy/proxy/s3"
	"github.com/sseproxy/sseproxy/sse"
)

// Bucket default encryption set through PutBucketEncryption lives in the
// backend, as two tags of the bucket, so every proxy instance sees it and
// it survives restarts. Instances cache a bucket's rule for RuleCacheTTL,
// so a change reaches other instances within that time.
const (
	tagAlgorithm = "sseproxy-sse"
	tagKeyID     = "sseproxy-kms-key-id"
)

// TagStore reads and writes bucket tags; *backend.Client is one.
type TagStore interface {
	BucketTags(ctx context.Context, bucket string) (map[string]string, error)
	SetBucketTags(ctx context.Context, bucket string, tags map[string]string) error
}

// RuleCacheTTL is how long an instance trusts a cached bucket rule.
const RuleCacheTTL = 10 * time.Second

// Rules is the BucketRules of a deployment: rules stored with the buckets
// (PutBucketEncryption) over fixed rules from the configuration.
type Rules struct {
	Tags  TagStore
	Fixed map[string]BucketRule // from the configuration, by bucket

	mu    sync.Mutex
	cache map[string]cachedRule
}

type cachedRule struct {
	rule    BucketRule
	set     bool // the rule came from the bucket's tags
	expires time.Time
}

var _ BucketRules = (*Rules)(nil)

// Rule returns the bucket's default encryption.
func (r *Rules) Rule(ctx context.Context, bucket string) (BucketRule, error) {
	rule, set, err := r.stored(ctx, bucket)
	if err != nil || set {
		return rule, err
	}
	return r.Fixed[bucket], nil
}

func (r *Rules) stored(ctx context.Context, bucket string) (BucketRule, bool, error) {
	if r.Tags == nil {
		return BucketRule{}, false, nil
	}
	r.mu.Lock()
	c, ok := r.cache[bucket]
	r.mu.Unlock()
	if ok && time.Now().Before(c.expires) {
		return c.rule, c.set, nil
	}
	tags, err := r.Tags.BucketTags(ctx, bucket)
	if err != nil {
		return BucketRule{}, false, err
	}
	c = cachedRule{rule: BucketRule{Algorithm: tags[tagAlgorithm], KeyID: tags[tagKeyID]}, expires: time.Now().Add(RuleCacheTTL)}
	c.set = c.rule.Algorithm != ""
	r.remember(bucket, c)
	return c.rule, c.set, nil
}

func (r *Rules) remember(bucket string, c cachedRule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cache == nil || len(r.cache) > 10000 {
		r.cache = map[string]cachedRule{}
	}
	r.cache[bucket] = c
}

// set stores a bucket's rule (the zero rule deletes it), keeping the
// bucket's other tags.
func (r *Rules) set(ctx context.Context, bucket string, rule BucketRule) error {
	if r.Tags == nil {
		return s3.ErrNotImplemented.WithMessage("Bucket encryption rules need a backend that stores bucket tags.")
	}
	tags, err := r.Tags.BucketTags(ctx, bucket)
	if err != nil {
		return err
	}
	delete(tags, tagAlgorithm)
	delete(tags, tagKeyID)
	if rule.Algorithm != "" {
		tags[tagAlgorithm] = rule.Algorithm
		if rule.KeyID != "" {
			tags[tagKeyID] = rule.KeyID
		}
	}
	if err := r.Tags.SetBucketTags(ctx, bucket, tags); err != nil {
		return err
	}
	r.remember(bucket, cachedRule{rule: rule, set: rule.Algorithm != "", expires: time.Now().Add(RuleCacheTTL)})
	return nil
}

// ruleStore is the writable rule store behind the bucket-encryption APIs.
func (h *Handler) ruleStore() (*Rules, error) {
	r, ok := h.o.BucketRules.(*Rules)
	if !ok {
		return nil, s3.ErrNotImplemented.WithMessage("Bucket encryption rules are not configured.")
	}
	return r, nil
}

func (h *Handler) putBucketEncryption(req *request) error {
	rules, err := h.ruleStore()
	if err != nil {
		return err
	}
	rule, err := readRule(req)
	if err != nil {
		return err
	}
	switch rule.Algorithm {
	case sse.AlgorithmAES256:
		if rule.KeyID != "" {
			return s3.ErrInvalidArgument.WithMessage("KMSMasterKeyID is only valid with aws:kms.")
		}
	case sse.AlgorithmKMS:
		if rule.KeyID != "" {
			if err := (sse.Record{Algorithm: sse.AlgorithmKMS, KeyID: rule.KeyID, WrappedKey: []byte{0}}).Validate(); err != nil {
				return s3.ErrInvalidArgument.WithMessage("Invalid KMSMasterKeyID.")
			}
			if err := h.allowKey(req, rule.KeyID); err != nil {
				return err
			}
		}
	default:
		return s3.ErrInvalidEncryptionAlgorithm
	}
	if err := h.o.Store.HeadBucket(req.ctx, req.Bucket); err != nil {
		return err
	}
	if err := rules.set(req.ctx, req.Bucket, rule); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// readRule reads the rule of PutBucketEncryption, in S3's document or in
// OSS's (<ServerSideEncryptionRule>, algorithm "KMS").
func readRule(req *request) (BucketRule, error) {
	if req.oss {
		var doc ossEncryptionRule
		if err := readXML(req, &doc); err != nil {
			return BucketRule{}, s3.ErrMalformedXML
		}
		alg, ok := ossAlgorithms[doc.Default.SSEAlgorithm]
		if !ok {
			return BucketRule{}, s3.ErrInvalidEncryptionAlgorithm
		}
		return BucketRule{Algorithm: alg, KeyID: doc.Default.KMSMasterKeyID}, nil
	}
	var doc s3.ServerSideEncryptionConfiguration
	if err := readXML(req, &doc); err != nil {
		return BucketRule{}, s3.ErrMalformedXML
	}
	if len(doc.Rules) != 1 {
		return BucketRule{}, s3.ErrMalformedXML.WithMessage("The configuration must hold exactly one rule.")
	}
	d := doc.Rules[0].Default
	return BucketRule{Algorithm: d.SSEAlgorithm, KeyID: d.KMSMasterKeyID}, nil
}

func (h *Handler) getBucketEncryption(req *request) error {
	if err := h.o.Store.HeadBucket(req.ctx, req.Bucket); err != nil {
		return err
	}
	rule, err := h.bucketRule(req.ctx, req.Bucket)
	if err != nil {
		return err
	}
	if rule.Algorithm == "" || rule.Algorithm == EncryptionNone {
		return s3.ErrNoEncryptionConfiguration
	}
	if req.oss {
		var doc ossEncryptionRule
		doc.Default.SSEAlgorithm, doc.Default.KMSMasterKeyID = rule.Algorithm, rule.KeyID
		if rule.Algorithm == sse.AlgorithmKMS {
			doc.Default.SSEAlgorithm = "KMS"
		}
		return s3.WriteXML(req.w, doc)
	}
	doc := s3.ServerSideEncryptionConfiguration{Xmlns: s3.Namespace, Rules: []s3.EncryptionRule{{
		Default: s3.ApplyServerSideEncryptionByDefault{SSEAlgorithm: rule.Algorithm, KMSMasterKeyID: rule.KeyID},
	}}}
	return s3.WriteXML(req.w, doc)
}

func (h *Handler) deleteBucketEncryption(req *request) error {
	rules, err := h.ruleStore()
	if err != nil {
		return err
	}
	if err := h.o.Store.HeadBucket(req.ctx, req.Bucket); err != nil {
		return err
	}
	if err := rules.set(req.ctx, req.Bucket, BucketRule{}); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

package backend

import (
	"context"

	"github.com/minio/minio-go/v7/pkg/tags"
)

// BucketTags returns a bucket's tags (empty when it has none).
func (c *Client) BucketTags(ctx context.Context, bucket string) (map[string]string, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}

	t, err := c.core.GetBucketTagging(ctx, bucket)
	if err != nil {
		switch Code(wrap(err)) {
		case "NoSuchTagSet", "NoSuchTagSetError":
			return map[string]string{}, nil
		case "NotImplemented":
			// A store without bucket tagging holds no rules; setting one
			// fails with its own error.
			return map[string]string{}, nil
		}
		return nil, wrap(err)
	}
	return t.ToMap(), nil
}

// SetBucketTags replaces a bucket's tags; an empty map removes them.
func (c *Client) SetBucketTags(ctx context.Context, bucket string, m map[string]string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}

	if len(m) == 0 {
		return wrap(c.core.RemoveBucketTagging(ctx, bucket))
	}
	t, err := tags.MapToBucketTags(m)
	if err != nil {
		return &Error{Status: 400, Code: "InvalidTag", Message: err.Error()}
	}
	return wrap(c.core.SetBucketTagging(ctx, bucket, t))
}

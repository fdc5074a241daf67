package backend

import (
	"context"

	"github.com/minio/minio-go/v7"
)

// copyHeaders turns o into the headers of a server-side copy that replaces
// the metadata, made conditional on the source's ETag.
func copyHeaders(o PutOptions, etag string) map[string]string {
	h := map[string]string{"X-Amz-Metadata-Directive": "REPLACE"}
	if etag != "" {
		h["X-Amz-Copy-Source-If-Match"] = trimQuotes(etag)
	}
	for _, name := range StandardHeaders {
		if v := o.Header.Get(name); v != "" {
			h[name] = v
		}
	}
	for k, v := range o.Metadata {
		h["X-Amz-Meta-"+k] = v
	}
	return h
}

// ReplaceMetadata rewrites an object's headers and user metadata in place
// with a server-side copy onto itself; the bytes never leave the store. It
// fails with PreconditionFailed unless the object still has etag. Stores
// copy at most 5 GiB this way, and a multipart object loses its part
// boundaries: use CopyPart for those.
func (c *Client) ReplaceMetadata(ctx context.Context, bucket, key, etag string, o PutOptions) error {
	_, err := c.CopyObject(ctx, bucket, key, bucket, key, etag, o)
	return err
}

// CopyObject copies srcBucket/srcKey to bucket/key server-side with the
// headers and metadata of o (the source's are replaced), failing with
// PreconditionFailed unless the source still has etag. Stores copy at most
// 5 GiB this way.
func (c *Client) CopyObject(ctx context.Context, srcBucket, srcKey, bucket, key, etag string, o PutOptions) (ObjectInfo, error) {
	if err := checkBucket(bucket); err != nil {
		return ObjectInfo{}, err
	}
	if err := checkBucket(srcBucket); err != nil {
		return ObjectInfo{}, err
	}
	oi, err := c.core.CopyObject(ctx, srcBucket, srcKey, bucket, key, copyHeaders(o, etag), minio.CopySrcOptions{}, minio.PutObjectOptions{})
	if err != nil {
		return ObjectInfo{}, wrap(err)
	}
	return ObjectInfo{Key: key, ETag: quote(oi.ETag), LastModified: oi.LastModified}, nil
}

// CopyPart copies bytes [off, off+length) of srcBucket/srcKey server-side as
// part n of an upload, failing unless the source still has etag.
func (c *Client) CopyPart(ctx context.Context, bucket, key, uploadID string, n int, srcBucket, srcKey string, off, length int64, etag string) (Part, error) {
	if err := checkBucket(bucket); err != nil {
		return Part{}, err
	}

	h := map[string]string{}
	if etag != "" {
		h["X-Amz-Copy-Source-If-Match"] = trimQuotes(etag)
	}
	p, err := c.core.CopyObjectPart(ctx, srcBucket, srcKey, bucket, key, uploadID, n, off, length, h)
	if err != nil {
		return Part{}, wrap(err)
	}
	return Part{Number: n, ETag: quote(p.ETag), Size: length}, nil
}

// CopyParts copies the multipart object srcBucket/srcKey (size stored
// bytes, every part but the last partSize bytes) to bucket/key with a
// server-side multipart copy of the same part boundaries, and the headers
// and metadata of o. Unlike CopyObject it keeps the part layout and works
// at any size. Each part copy is conditional on the source's etag; a
// failure aborts the upload, so no partial object remains.
func (c *Client) CopyParts(ctx context.Context, srcBucket, srcKey, bucket, key string, size, partSize int64, etag string, o PutOptions) (ObjectInfo, error) {
	if partSize <= 0 {
		return ObjectInfo{}, &Error{Status: 400, Code: "InvalidRequest", Message: "backend: part size must be positive"}
	}
	id, err := c.CreateUpload(ctx, bucket, key, o)
	if err != nil {
		return ObjectInfo{}, err
	}
	abort := func() { _ = c.AbortUpload(context.WithoutCancel(ctx), bucket, key, id) }
	var parts []Part
	for n, off := 1, int64(0); off < size; n, off = n+1, off+partSize {
		p, err := c.CopyPart(ctx, bucket, key, id, n, srcBucket, srcKey, off, min(partSize, size-off), etag)
		if err != nil {
			abort()
			return ObjectInfo{}, err
		}
		parts = append(parts, p)
	}
	info, err := c.CompleteUpload(ctx, bucket, key, id, parts)
	if err != nil {
		abort()
	}
	return info, err
}

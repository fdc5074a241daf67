package backend

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"
)

// CreateUpload starts a multipart upload whose object will carry o's
// headers and metadata. It returns the store's upload id.
func (c *Client) CreateUpload(ctx context.Context, bucket, key string, o PutOptions) (string, error) {
	if err := checkBucket(bucket); err != nil {
		return "", err
	}

	id, err := c.core.NewMultipartUpload(ctx, bucket, key, o.minio())
	return id, wrap(err)
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number       int
	ETag         string
	Size         int64 // stored (ciphertext) size
	LastModified time.Time
}

// UploadPart stores exactly size bytes from r as part number n.
func (c *Client) UploadPart(ctx context.Context, bucket, key, uploadID string, n int, r io.Reader, size int64) (Part, error) {
	if err := checkBucket(bucket); err != nil {
		return Part{}, err
	}

	p, err := c.core.PutObjectPart(ctx, bucket, key, uploadID, n, r, size, minio.PutObjectPartOptions{DisableContentSha256: true})
	if err != nil {
		return Part{}, wrap(err)
	}
	return Part{Number: n, ETag: quote(p.ETag), Size: p.Size, LastModified: p.LastModified}, nil
}

// CompleteUpload assembles the listed parts (number and ETag) into the object.
func (c *Client) CompleteUpload(ctx context.Context, bucket, key, uploadID string, parts []Part) (ObjectInfo, error) {
	if err := checkBucket(bucket); err != nil {
		return ObjectInfo{}, err
	}

	cps := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		cps[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	ui, err := c.core.CompleteMultipartUpload(ctx, bucket, key, uploadID, cps, minio.PutObjectOptions{})
	if err != nil {
		return ObjectInfo{}, wrap(err)
	}
	return ObjectInfo{Key: key, ETag: quote(ui.ETag), Size: ui.Size, LastModified: ui.LastModified}, nil
}

// AbortUpload discards an upload and its parts.
func (c *Client) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}

	return wrap(c.core.AbortMultipartUpload(ctx, bucket, key, uploadID))
}

// PartsPage is one page of ListParts.
type PartsPage struct {
	Parts        []Part
	IsTruncated  bool
	NextMarker   int
	StorageClass string
}

// ListParts lists up to max parts after part number marker.
func (c *Client) ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (PartsPage, error) {
	if err := checkBucket(bucket); err != nil {
		return PartsPage{}, err
	}

	res, err := c.core.ListObjectParts(ctx, bucket, key, uploadID, marker, max)
	if err != nil {
		return PartsPage{}, wrap(err)
	}
	pp := PartsPage{IsTruncated: res.IsTruncated, NextMarker: res.NextPartNumberMarker, StorageClass: res.StorageClass}
	for _, p := range res.ObjectParts {
		pp.Parts = append(pp.Parts, Part{Number: p.PartNumber, ETag: quote(p.ETag), Size: p.Size, LastModified: p.LastModified})
	}
	return pp, nil
}

// Upload is one in-progress multipart upload.
type Upload struct {
	Key       string
	UploadID  string
	Initiated time.Time
}

// UploadsQuery selects a page of ListMultipartUploads.
type UploadsQuery struct {
	Prefix, Delimiter, KeyMarker, UploadIDMarker string
	MaxUploads                                   int
}

// UploadsPage is one page of ListMultipartUploads.
type UploadsPage struct {
	Uploads                           []Upload
	CommonPrefixes                    []string
	IsTruncated                       bool
	NextKeyMarker, NextUploadIDMarker string
}

// ListUploads lists in-progress uploads.
func (c *Client) ListUploads(ctx context.Context, bucket string, q UploadsQuery) (UploadsPage, error) {
	if err := checkBucket(bucket); err != nil {
		return UploadsPage{}, err
	}

	res, err := c.core.ListMultipartUploads(ctx, bucket, q.Prefix, q.KeyMarker, q.UploadIDMarker, q.Delimiter, q.MaxUploads)
	if err != nil {
		return UploadsPage{}, wrap(err)
	}
	up := UploadsPage{IsTruncated: res.IsTruncated, NextKeyMarker: res.NextKeyMarker, NextUploadIDMarker: res.NextUploadIDMarker}
	for _, u := range res.Uploads {
		up.Uploads = append(up.Uploads, Upload{Key: u.Key, UploadID: u.UploadID, Initiated: u.Initiated})
	}
	for _, p := range res.CommonPrefixes {
		up.CommonPrefixes = append(up.CommonPrefixes, p.Prefix)
	}
	return up, nil
}

// PartInfo returns the stored size of part n of a completed multipart object
// and the object's part count (GET/HEAD with ?partNumber).
func (c *Client) PartInfo(ctx context.Context, bucket, key string, n int, etag string) (size int64, parts int, err error) {
	if err := checkBucket(bucket); err != nil {
		return 0, 0, err
	}

	o := minio.StatObjectOptions{}
	o.PartNumber = n
	if etag != "" {
		if err := o.SetMatchETag(trimQuotes(etag)); err != nil {
			return 0, 0, err
		}
	}
	oi, err := c.core.StatObject(ctx, bucket, key, o)
	if err != nil {
		return 0, 0, wrap(err)
	}
	if oi.Headers != nil {
		parts, _ = strconv.Atoi(oi.Headers.Get("X-Amz-Mp-Parts-Count"))
	}
	return oi.Size, parts, nil
}

func quote(etag string) string { return `"` + trimQuotes(etag) + `"` }

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

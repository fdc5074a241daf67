package proxy

import (
	"net/url"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/proxy/s3"
)

// headConcurrency bounds the HEAD requests a listing makes for entries whose
// store did not return metadata with the listing.
const headConcurrency = 16

// listQuery reads the common listing parameters.
func listQuery(q url.Values) (backend.ListQuery, int, error) {
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return backend.ListQuery{}, 0, s3.ErrInvalidArgument.WithMessage("max-keys must be a non-negative integer.")
		}
		maxKeys = min(n, 1000)
	}
	if et := q.Get("encoding-type"); et != "" && et != "url" {
		return backend.ListQuery{}, 0, s3.ErrInvalidArgument.WithMessage("Invalid Encoding Method specified in Request.")
	}
	return backend.ListQuery{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxKeys: maxKeys}, maxKeys, nil
}

// entries turns a page's objects into listing entries with plaintext sizes
// and the ETags clients see elsewhere. Sizes come from the metadata the store
// lists with each entry (one request per page on MinIO); entries listed
// without metadata cost one HEAD each.
func (h *Handler) entries(req *request, objs []backend.ObjectInfo, encode func(string) string) ([]s3.Object, error) {
	out := make([]s3.Object, len(objs))
	var g errgroup.Group
	g.SetLimit(headConcurrency)
	var mu sync.Mutex
	for i, info := range objs {
		g.Go(func() error {
			if !info.MetadataKnown {
				full, err := h.o.Store.HeadObject(req.ctx, req.Bucket, info.Key)
				if err != nil {
					if backend.Code(err) == "NoSuchKey" {
						full = info // deleted meanwhile: list what the store listed
					} else {
						return err
					}
				}
				info.Metadata, info.MetadataKnown = full.Metadata, true
			}
			o, err := describe(info)
			if err != nil {
				// A damaged record or an impossible stored size must not
				// break the listing of every other object: list the stored
				// size (reads of the object itself fail) and say so.
				req.logger.Warn("listing an object whose record is damaged", zap.String("request_id", req.id),
					zap.String("bucket", req.Bucket), zap.String("key", info.Key), zap.Error(err))
				o = object{info: info, size: info.Size}
			}
			mu.Lock()
			out[i] = s3.Object{
				Key: encode(info.Key), LastModified: s3.FormatTime(info.LastModified),
				ETag: o.etag(), Size: o.size, StorageClass: storageClass(info.StorageClass),
			}
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

func storageClass(s string) string {
	if s == "" {
		return "STANDARD"
	}
	return s
}

func encoder(q url.Values) func(string) string {
	if q.Get("encoding-type") == "url" {
		return func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/") }
	}
	return func(s string) string { return s }
}

func prefixes(ps []string, encode func(string) string) []s3.CommonPrefix {
	out := make([]s3.CommonPrefix, len(ps))
	for i, p := range ps {
		out[i] = s3.CommonPrefix{Prefix: encode(p)}
	}
	return out
}

func (h *Handler) listObjectsV2(req *request) error {
	q := req.r.URL.Query()
	bq, maxKeys, err := listQuery(q)
	if err != nil {
		return err
	}
	bq.StartAfter, bq.ContinuationToken = q.Get("start-after"), q.Get("continuation-token")
	encode := encoder(q)
	res := s3.ListBucketV2Result{
		Xmlns: s3.Namespace, Name: req.Bucket, Prefix: encode(bq.Prefix), Delimiter: encode(bq.Delimiter),
		StartAfter: encode(bq.StartAfter), ContinuationToken: bq.ContinuationToken,
		MaxKeys: maxKeys, EncodingType: q.Get("encoding-type"),
	}
	if maxKeys > 0 {
		page, err := h.o.Store.ListObjects(req.ctx, req.Bucket, bq)
		if err != nil {
			return err
		}
		if res.Contents, err = h.entries(req, page.Objects, encode); err != nil {
			return err
		}
		res.CommonPrefixes = prefixes(page.CommonPrefixes, encode)
		res.IsTruncated, res.NextContinuationToken = page.IsTruncated, page.NextContinuationToken
	} else if err := h.o.Store.HeadBucket(req.ctx, req.Bucket); err != nil {
		return err
	}
	res.KeyCount = len(res.Contents) + len(res.CommonPrefixes)
	return s3.WriteXML(req.w, res)
}

// listObjectsV1 serves ListObjects (version 1) over the store's version 2
// listing: the marker becomes start-after, and pages are followed until
// max-keys entries are found, skipping a common prefix equal to the marker
// (which version 1 clients send back as NextMarker).
func (h *Handler) listObjectsV1(req *request) error {
	q := req.r.URL.Query()
	bq, maxKeys, err := listQuery(q)
	if err != nil {
		return err
	}
	marker := q.Get("marker")
	bq.StartAfter = marker
	encode := encoder(q)
	res := s3.ListBucketResult{
		Xmlns: s3.Namespace, Name: req.Bucket, Prefix: encode(bq.Prefix), Marker: encode(marker),
		Delimiter: encode(bq.Delimiter), MaxKeys: maxKeys, EncodingType: q.Get("encoding-type"),
	}
	if maxKeys == 0 {
		if err := h.o.Store.HeadBucket(req.ctx, req.Bucket); err != nil {
			return err
		}
		return s3.WriteXML(req.w, res)
	}
	var last string
	for {
		bq.MaxKeys = maxKeys - len(res.Contents) - len(res.CommonPrefixes)
		page, err := h.o.Store.ListObjects(req.ctx, req.Bucket, bq)
		if err != nil {
			return err
		}
		objs, err := h.entries(req, page.Objects, encode)
		if err != nil {
			return err
		}
		res.Contents = append(res.Contents, objs...)
		for _, o := range page.Objects {
			last = max(last, o.Key)
		}
		for _, p := range page.CommonPrefixes {
			if marker != "" && p <= marker {
				continue
			}
			res.CommonPrefixes = append(res.CommonPrefixes, s3.CommonPrefix{Prefix: encode(p)})
			last = max(last, p)
		}
		res.IsTruncated = page.IsTruncated
		full := len(res.Contents)+len(res.CommonPrefixes) >= maxKeys
		if !page.IsTruncated || full {
			break
		}
		bq.StartAfter, bq.ContinuationToken = "", page.NextContinuationToken
	}
	if res.IsTruncated {
		res.NextMarker = encode(last)
	}
	return s3.WriteXML(req.w, res)
}

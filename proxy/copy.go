package proxy

import (
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/proxy/s3"
	"github.com/sseproxy/sseproxy/sse"
)

// Copies stream the source's plaintext through the proxy and store it as a
// new object: decrypted under the source's key (bound to the source's name)
// and encrypted under a fresh data key bound to the destination's name, so
// every object keeps its own key whatever the copy changes (name, metadata,
// encryption). Memory stays bounded by the stream buffers.

// copySource parses x-amz-copy-source: "[/]bucket/key", URL-encoded.
func (h *Handler) copySource(req *request) (bucket, key string, err error) {
	v := req.r.Header.Get("X-Amz-Copy-Source")
	v, version, _ := strings.Cut(v, "?")
	if version != "" && version != "versionId=null" {
		return "", "", s3.ErrNotImplemented.WithMessage("Copying object versions is not supported.")
	}
	v, err = url.PathUnescape(v)
	if err != nil {
		return "", "", s3.ErrInvalidArgument.WithMessage("Invalid copy source encoding.")
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(v, "/"), "/")
	if !ok || bucket == "" || key == "" {
		return "", "", s3.ErrInvalidArgument.WithMessage("Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
	}
	if err := checkNames(s3.Request{Bucket: bucket, Key: key}); err != nil {
		return "", "", err
	}
	return bucket, key, h.allowBucket(req, bucket)
}

// checkCopyPreconditions evaluates the x-amz-copy-source-if-* headers on the
// source; any failed condition is 412, as S3 answers for copies.
func checkCopyPreconditions(req *request, o object) error {
	h := req.r.Header
	etag := o.etag()
	modified := o.info.LastModified.Truncate(time.Second)
	if v := h.Get("X-Amz-Copy-Source-If-Match"); v != "" && !etagMatches(v, etag) {
		return s3.ErrPreconditionFailed
	}
	if v := h.Get("X-Amz-Copy-Source-If-None-Match"); v != "" && etagMatches(v, etag) {
		return s3.ErrPreconditionFailed
	}
	if t, ok := parseHTTPTime(h.Get("X-Amz-Copy-Source-If-Unmodified-Since")); ok && h.Get("X-Amz-Copy-Source-If-Match") == "" && modified.After(t) {
		return s3.ErrPreconditionFailed
	}
	if t, ok := parseHTTPTime(h.Get("X-Amz-Copy-Source-If-Modified-Since")); ok && h.Get("X-Amz-Copy-Source-If-None-Match") == "" && !modified.After(t) {
		return s3.ErrPreconditionFailed
	}
	return nil
}

// openSource checks the copy source's preconditions and opens n plaintext
// bytes of it at off (n < 0: all of it). o is the source as fetchObject
// described it.
func (h *Handler) openSource(req *request, bucket, key string, o object, off, n int64) (object, io.ReadCloser, error) {
	if err := checkCopyPreconditions(req, o); err != nil {
		return o, nil, err
	}
	if n < 0 {
		n = o.size
	}
	if off+n > o.size {
		return o, nil, s3.ErrInvalidRange
	}
	if err := h.resolveLayout(req, bucket, key, &o); err != nil {
		return o, nil, err
	}
	p, err := o.plan(off, n)
	if err != nil {
		return o, nil, err
	}
	if p.fetchLen == 0 {
		return o, io.NopCloser(eofReader{}), nil
	}
	body, _, err := h.o.Store.GetObject(req.ctx, bucket, key, backend.GetOptions{Offset: p.fetchOff, Length: p.fetchLen, IfMatch: o.info.ETag})
	if err != nil {
		return o, nil, changedError(err)
	}
	if !o.encrypted {
		return o, body, nil
	}
	dk, err := h.dataKey(req.ctx, bucket, key, o.record)
	if err != nil {
		body.Close()
		return o, nil, err
	}
	r := p.decrypt(io.LimitReader(body, p.fetchLen), dk)
	return o, &keyedReader{Reader: io.LimitReader(r, n), body: body, key: dk}, nil
}

// keyedReader reads decrypted plaintext; Close closes the backend body and
// clears the data key (multipart readers derive part keys as they go).
type keyedReader struct {
	io.Reader
	body io.Closer
	key  []byte
}

func (k *keyedReader) Close() error {
	clear(k.key)
	return k.body.Close()
}

var md5ETag = regexp.MustCompile(`^"?[0-9a-f]{32}"?$`)

func (h *Handler) copyObject(req *request) error {
	srcBucket, srcKey, err := h.copySource(req)
	if err != nil {
		return err
	}
	directive := strings.ToUpper(req.r.Header.Get("X-Amz-Metadata-Directive"))
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return s3.ErrInvalidArgument.WithMessage("Unknown metadata directive.")
	}
	if srcBucket == req.Bucket && srcKey == req.Key && directive != "REPLACE" && req.r.Header.Get(hdrSSE) == "" {
		return s3.ErrInvalidRequest.WithMessage("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	enc, err := h.requestEncryption(req)
	if err != nil {
		return err
	}
	// One HEAD of the source serves both paths.
	src, err := h.fetchObject(req, srcBucket, srcKey)
	if err != nil {
		return err
	}
	if done, err := h.copyServerSide(req, srcBucket, srcKey, src, enc, directive == "REPLACE"); done || err != nil {
		return err
	}
	src, body, err := h.openSource(req, srcBucket, srcKey, src, 0, -1)
	if err != nil {
		return err
	}
	defer body.Close()
	n := newObject{body: body, size: src.size, enc: enc}
	if directive == "REPLACE" {
		meta, err := userMetadata(req.r.Header)
		if err != nil {
			return err
		}
		n.opts = backend.PutOptions{Header: standardHeaders(req.r.Header), Metadata: meta}
	} else {
		n.opts = backend.PutOptions{Header: src.info.Header.Clone(), Metadata: map[string]string{}}
		for k, v := range src.info.Metadata {
			if !sse.IsInternal(k) {
				n.opts.Metadata[k] = v
			}
		}
	}
	// The plaintext is unchanged, so a known plaintext MD5 stays the ETag.
	if src.encrypted {
		n.etag = src.record.ETag
	} else if md5ETag.MatchString(src.info.ETag) {
		n.etag = strings.Trim(src.info.ETag, `"`)
	}
	o, err := h.store(req, req.Bucket, req.Key, n)
	if err != nil {
		return err
	}
	if o.encrypted {
		setSSEHeaders(req.w.Header(), o.record)
	}
	return s3.WriteXML(req.w, s3.CopyObjectResult{Xmlns: s3.Namespace, LastModified: s3.FormatTime(lastModified(o.info)), ETag: o.etag()})
}

// copyServerSide handles copies that keep the object's data key: the
// requested encryption is the source's (algorithm, CMK, context) and the
// source is one stream of at most 5 GiB. The store copies the bytes; the
// proxy writes only metadata. Onto itself the record is kept as it is (the
// key's binding does not change); to another name the KMS re-binds the
// wrapped key to the new name (keys.Rebinder), so the data key never leaves
// the KMS and proxy memory. It reports false when the copy needs the
// streaming path: another encryption, a plaintext source, a single-stream
// source over 5 GiB, or a KMS that cannot re-bind.
func (h *Handler) copyServerSide(req *request, srcBucket, srcKey string, src object, enc encryption, replace bool) (bool, error) {
	inPlace := srcBucket == req.Bucket && srcKey == req.Key
	if !inPlace && h.o.Rebind == nil {
		return false, nil
	}
	rec := src.record
	same := src.encrypted && enc.alg == rec.Algorithm && enc.keyID == rec.KeyID && enc.context == rec.Context
	if !same || (!rec.Multipart && src.info.Size > maxPutSize) {
		return false, nil
	}
	if rec.Multipart {
		if err := h.resolveLayout(req, srcBucket, srcKey, &src); err != nil {
			return true, err
		}
	}
	if err := checkCopyPreconditions(req, src); err != nil {
		return true, err
	}
	if !inPlace {
		fromAD, err1 := rec.AssociatedData(srcBucket, srcKey)
		toAD, err2 := rec.AssociatedData(req.Bucket, req.Key)
		if err1 != nil || err2 != nil {
			return false, nil
		}
		wrapped, err := h.o.Rebind.Rebind(req.ctx, rec.KeyID, rec.WrappedKey, fromAD, toAD)
		if err != nil {
			// A KMS that refuses the re-bind (permissions, no support)
			// still allows the streaming copy, which needs only
			// GenerateDataKey and Decrypt.
			req.logger.Info("server-side copy unavailable, streaming", zap.String("request_id", req.id), zap.Error(err))
			return false, nil
		}
		rec.WrappedKey = wrapped
	}
	opts := backend.PutOptions{Header: src.info.Header, Metadata: map[string]string{}}
	if replace {
		meta, err := userMetadata(req.r.Header)
		if err != nil {
			return true, err
		}
		opts = backend.PutOptions{Header: standardHeaders(req.r.Header), Metadata: meta}
	} else {
		for k, v := range src.info.Metadata {
			if !sse.IsInternal(k) {
				opts.Metadata[k] = v
			}
		}
	}
	for k, v := range rec.Metadata() {
		opts.Metadata[k] = v
	}
	var (
		info backend.ObjectInfo
		err  error
	)
	if rec.Multipart {
		// Part by part, so the part boundaries the reader relies on stay.
		info, err = h.o.Store.CopyParts(req.ctx, srcBucket, srcKey, req.Bucket, req.Key, src.info.Size, src.layout.PartSize, src.info.ETag, opts)
	} else {
		info, err = h.o.Store.CopyObject(req.ctx, srcBucket, srcKey, req.Bucket, req.Key, src.info.ETag, opts)
	}
	if err != nil {
		return true, changedError(err)
	}
	o := object{info: info, encrypted: true, record: rec, size: src.size}
	setSSEHeaders(req.w.Header(), rec)
	return true, s3.WriteXML(req.w, s3.CopyObjectResult{Xmlns: s3.Namespace, LastModified: s3.FormatTime(lastModified(info)), ETag: o.etag()})
}

// lastModified is the time a write reports: the store's, or now.
func lastModified(info backend.ObjectInfo) time.Time {
	if info.LastModified.IsZero() {
		return time.Now()
	}
	return info.LastModified
}

// copyRange parses x-amz-copy-source-range: "bytes=first-last".
func copyRange(v string) (off, n int64, whole bool, err error) {
	if v == "" {
		return 0, -1, true, nil
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	a, b, ok2 := strings.Cut(spec, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, false, s3.ErrInvalidArgument.WithMessage("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy.")
	}
	return first, last - first + 1, false, nil
}

func (h *Handler) uploadPartCopy(req *request) error {
	num, err := partNumber(req)
	if err != nil {
		return err
	}
	u, err := h.uploadOf(req, true)
	if err != nil {
		return err
	}
	srcBucket, srcKey, err := h.copySource(req)
	if err != nil {
		return err
	}
	off, n, _, err := copyRange(req.r.Header.Get("X-Amz-Copy-Source-Range"))
	if err != nil {
		return err
	}
	src, err := h.fetchObject(req, srcBucket, srcKey)
	if err != nil {
		return err
	}
	src, body, err := h.openSource(req, srcBucket, srcKey, src, off, n)
	if err != nil {
		return err
	}
	defer body.Close()
	if n < 0 {
		n = src.size
	}
	if n > maxPutSize {
		return s3.ErrEntityTooLarge
	}
	p, err := h.putPart(req, u, num, body, n)
	if err != nil {
		return err
	}
	if u.encrypted {
		setSSEHeaders(req.w.Header(), u.record)
	}
	return s3.WriteXML(req.w, s3.CopyPartResult{Xmlns: s3.Namespace, LastModified: s3.FormatTime(lastModified(backend.ObjectInfo{LastModified: p.LastModified})), ETag: p.ETag})
}

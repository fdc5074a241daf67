package proxy

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/proxy/s3"
	"github.com/sseproxy/sseproxy/sse"
)

// maxPutSize is S3's limit on a single PUT.
const maxPutSize = 5 << 30

// object is a stored object as the client sees it.
type object struct {
	info      backend.ObjectInfo
	encrypted bool
	record    sse.Record
	size      int64      // plaintext size
	layout    sse.Layout // multipart objects: found by resolveLayout
	fetched   int64      // offset of the stored bytes a speculative GET holds
}

// etag is the ETag the client sees: the plaintext MD5 when it was known at
// write time, the store's ETag otherwise.
func (o object) etag() string {
	if o.encrypted && o.record.ETag != "" {
		return `"` + o.record.ETag + `"`
	}
	return o.info.ETag
}

// describe interprets a stored object's info: encrypted objects carry an
// sseproxy record; objects without one are returned as they are.
func describe(info backend.ObjectInfo) (object, error) {
	o := object{info: info, size: info.Size}
	rec, ok, err := sse.ParseRecord(info.Metadata)
	if err != nil || !ok {
		return o, err
	}
	o.encrypted, o.record = true, rec
	o.size, err = sse.DecryptedSize(info.Size)
	return o, err
}

func (h *Handler) putObject(req *request) error {
	size := req.auth.ContentLength
	if size < 0 {
		return s3.ErrMissingContentLength
	}
	if size > maxPutSize {
		return s3.ErrEntityTooLarge
	}
	meta, err := userMetadata(req.r.Header)
	if err != nil {
		return err
	}
	enc, err := h.requestEncryption(req)
	if err != nil {
		return err
	}
	n := newObject{
		size: size,
		opts: backend.PutOptions{Header: standardHeaders(req.r.Header), Metadata: meta},
		enc:  enc,
	}
	if md5, err := base64.StdEncoding.DecodeString(req.r.Header.Get("Content-Md5")); err == nil && len(md5) == 16 {
		// The auth reader verifies Content-MD5 before the last byte
		// reaches the backend, so the plaintext MD5 is known now.
		n.etag = hex.EncodeToString(md5)
	}
	src := &recordingReader{r: req.auth.Body}
	n.body = src
	o, err := h.store(req, req.Bucket, req.Key, n)
	if err != nil {
		if src.err != nil {
			// The client's body failed (bad signature, digest, short
			// body): that is the cause, not the backend error it provoked.
			return src.err
		}
		return err
	}
	hdr := req.w.Header()
	if o.encrypted {
		setSSEHeaders(hdr, o.record)
	}
	hdr.Set("ETag", o.etag())
	for name, v := range req.auth.Checksums {
		hdr.Set("x-amz-checksum-"+name, v)
	}
	hdr.Set("Content-Length", "0")
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// newObject is an object the proxy is about to store.
type newObject struct {
	body io.Reader
	size int64              // plaintext size
	opts backend.PutOptions // standard headers and user metadata
	enc  encryption
	etag string // hex MD5 of the plaintext, when known
}

// storePartSize is the plaintext part size of objects the proxy itself
// stores by multipart (objects over 5 GiB, from CopyObject): a multiple of
// 64 KiB, and 10000 parts of it reach S3's 5 TiB limit.
const storePartSize = 528 << 20

// store writes n to bucket/key, encrypted under a fresh data key unless
// n.enc says plaintext. Objects larger than a single PUT go by multipart.
func (h *Handler) store(req *request, bucket, key string, n newObject) (object, error) {
	o := object{encrypted: n.enc.alg != "", size: n.size}
	if !o.encrypted {
		if n.size > maxPutSize {
			return o, s3.ErrEntityTooLarge
		}
		info, err := h.o.Store.PutObject(req.ctx, bucket, key, n.body, n.size, n.opts)
		o.info = info
		return o, err
	}
	dk, rec, err := h.newDataKey(req.ctx, bucket, key, n.enc)
	if err != nil {
		return o, err
	}
	defer clear(dk)
	rec.ETag, rec.Multipart = n.etag, n.size > maxPutSize
	o.record = rec
	for k, v := range o.record.Metadata() {
		n.opts.Metadata[k] = v
	}
	if o.record.Multipart {
		o.info, err = h.storeParts(req, bucket, key, n, dk)
		return o, err
	}
	stored, err := sse.EncryptedSize(n.size)
	if err != nil {
		return o, s3.ErrEntityTooLarge
	}
	body, err := sse.EncryptReader(n.body, dk)
	if err != nil {
		return o, err
	}
	o.info, err = h.o.Store.PutObject(req.ctx, bucket, key, body, stored, n.opts)
	return o, err
}

// storeParts writes an encrypted object larger than one PUT as a backend
// multipart upload of storePartSize parts, each under its part key. A
// failure aborts the upload, so no partial object remains.
func (h *Handler) storeParts(req *request, bucket, key string, n newObject, dk []byte) (backend.ObjectInfo, error) {
	id, err := h.o.Store.CreateUpload(req.ctx, bucket, key, n.opts)
	if err != nil {
		return backend.ObjectInfo{}, err
	}
	var parts []backend.Part
	for num, left := 1, n.size; left > 0; num++ {
		size := min(left, storePartSize)
		left -= size
		stored, _ := sse.EncryptedSize(size)
		partKey := sse.PartKey(dk, num)
		body, err := sse.EncryptReader(io.LimitReader(n.body, size), partKey)
		if err == nil {
			var p backend.Part
			p, err = h.o.Store.UploadPart(req.ctx, bucket, key, id, num, body, stored)
			parts = append(parts, p)
		}
		clear(partKey)
		if err != nil {
			_ = h.o.Store.AbortUpload(context.WithoutCancel(req.ctx), bucket, key, id)
			return backend.ObjectInfo{}, err
		}
	}
	info, err := h.o.Store.CompleteUpload(req.ctx, bucket, key, id, parts)
	if err != nil {
		_ = h.o.Store.AbortUpload(context.WithoutCancel(req.ctx), bucket, key, id)
	}
	return info, err
}

// recordingReader remembers the first error of the client's body.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// fetch reads the request's object's info with HEAD.
func (h *Handler) fetch(req *request) (object, error) {
	return h.fetchObject(req, req.Bucket, req.Key)
}

// fetchObject reads an object's info with HEAD.
func (h *Handler) fetchObject(req *request, bucket, key string) (object, error) {
	info, err := h.o.Store.HeadObject(req.ctx, bucket, key)
	if err != nil {
		return object{}, err
	}
	return describe(info)
}

func (h *Handler) headObject(req *request) error {
	o, err := h.fetch(req)
	if err != nil {
		return err
	}
	if err := checkPreconditions(req, o); err != nil {
		return err
	}
	status, n := http.StatusOK, o.size
	if req.r.URL.Query().Has("partNumber") {
		if err := h.resolveLayout(req, req.Bucket, req.Key, &o); err != nil {
			return err
		}
		off, size, err := h.partRange(req, o)
		if err != nil {
			return err
		}
		status, n = http.StatusPartialContent, size
		if size > 0 {
			req.w.Header().Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+size-1, 10)+"/"+strconv.FormatInt(o.size, 10))
		}
	}
	writeObjectHeaders(req, o)
	req.w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	req.w.WriteHeader(status)
	return nil
}

func (h *Handler) getObject(req *request) error {
	rng, hasRange, err := parseRange(req.r.Header.Get("Range"))
	if err != nil {
		return err
	}
	part := req.r.URL.Query().Has("partNumber")
	var (
		body io.ReadCloser
		o    object
	)
	switch {
	case hasRange && rng.suffix == 0 && !part:
		body, o, err = h.speculativeGet(req, rng)
		if body != nil {
			defer body.Close()
		}
	case hasRange || part:
		o, err = h.fetch(req)
	default:
		// One backend GET: its headers describe the object.
		var info backend.ObjectInfo
		if body, info, err = h.o.Store.GetObject(req.ctx, req.Bucket, req.Key, backend.GetOptions{}); err != nil {
			return err
		}
		defer body.Close()
		o, err = describe(info)
	}
	if err != nil {
		return err
	}
	if err := checkPreconditions(req, o); err != nil {
		return err
	}
	if err := h.resolveLayout(req, req.Bucket, req.Key, &o); err != nil {
		return err
	}
	off, n := int64(0), o.size
	switch {
	case part:
		if off, n, err = h.partRange(req, o); err != nil {
			return err
		}
	case hasRange:
		var ok bool
		if off, n, ok = rng.resolve(o.size); !ok {
			req.w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(o.size, 10))
			return s3.ErrInvalidRange
		}
	}
	p, err := o.plan(off, n)
	if err != nil {
		return err
	}
	if body != nil && hasRange && p.fetchOff != o.fetched {
		// The speculative window does not hold this range (a plaintext
		// object): read the right bytes.
		body.Close()
		body = nil
	}
	if body == nil && p.fetchLen > 0 {
		g := backend.GetOptions{Offset: p.fetchOff, Length: p.fetchLen, IfMatch: o.info.ETag}
		if body, _, err = h.o.Store.GetObject(req.ctx, req.Bucket, req.Key, g); err != nil {
			return changedError(err)
		}
		defer body.Close()
	}
	if body == nil {
		body = io.NopCloser(eofReader{})
	}
	return h.sendObject(req, o, p, body, off, n, hasRange || part)
}

// speculativeGet serves "bytes=first-[last]" with one backend request in
// the common case: it fetches the packages that would hold the range if
// the object is encrypted (package offsets are the same for single-part
// objects and every multipart layout the proxy writes), and learns the
// object's size and record from that same response. A plaintext object
// needs a second, exact read (getObject notices from o.fetched); a range
// that starts past the stored object falls back to a HEAD, which tells a
// 416 from a plaintext object.
func (h *Handler) speculativeGet(req *request, rng byteRange) (io.ReadCloser, object, error) {
	first := rng.first / sse.PayloadSize
	g := backend.GetOptions{Offset: first * sse.PackageSize, Length: -1}
	if rng.last >= 0 {
		g.Length = (rng.last/sse.PayloadSize - first + 1) * sse.PackageSize
	}
	body, info, err := h.o.Store.GetObject(req.ctx, req.Bucket, req.Key, g)
	if backend.Code(err) == "InvalidRange" {
		o, err := h.fetch(req)
		return nil, o, err
	}
	if err != nil {
		return nil, object{}, err
	}
	o, err := describe(info)
	o.fetched = g.Offset
	if err != nil {
		body.Close()
		return nil, o, err
	}
	return body, o, nil
}

// partRange is the plaintext range of part ?partNumber=N of o, and sets
// x-amz-mp-parts-count. Objects that are not multipart have one part.
func (h *Handler) partRange(req *request, o object) (off, n int64, err error) {
	num, err := partNumber(req)
	if err != nil {
		return 0, 0, err
	}
	invalid := &s3.Error{Code: "InvalidPartNumber", Message: "The requested partnumber is not satisfiable.", Status: http.StatusRequestedRangeNotSatisfiable}
	switch {
	case o.encrypted && o.record.Multipart:
		parts := o.layout.Parts()
		if num > parts {
			return 0, 0, invalid
		}
		req.w.Header().Set("x-amz-mp-parts-count", strconv.Itoa(parts))
		partPlain := o.layout.PartSize / sse.PackageSize * sse.PayloadSize
		off = int64(num-1) * partPlain
		return off, min(partPlain, o.size-off), nil
	case !o.encrypted && strings.Contains(o.info.ETag, "-"):
		// A plaintext multipart object: its parts are its stored parts.
		first, parts, err := h.o.Store.PartInfo(req.ctx, req.Bucket, req.Key, 1, o.info.ETag)
		if err != nil {
			return 0, 0, changedError(err)
		}
		if num > parts {
			return 0, 0, invalid
		}
		size, _, err := h.o.Store.PartInfo(req.ctx, req.Bucket, req.Key, num, o.info.ETag)
		if err != nil {
			return 0, 0, changedError(err)
		}
		req.w.Header().Set("x-amz-mp-parts-count", strconv.Itoa(parts))
		return int64(num-1) * first, size, nil
	}
	if num != 1 {
		return 0, 0, invalid
	}
	return 0, o.size, nil
}

// changedError reports an object replaced between two backend requests of
// one client request; S3 would have served one consistent version, so the
// client should retry.
func changedError(err error) error {
	if backend.Code(err) == "PreconditionFailed" {
		return s3.ErrServiceUnavailable.WithMessage("The object changed while it was read; please retry.")
	}
	return err
}

// resolveLayout finds the part layout of an encrypted multipart object: the
// stored size of part 1 (every part but the last has it; CompleteMultipartUpload
// enforced that) with one HEAD ?partNumber=1.
func (h *Handler) resolveLayout(req *request, bucket, key string, o *object) error {
	if !o.encrypted || !o.record.Multipart || o.info.Size == 0 {
		return nil
	}
	id := layoutID{bucket, key, o.info.ETag, o.info.Size}
	size, ok := h.layouts.get(id)
	if !ok {
		var err error
		if size, _, err = h.o.Store.PartInfo(req.ctx, bucket, key, 1, o.info.ETag); err != nil {
			return changedError(err)
		}
		h.layouts.put(id, size)
	}
	if size >= o.info.Size { // a single part: any size is its own layout
		size = (o.info.Size + sse.PackageSize - 1) / sse.PackageSize * sse.PackageSize
	}
	o.layout = sse.Layout{PartSize: size, Size: o.info.Size}
	return nil
}

// layoutID names one stored version of an object: a multipart object's
// ETag changes whenever it is rewritten, so a cached part size can never
// describe another version.
type layoutID struct {
	bucket, key, etag string
	size              int64
}

// layoutCache remembers the part size of multipart objects, so repeated
// reads skip the HEAD ?partNumber=1. It is a cache, not state: a miss
// costs one request, and entries are keyed by ETag.
type layoutCache struct {
	mu sync.Mutex
	m  map[layoutID]int64
}

// maxLayouts bounds the cache; it is emptied when full.
const maxLayouts = 10000

func (c *layoutCache) get(id layoutID) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[id]
	return v, ok
}

func (c *layoutCache) put(id layoutID, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxLayouts {
		c.m = map[layoutID]int64{}
	}
	c.m[id] = size
}

// plan is how to read n plaintext bytes at off of an object: which stored
// bytes to fetch and how to turn them into plaintext.
type plan struct {
	fetchOff, fetchLen int64
	decrypt            func(src io.Reader, key []byte) io.Reader
}

func (o object) plan(off, n int64) (plan, error) {
	switch {
	case n == 0:
		return plan{decrypt: func(io.Reader, []byte) io.Reader { return eofReader{} }}, nil
	case !o.encrypted:
		return plan{fetchOff: off, fetchLen: n}, nil
	case o.record.Multipart:
		fo, fl, segs, err := o.layout.Windows(off, n)
		if err != nil {
			return plan{}, err
		}
		return plan{fetchOff: fo, fetchLen: fl, decrypt: func(src io.Reader, key []byte) io.Reader {
			return sse.DecryptParts(src, key, segs)
		}}, nil
	}
	w := sse.WholeWindow(o.size)
	if n != o.size {
		w = sse.RangeWindow(off, n, o.size)
	}
	return plan{fetchOff: w.Offset, fetchLen: w.Length, decrypt: func(src io.Reader, key []byte) io.Reader {
		return sse.DecryptReader(src, key, w)
	}}, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// sendObject streams n plaintext bytes from offset off of o. body holds the
// stored bytes p fetches. The first package is authenticated before the
// status line is written; a later failure aborts the connection.
func (h *Handler) sendObject(req *request, o object, p plan, body io.Reader, off, n int64, partial bool) error {
	src := io.LimitReader(body, n)
	if o.encrypted {
		key, err := h.dataKey(req.ctx, req.Bucket, req.Key, o.record)
		if err != nil {
			return err
		}
		defer clear(key)
		src = p.decrypt(io.LimitReader(body, p.fetchLen), key)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	first := min(int64(len(buf)), n)
	if _, err := io.ReadFull(src, buf[:first]); err != nil {
		if !o.encrypted && errors.Is(err, io.ErrUnexpectedEOF) {
			return s3.ErrInternal.WithMessage("The backend returned a short body.")
		}
		return err
	}
	writeObjectHeaders(req, o)
	hdr := req.w.Header()
	hdr.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if partial && n > 0 {
		hdr.Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+n-1, 10)+"/"+strconv.FormatInt(o.size, 10))
		status = http.StatusPartialContent
	}
	req.w.WriteHeader(status)
	if _, err := req.w.Write(buf[:first]); err != nil {
		return err
	}
	rest := n - first
	if rest == 0 {
		// Reach src's end (no byte is left) so sio recycles its buffer.
		_, _ = src.Read(buf[:1])
		return nil
	}
	// src ends by itself after n bytes (the decrypting reader after its
	// window's Count, a plaintext body after its limit), and reading it to
	// its end lets sio recycle its package buffer.
	copied, err := io.CopyBuffer(req.w, src, buf)
	if err == nil && copied != rest {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func (h *Handler) deleteObject(req *request) error {
	if err := h.o.Store.DeleteObject(req.ctx, req.Bucket, req.Key); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

package proxy

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"

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
	opts := backend.PutOptions{Header: standardHeaders(req.r.Header), Metadata: meta}
	alg := req.r.Header.Get(hdrSSE)
	if alg == "" {
		alg = h.o.DefaultEncryption
	}
	src := &recordingReader{r: req.auth.Body}
	body, storedSize := io.Reader(src), size
	if alg == EncryptionAES256 {
		dk, err := h.o.KMS.GenerateDataKey(req.ctx, h.o.KeyID, sse.AssociatedData(req.Bucket, req.Key))
		if err != nil {
			return err
		}
		defer clear(dk.Plaintext)
		rec := sse.Record{Algorithm: EncryptionAES256, KeyID: dk.KeyID, WrappedKey: dk.Ciphertext}
		if md5, err := base64.StdEncoding.DecodeString(req.r.Header.Get("Content-Md5")); err == nil && len(md5) == 16 {
			// The auth reader verifies Content-MD5 before the last byte
			// reaches the backend, so the plaintext MD5 is known now.
			rec.ETag = hex.EncodeToString(md5)
		}
		for k, v := range rec.Metadata() {
			opts.Metadata[k] = v
		}
		if storedSize, err = sse.EncryptedSize(size); err != nil {
			return s3.ErrEntityTooLarge
		}
		if body, err = sse.EncryptReader(body, dk.Plaintext); err != nil {
			return err
		}
	}
	info, err := h.o.Store.PutObject(req.ctx, req.Bucket, req.Key, body, storedSize, opts)
	if err != nil {
		if src.err != nil {
			// The client's body failed (bad signature, digest, short
			// body): that is the cause, not the backend error it provoked.
			return src.err
		}
		return err
	}
	o := object{info: info, encrypted: alg == EncryptionAES256}
	if o.encrypted {
		o.record, _, _ = sse.ParseRecord(opts.Metadata)
		req.w.Header().Set(hdrSSE, EncryptionAES256)
	}
	hdr := req.w.Header()
	hdr.Set("ETag", o.etag())
	for name, v := range req.auth.Checksums {
		hdr.Set("x-amz-checksum-"+name, v)
	}
	hdr.Set("Content-Length", "0")
	req.w.WriteHeader(http.StatusOK)
	return nil
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

// fetch reads the object's info with HEAD.
func (h *Handler) fetch(req *request) (object, error) {
	info, err := h.o.Store.HeadObject(req.ctx, req.Bucket, req.Key)
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
	writeObjectHeaders(req, o)
	req.w.Header().Set("Content-Length", strconv.FormatInt(o.size, 10))
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getObject(req *request) error {
	rng, hasRange, err := parseRange(req.r.Header.Get("Range"))
	if err != nil {
		return err
	}
	var (
		body io.ReadCloser
		o    object
	)
	if hasRange {
		o, err = h.fetch(req)
	} else {
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
	if err := h.resolveLayout(req, &o); err != nil {
		return err
	}
	off, n := int64(0), o.size
	if hasRange {
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
	if hasRange && p.fetchLen > 0 {
		g := backend.GetOptions{Offset: p.fetchOff, Length: p.fetchLen, IfMatch: o.info.ETag}
		if body, _, err = h.o.Store.GetObject(req.ctx, req.Bucket, req.Key, g); err != nil {
			return changedError(err)
		}
		defer body.Close()
	}
	return h.sendObject(req, o, p, body, off, n, hasRange)
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
func (h *Handler) resolveLayout(req *request, o *object) error {
	if !o.encrypted || !o.record.Multipart || o.info.Size == 0 {
		return nil
	}
	size, _, err := h.o.Store.PartInfo(req.ctx, req.Bucket, req.Key, 1, o.info.ETag)
	if err != nil {
		return changedError(err)
	}
	if size >= o.info.Size { // a single part: any size is its own layout
		size = (o.info.Size + sse.PackageSize - 1) / sse.PackageSize * sse.PackageSize
	}
	o.layout = sse.Layout{PartSize: size, Size: o.info.Size}
	return nil
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
		key, err := h.o.KMS.Decrypt(req.ctx, o.record.KeyID, o.record.WrappedKey, sse.AssociatedData(req.Bucket, req.Key))
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
	if partial {
		hdr.Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+n-1, 10)+"/"+strconv.FormatInt(o.size, 10))
		status = http.StatusPartialContent
	}
	req.w.WriteHeader(status)
	if _, err := req.w.Write(buf[:first]); err != nil {
		return err
	}
	rest := n - first
	if rest == 0 {
		return nil
	}
	copied, err := io.CopyBuffer(req.w, io.LimitReader(src, rest), buf)
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

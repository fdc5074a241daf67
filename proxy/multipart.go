package proxy

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/proxy/s3"
	"github.com/sseproxy/sseproxy/sse"
)

// Multipart uploads are stateless: CreateMultipartUpload wraps a fresh data
// key, stores the record in the backend upload's metadata (so the completed
// object carries it) and hands the client an upload ID that carries the
// wrapped key too:
//
//	"sse1." base64url(alg | uint16be(len(keyID)) | keyID | uint16be(len(ctx)) | ctx | wrapped key) "." backend upload ID
//
// where alg is 1 for AES256 and 2 for aws:kms, and ctx the base64 JSON
// encryption context (empty for none).
//
// Any proxy instance can then encrypt any part, in any order, by unwrapping
// the key from the upload ID: no request needs state the backend does not
// hold. The wrapped key is KMS ciphertext bound to bucket/key, so the client
// learns nothing from it and cannot move it to another object; a client that
// edits it only makes its own upload unreadable.
const uploadIDPrefix = "sse1."

// maxUploadsInList bounds a ListParts/ListMultipartUploads page.
const maxUploadsInList = 1000

// upload is a parsed client upload ID.
type upload struct {
	backendID string
	encrypted bool
	record    sse.Record
}

// Algorithm codes of upload IDs.
var algCodes = map[string]byte{sse.AlgorithmAES256: 1, sse.AlgorithmKMS: 2}

func encodeUploadID(rec sse.Record, backendID string) string {
	b := make([]byte, 0, 4+len(rec.KeyID)+len(rec.Context)+len(rec.WrappedKey))
	b = append(b, algCodes[rec.Algorithm], byte(len(rec.KeyID)>>8), byte(len(rec.KeyID)))
	b = append(b, rec.KeyID...)
	b = append(b, byte(len(rec.Context)>>8), byte(len(rec.Context)))
	b = append(b, rec.Context...)
	b = append(b, rec.WrappedKey...)
	return uploadIDPrefix + base64.RawURLEncoding.EncodeToString(b) + "." + backendID
}

// maxUploadIDLen bounds the encoded part of an upload ID before decoding.
const maxUploadIDLen = 4096

// parseUploadID reads a client upload ID. IDs without the prefix are the
// backend's own: those of plaintext uploads (and what ListMultipartUploads
// shows, which clients may use to abort).
func parseUploadID(id string) (upload, error) {
	rest, ok := strings.CutPrefix(id, uploadIDPrefix)
	if !ok {
		if id == "" {
			return upload{}, s3.ErrNoSuchUpload
		}
		return upload{backendID: id}, nil
	}
	enc, backendID, ok := strings.Cut(rest, ".")
	if !ok || backendID == "" || len(enc) > maxUploadIDLen {
		return upload{}, s3.ErrNoSuchUpload
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(b) < 3 || base64.RawURLEncoding.EncodeToString(b) != enc {
		return upload{}, s3.ErrNoSuchUpload // one encoding per upload ID
	}
	rec := sse.Record{Multipart: true}
	for name, code := range algCodes {
		if b[0] == code {
			rec.Algorithm = name
		}
	}
	n := int(b[1])<<8 | int(b[2])
	b = b[3:]
	if len(b) < n+2 {
		return upload{}, s3.ErrNoSuchUpload
	}
	rec.KeyID, b = string(b[:n]), b[n:]
	n = int(b[0])<<8 | int(b[1])
	b = b[2:]
	if len(b) < n {
		return upload{}, s3.ErrNoSuchUpload
	}
	rec.Context, rec.WrappedKey = string(b[:n]), b[n:]
	if rec.Validate() != nil {
		return upload{}, s3.ErrNoSuchUpload
	}
	return upload{backendID: backendID, encrypted: true, record: rec}, nil
}

// uploadOf parses the request's uploadId. With encryption by default, an
// upload ID that carries no key is refused: its parts would reach the
// backend as plaintext.
func (h *Handler) uploadOf(req *request, forWrite bool) (upload, error) {
	u, err := parseUploadID(req.r.URL.Query().Get("uploadId"))
	if err != nil {
		return u, err
	}
	if !forWrite || u.encrypted {
		return u, nil
	}
	// UploadPart/Complete carry no SSE headers, so this is the bucket's
	// (or the proxy's) default.
	if enc, err := h.requestEncryption(req); err != nil || enc.alg != "" {
		return u, s3.ErrNoSuchUpload.WithMessage("This upload ID carries no encryption key; use the upload ID that CreateMultipartUpload returned through sseproxy.")
	}
	return u, nil
}

func (h *Handler) createMultipartUpload(req *request) error {
	meta, err := userMetadata(req.r.Header)
	if err != nil {
		return err
	}
	opts := backend.PutOptions{Header: standardHeaders(req.r.Header), Metadata: meta}
	enc, err := h.requestEncryption(req)
	if err != nil {
		return err
	}
	var rec sse.Record
	if enc.alg != "" {
		var dk []byte
		if dk, rec, err = h.newDataKey(req.ctx, req.Bucket, req.Key, enc); err != nil {
			return err
		}
		h.remember(req.Bucket, req.Key, rec, dk)
		clear(dk)
		rec.Multipart = true
		for k, v := range rec.Metadata() {
			opts.Metadata[k] = v
		}
	}
	id, err := h.o.Store.CreateUpload(req.ctx, req.Bucket, req.Key, opts)
	if err != nil {
		return err
	}
	if enc.alg != "" {
		id = encodeUploadID(rec, id)
		setSSEHeaders(req.w.Header(), rec)
	}
	return s3.WriteXML(req.w, s3.InitiateMultipartUploadResult{Xmlns: s3.Namespace, Bucket: req.Bucket, Key: req.Key, UploadID: id})
}

func (h *Handler) uploadPart(req *request) error {
	n, err := partNumber(req)
	if err != nil {
		return err
	}
	u, err := h.uploadOf(req, true)
	if err != nil {
		return err
	}
	size := req.auth.ContentLength
	if size < 0 {
		return s3.ErrMissingContentLength
	}
	if size > maxPutSize {
		return s3.ErrEntityTooLarge
	}
	src := &recordingReader{r: req.auth.Body}
	p, err := h.putPart(req, u, n, src, size)
	if err != nil {
		if src.err != nil {
			return src.err
		}
		return err
	}
	hdr := req.w.Header()
	hdr.Set("ETag", p.ETag)
	if u.encrypted {
		setSSEHeaders(hdr, u.record)
	}
	for name, v := range req.auth.Checksums {
		hdr.Set("x-amz-checksum-"+name, v)
	}
	hdr.Set("Content-Length", "0")
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// partNumber reads the partNumber parameter.
func partNumber(req *request) (int, error) {
	n, err := strconv.Atoi(req.r.URL.Query().Get("partNumber"))
	if err != nil || n < 1 || n > sse.MaxParts {
		return 0, s3.ErrInvalidArgument.WithMessage("Part number must be an integer between 1 and 10000, inclusive.")
	}
	return n, nil
}

// putPart stores size plaintext bytes of body as part n of upload u,
// encrypted under the part key when the upload is encrypted.
func (h *Handler) putPart(req *request, u upload, n int, body io.Reader, size int64) (backend.Part, error) {
	stored := size
	if u.encrypted {
		key, err := h.dataKey(req.ctx, req.Bucket, req.Key, u.record)
		if err != nil {
			if errors.Is(err, keys.ErrDecrypt) {
				return backend.Part{}, s3.ErrNoSuchUpload // a forged or foreign upload ID
			}
			return backend.Part{}, err
		}
		partKey := sse.PartKey(key, n)
		clear(key)
		defer clear(partKey)
		if stored, err = sse.EncryptedSize(size); err != nil {
			return backend.Part{}, s3.ErrEntityTooLarge
		}
		if body, err = sse.EncryptReader(body, partKey); err != nil {
			return backend.Part{}, err
		}
	}
	p, err := h.o.Store.UploadPart(req.ctx, req.Bucket, req.Key, u.backendID, n, body, stored)
	return p, uploadError(err)
}

// sameEncryption accepts SSE headers on CompleteMultipartUpload only when
// they repeat the upload's own encryption. The seed refuses the header on
// Complete, but minio-go sends its PutObject SSE headers with every
// Complete, as AWS S3 tolerates; a conflicting header is still refused.
func sameEncryption(req *request, u upload) error {
	h := req.r.Header
	_, hasAlg := h[hdrSSE]
	_, hasKeyID := h[hdrSSEKeyID]
	if !hasAlg && !hasKeyID {
		return nil
	}
	conflict := s3.ErrInvalidArgument.WithMessage("The server-side encryption headers do not match the multipart upload's encryption.")
	if !u.encrypted || h.Get(hdrSSE) != u.record.Algorithm {
		return conflict
	}
	if hasKeyID && h.Get(hdrSSEKeyID) != u.record.KeyID {
		return conflict
	}
	return nil
}

// uploadError maps the backend's answer for an upload ID it does not know
// to NoSuchUpload (MinIO says InvalidArgument for malformed IDs).
func uploadError(err error) error {
	if err == nil {
		return nil
	}
	if c := backend.Code(err); c == "InvalidArgument" || c == "NoSuchUpload" {
		return s3.ErrNoSuchUpload
	}
	return err
}

func (h *Handler) completeMultipartUpload(req *request) error {
	u, err := h.uploadOf(req, true)
	if err != nil {
		return err
	}
	if err := sameEncryption(req, u); err != nil {
		return err
	}
	var doc s3.CompleteMultipartUpload
	if err := readXML(req, &doc); err != nil {
		return s3.ErrMalformedXML
	}
	if len(doc.Parts) == 0 || len(doc.Parts) > sse.MaxParts {
		return s3.ErrMalformedXML.WithMessage("The XML you provided must list between 1 and 10000 parts.")
	}
	parts := make([]backend.Part, len(doc.Parts))
	for i, p := range doc.Parts {
		if i > 0 && p.PartNumber <= doc.Parts[i-1].PartNumber {
			return s3.ErrInvalidPartOrder
		}
		parts[i] = backend.Part{Number: p.PartNumber, ETag: p.ETag}
	}
	if u.encrypted {
		if err := h.checkLayout(req, u, parts); err != nil {
			return err
		}
	}
	info, err := h.o.Store.CompleteUpload(req.ctx, req.Bucket, req.Key, u.backendID, parts)
	if err != nil {
		return uploadError(err)
	}
	if u.encrypted {
		setSSEHeaders(req.w.Header(), u.record)
	}
	return s3.WriteXML(req.w, s3.CompleteMultipartUploadResult{
		Xmlns: s3.Namespace, Location: "/" + req.Bucket + "/" + req.Key,
		Bucket: req.Bucket, Key: req.Key, ETag: info.ETag,
	})
}

// checkLayout refuses to complete an encrypted upload whose parts would
// form an object sseproxy cannot map (sse.Layout): every part but the last
// must have the same size, a multiple of 64 KiB of plaintext. The default
// part sizes of aws-cli (8 MiB), the AWS SDK (5 MiB), rclone and minio-go
// are.
func (h *Handler) checkLayout(req *request, u upload, parts []backend.Part) error {
	sizes := map[int]int64{}
	for marker := 0; ; {
		page, err := h.o.Store.ListParts(req.ctx, req.Bucket, req.Key, u.backendID, marker, maxUploadsInList)
		if err != nil {
			return uploadError(err)
		}
		for _, p := range page.Parts {
			sizes[p.Number] = p.Size
		}
		if !page.IsTruncated || page.NextMarker <= marker {
			break
		}
		marker = page.NextMarker
	}
	var partSize int64
	for i, p := range parts[:len(parts)-1] {
		size, ok := sizes[p.Number]
		if !ok {
			return s3.ErrInvalidPart
		}
		if i == 0 {
			partSize = size
		}
		if size != partSize || size%sse.PackageSize != 0 || size == 0 {
			return s3.ErrInvalidPart.WithMessage("sseproxy needs every part but the last to have the same size, a multiple of 64 KiB (65536 bytes); part " +
				strconv.Itoa(p.Number) + " differs.")
		}
	}
	return nil
}

func (h *Handler) abortMultipartUpload(req *request) error {
	u, err := h.uploadOf(req, false)
	if err != nil {
		return err
	}
	if err := h.o.Store.AbortUpload(req.ctx, req.Bucket, req.Key, u.backendID); err != nil {
		return uploadError(err)
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listParts(req *request) error {
	u, err := h.uploadOf(req, false)
	if err != nil {
		return err
	}
	q := req.r.URL.Query()
	marker, _ := strconv.Atoi(q.Get("part-number-marker"))
	maxParts := maxUploadsInList
	if v := q.Get("max-parts"); v != "" {
		if maxParts, err = strconv.Atoi(v); err != nil || maxParts < 0 {
			return s3.ErrInvalidArgument.WithMessage("max-parts must be a non-negative integer.")
		}
		maxParts = min(maxParts, maxUploadsInList)
	}
	page, err := h.o.Store.ListParts(req.ctx, req.Bucket, req.Key, u.backendID, marker, maxParts)
	if err != nil {
		return uploadError(err)
	}
	res := s3.ListPartsResult{
		Xmlns: s3.Namespace, Bucket: req.Bucket, Key: req.Key, UploadID: q.Get("uploadId"),
		Initiator: s3.Owner{ID: "sseproxy", DisplayName: "sseproxy"}, Owner: s3.Owner{ID: "sseproxy", DisplayName: "sseproxy"},
		StorageClass: storageClass(page.StorageClass), PartNumberMarker: marker, NextPartNumberMarker: page.NextMarker,
		MaxParts: maxParts, IsTruncated: page.IsTruncated,
	}
	for _, p := range page.Parts {
		size := p.Size
		if u.encrypted {
			if size, err = sse.DecryptedSize(p.Size); err != nil {
				return err
			}
		}
		res.Parts = append(res.Parts, s3.Part{PartNumber: p.Number, LastModified: s3.FormatTime(p.LastModified), ETag: p.ETag, Size: size})
	}
	return s3.WriteXML(req.w, res)
}

// listMultipartUploads lists in-progress uploads with the backend's upload
// IDs: the wrapped keys live in the uploads' metadata, which S3 does not
// list. Those IDs abort and list parts; resuming an encrypted upload needs
// the ID CreateMultipartUpload returned.
func (h *Handler) listMultipartUploads(req *request) error {
	q := req.r.URL.Query()
	maxUploads := maxUploadsInList
	if v := q.Get("max-uploads"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s3.ErrInvalidArgument.WithMessage("max-uploads must be a non-negative integer.")
		}
		maxUploads = min(n, maxUploadsInList)
	}
	bq := backend.UploadsQuery{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), KeyMarker: q.Get("key-marker"),
		UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: maxUploads}
	page, err := h.o.Store.ListUploads(req.ctx, req.Bucket, bq)
	if err != nil {
		return err
	}
	encode := encoder(q)
	owner := s3.Owner{ID: "sseproxy", DisplayName: "sseproxy"}
	res := s3.ListMultipartUploadsResult{
		Xmlns: s3.Namespace, Bucket: req.Bucket, KeyMarker: encode(bq.KeyMarker), UploadIDMarker: bq.UploadIDMarker,
		NextKeyMarker: encode(page.NextKeyMarker), NextUploadIDMarker: page.NextUploadIDMarker,
		Delimiter: encode(bq.Delimiter), Prefix: encode(bq.Prefix), MaxUploads: maxUploads, IsTruncated: page.IsTruncated,
		CommonPrefixes: prefixes(page.CommonPrefixes, encode),
	}
	for _, u := range page.Uploads {
		res.Uploads = append(res.Uploads, s3.Upload{Key: encode(u.Key), UploadID: u.UploadID, Initiator: owner, Owner: owner,
			StorageClass: "STANDARD", Initiated: s3.FormatTime(u.Initiated)})
	}
	return s3.WriteXML(req.w, res)
}

package proxy

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"regexp"

	"github.com/sseproxy/sseproxy/proxy/s3"
)

// maxXMLBody bounds the XML request bodies the proxy parses itself (S3's
// DeleteObjects limit of 1000 keys of 1 KiB fits).
const maxXMLBody = 2 << 20

// bucketName is S3's naming rule for new buckets.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// readXML decodes a bounded XML request body into v.
func readXML(req *request, v any) error {
	data, err := io.ReadAll(io.LimitReader(req.auth.Body, maxXMLBody+1))
	if err != nil {
		return err
	}
	if len(data) > maxXMLBody {
		return s3.ErrMalformedXML.WithMessage("The XML body is too large.")
	}
	if len(data) == 0 {
		return io.EOF
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return s3.ErrMalformedXML
	}
	return nil
}

func (h *Handler) listBuckets(req *request) error {
	bs, err := h.o.Store.ListBuckets(req.ctx)
	if err != nil {
		return err
	}
	res := s3.ListAllMyBucketsResult{Xmlns: s3.Namespace, Owner: s3.Owner{ID: "sseproxy", DisplayName: "sseproxy"}}
	for _, b := range bs {
		if h.allowBucket(req, b.Name) != nil {
			continue // a credential sees only the buckets it may use
		}
		res.Buckets = append(res.Buckets, s3.Bucket{Name: b.Name, CreationDate: s3.FormatTime(b.Created)})
	}
	return s3.WriteXML(req.w, res)
}

func (h *Handler) createBucket(req *request) error {
	if !bucketName.MatchString(req.Bucket) {
		return s3.ErrInvalidBucketName
	}
	var cfg s3.CreateBucketConfiguration
	if err := readXML(req, &cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := h.o.Store.MakeBucket(req.ctx, req.Bucket, cfg.LocationConstraint); err != nil {
		return err
	}
	req.w.Header().Set("Location", "/"+req.Bucket)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucket(req *request) error {
	if err := h.o.Store.RemoveBucket(req.ctx, req.Bucket); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) headBucket(req *request) error {
	if err := h.o.Store.HeadBucket(req.ctx, req.Bucket); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) bucketLocation(req *request) error {
	loc, err := h.o.Store.BucketLocation(req.ctx, req.Bucket)
	if err != nil {
		return err
	}
	if loc == "us-east-1" {
		loc = "" // S3 answers an empty constraint for us-east-1
	}
	return s3.WriteXML(req.w, s3.LocationConstraint{Xmlns: s3.Namespace, Location: loc})
}

func (h *Handler) deleteObjects(req *request) error {
	var d s3.Delete
	if err := readXML(req, &d); err != nil {
		if errors.Is(err, io.EOF) {
			return s3.ErrMalformedXML
		}
		return err
	}
	if len(d.Objects) == 0 || len(d.Objects) > 1000 {
		return s3.ErrMalformedXML
	}
	keys := make([]string, len(d.Objects))
	for i, o := range d.Objects {
		if o.VersionID != "" {
			return s3.ErrNotImplemented.WithMessage("Deleting object versions is not supported.")
		}
		keys[i] = o.Key
	}
	failed := map[string]error{}
	for _, r := range h.o.Store.DeleteObjects(req.ctx, req.Bucket, keys) {
		if r.Err != nil {
			failed[r.Key] = r.Err
		}
	}
	res := s3.DeleteResult{Xmlns: s3.Namespace}
	for _, k := range keys {
		if err, ok := failed[k]; ok {
			e := toS3Error(err)
			res.Errors = append(res.Errors, s3.DeleteError{Key: k, Code: e.Code, Message: e.Message})
		} else if !d.Quiet {
			res.Deleted = append(res.Deleted, s3.ObjectIdentity{Key: k})
		}
	}
	return s3.WriteXML(req.w, res)
}

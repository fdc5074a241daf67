package devstore

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/johannesboyne/gofakes3"
)

// reads adds to gofakes3's object GET and HEAD what it leaves out:
//
//   - ?partNumber=N reads part N of an object as S3 does: 206 with the
//     part's bytes, its Content-Length and Content-Range, and, for an
//     object completed by a multipart upload, x-amz-mp-parts-count. An
//     object written whole is one part. gofakes3 ignores partNumber, so the
//     request goes on to it as a Range request for the part's bytes, mapped
//     by partRange from the sizes stored under partSizesMeta.
//   - If-Match and If-Unmodified-Since, which gofakes3 ignores on reads,
//     answer 412 PreconditionFailed when they fail.
//
// Both are decided on a look-up of the object before gofakes3 opens it.
// Its response is then checked (guard) to come from the object looked up,
// by ETag, so that an overwrite in between cannot serve the wrong bytes
// for a part or a body that fails the preconditions. Other requests pass
// through untouched.
func reads(b *backend, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		bucket, key, ok := objectRead(r, q)
		if !ok || (!q.Has("partNumber") && r.Header.Get("If-Match") == "" && r.Header.Get("If-Unmodified-Since") == "") {
			next.ServeHTTP(w, r)
			return
		}
		req, plan, rerr := planRead(b, r, q, bucket, key)
		if rerr != nil {
			rerr.write(w, r)
			return
		}
		g := &guard{ResponseWriter: w, r: r, plan: plan}
		next.ServeHTTP(g, req)
		if g.status == 0 {
			g.WriteHeader(http.StatusOK) // gofakes3 sets no status on a 200 HEAD or an empty GET
		}
	})
}

// objectRead returns the bucket and key of a request that gofakes3 routes
// to its object GET or HEAD (see its routeBase).
func objectRead(r *http.Request, q url.Values) (bucket, key string, ok bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", "", false
	}
	if q.Get("uploadId") != "" || q.Has("uploads") || q.Has("versioning") || q.Has("versions") {
		return "", "", false
	}
	if v := q.Get("versionId"); v != "" && v != "null" {
		return "", "", false
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return bucket, key, bucket != "" && key != ""
}

// readPlan is what reads decided before gofakes3 serves an object read.
type readPlan struct {
	etag  string // of the object looked up; "" if there was none
	parts int    // x-amz-mp-parts-count to send; 0 for none
}

// planRead checks the request's partNumber and preconditions against the
// stored object and returns the request to pass to gofakes3.
func planRead(b *backend, r *http.Request, q url.Values, bucket, key string) (*http.Request, readPlan, *readError) {
	n := 0
	if q.Has("partNumber") {
		var err error
		if n, err = strconv.Atoi(q.Get("partNumber")); err != nil || n < 1 || n > gofakes3.MaxUploadPartNumber {
			return nil, readPlan{}, errBadPartNumber
		}
		if r.Header.Get("Range") != "" {
			return nil, readPlan{}, errPartAndRange
		}
	}
	obj, err := b.headStored(bucket, key)
	if err != nil {
		// gofakes3 reports the missing bucket or key in its own words; if
		// the object appears meanwhile, the guard refuses it.
		return r, readPlan{}, nil
	}
	plan := readPlan{etag: gofakes3.FormatETag(obj.Hash)}
	if rerr := preconditions(r.Header, plan.etag, obj.Metadata["Last-Modified"]); rerr != nil {
		return nil, readPlan{}, rerr
	}
	if n == 0 {
		return r, plan, nil
	}
	sizes, multipart := parsePartSizes(obj.Metadata[partSizesMeta], obj.Size)
	if multipart {
		plan.parts = len(sizes)
	} else {
		sizes = []int64{obj.Size}
	}
	start, length, ok := partRange(sizes, n)
	if !ok {
		return nil, readPlan{}, errPartNotSatisfiable
	}
	r = r.Clone(r.Context())
	q.Del("partNumber")
	r.URL.RawQuery = q.Encode()
	if length > 0 { // an empty object has no byte range: it is sent whole
		r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, start+length-1))
	}
	return r, plan, nil
}

// partRange returns where part n (from 1) of an object made of parts of the
// given sizes starts and how long it is; false if there is no part n.
func partRange(sizes []int64, n int) (start, length int64, ok bool) {
	if n < 1 || n > len(sizes) {
		return 0, 0, false
	}
	for _, s := range sizes[:n-1] {
		start += s
	}
	return start, sizes[n-1], true
}

// preconditions evaluates If-Match and, only without it (RFC 9110
// 13.2.2), If-Unmodified-Since against an object's ETag and Last-Modified
// header values. If-None-Match and If-Modified-Since are gofakes3's.
func preconditions(h http.Header, etag, lastModified string) *readError {
	if im := h.Get("If-Match"); im != "" {
		if !etagListMatches(im, etag) {
			return errPreconditionFailed
		}
		return nil
	}
	if since, err := http.ParseTime(h.Get("If-Unmodified-Since")); err == nil {
		if lm, err := http.ParseTime(lastModified); err == nil && lm.After(since) {
			return errPreconditionFailed
		}
	}
	return nil
}

// etagListMatches reports whether an If-Match list ("*" or quoted ETags,
// comma-separated; quotes optional, as S3 accepts) names etag.
func etagListMatches(list, etag string) bool {
	if etag == "" {
		return false
	}
	for e := range strings.SplitSeq(list, ",") {
		if e = strings.TrimSpace(e); e == "*" || strings.Trim(e, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// guard passes gofakes3's response to a planned read through, once its
// status is known, if it comes from the object planRead looked up and still
// meets the preconditions; otherwise it sends an error instead and drops
// gofakes3's body. It adds x-amz-mp-parts-count to a part read.
type guard struct {
	http.ResponseWriter
	r      *http.Request
	plan   readPlan
	status int        // 0 until the status is written
	failed *readError // the error sent instead of gofakes3's response
}

func (g *guard) WriteHeader(code int) {
	if g.status != 0 {
		return // gofakes3 reporting the failed Write below
	}
	g.status = code
	if code == http.StatusOK || code == http.StatusPartialContent || code == http.StatusNotModified {
		h := g.Header()
		if rerr := g.check(h); rerr != nil {
			g.failed = rerr
			for k := range h {
				if k != "X-Amz-Request-Id" && k != "X-Amz-Id-2" {
					delete(h, k)
				}
			}
			rerr.write(g.ResponseWriter, g.r)
			return
		}
		if g.plan.parts > 0 && code != http.StatusNotModified {
			h.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(g.plan.parts))
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

// check tests the headers gofakes3 is about to send for an object.
func (g *guard) check(h http.Header) *readError {
	etag := h.Get("ETag")
	if rerr := preconditions(g.r.Header, etag, h.Get("Last-Modified")); rerr != nil {
		return rerr
	}
	if etag != g.plan.etag {
		return errObjectChanged
	}
	return nil
}

func (g *guard) Write(p []byte) (int, error) {
	if g.status == 0 {
		g.WriteHeader(http.StatusOK)
	}
	if g.failed != nil {
		return 0, g.failed // stops gofakes3 copying the body
	}
	return g.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (g *guard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// readError is an S3 error response that reads sends itself: gofakes3 has
// no code for most of them, and no way to send one of its own from here.
type readError struct {
	status        int
	code, message string
}

var (
	errBadPartNumber      = &readError{http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"}
	errPartAndRange       = &readError{http.StatusBadRequest, "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"}
	errPartNotSatisfiable = &readError{http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", "The requested partnumber is not satisfiable"}
	errPreconditionFailed = &readError{http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the preconditions you specified did not hold"}
	errObjectChanged      = &readError{http.StatusServiceUnavailable, "ServiceUnavailable", "The object changed while it was read; please retry."}
)

func (e *readError) Error() string { return "devstore: " + e.code + ": " + e.message }

// write sends e as S3 does: an XML error document, or no body for HEAD.
func (e *readError) write(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	doc := struct {
		XMLName  xml.Name `xml:"Error"`
		Code     string
		Message  string
		Resource string
	}{Code: e.code, Message: e.message, Resource: r.URL.Path}
	fmt.Fprint(w, xml.Header)
	xml.NewEncoder(w).Encode(doc)
}

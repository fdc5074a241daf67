package proxy

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sseproxy/sseproxy/proxy/s3"
)

// checkPreconditions evaluates If-Match, If-Unmodified-Since, If-None-Match
// and If-Modified-Since against o as RFC 9110 orders them (S3 follows the
// same precedence): a failed If-Match/If-Unmodified-Since is 412, a matched
// If-None-Match or an unmodified If-Modified-Since is 304.
func checkPreconditions(req *request, o object) error {
	r := req.r
	etag := o.etag()
	modified := o.info.LastModified.Truncate(time.Second)
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagMatches(im, etag) {
			return s3.ErrPreconditionFailed
		}
	} else if t, ok := parseHTTPTime(r.Header.Get("If-Unmodified-Since")); ok && modified.After(t) {
		return s3.ErrPreconditionFailed
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagMatches(inm, etag) {
			return notModified(req, o)
		}
	} else if t, ok := parseHTTPTime(r.Header.Get("If-Modified-Since")); ok && !modified.After(t) {
		return notModified(req, o)
	}
	return nil
}

// notModified answers 304 with the validators S3 sends along.
func notModified(req *request, o object) error {
	req.w.Header().Set("ETag", o.etag())
	if !o.info.LastModified.IsZero() {
		req.w.Header().Set("Last-Modified", o.info.LastModified.UTC().Format(http.TimeFormat))
	}
	return s3.ErrNotModified
}

func parseHTTPTime(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	return t, err == nil
}

// etagMatches reports whether the If-Match/If-None-Match list matches etag.
func etagMatches(list, etag string) bool {
	want := strings.Trim(etag, `"`)
	for _, c := range strings.Split(list, ",") {
		c = strings.TrimSpace(c)
		if c == "*" {
			return true
		}
		c = strings.TrimPrefix(c, "W/")
		if strings.Trim(c, `"`) == want {
			return true
		}
	}
	return false
}

// byteRange is a parsed single Range header: first-last, first- or -suffix.
type byteRange struct {
	first, last int64 // last < 0: open-ended
	suffix      int64 // > 0: the last suffix bytes
}

// parseRange parses a Range header. S3 serves a single byte range; an
// absent, multi-range or unparsable header means the whole object (RFC 9110
// lets servers ignore a Range they do not understand), except a syntactically
// valid but unsatisfiable single range, which resolve reports.
func parseRange(v string) (byteRange, bool, error) {
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return byteRange{}, false, nil
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return byteRange{}, false, nil
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return byteRange{}, false, nil
		}
		if n == 0 {
			return byteRange{}, false, s3.ErrInvalidRange
		}
		return byteRange{suffix: n}, true, nil
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return byteRange{}, false, nil
	}
	if b == "" {
		return byteRange{first: first, last: -1}, true, nil
	}
	last, err := strconv.ParseInt(b, 10, 64)
	if err != nil || last < first {
		return byteRange{}, false, nil
	}
	return byteRange{first: first, last: last}, true, nil
}

// resolve turns the range into an offset and length within an object of
// size bytes; ok is false when the range is not satisfiable.
func (r byteRange) resolve(size int64) (off, n int64, ok bool) {
	if r.suffix > 0 {
		n = min(r.suffix, size)
		return size - n, n, n > 0
	}
	if r.first >= size {
		return 0, 0, false
	}
	last := r.last
	if last < 0 || last >= size {
		last = size - 1
	}
	return r.first, last - r.first + 1, true
}

package devstore

import (
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// gofakes3 has no bucket tagging: it answers GET /bucket?tagging with a
// listing. The proxy keeps bucket encryption rules (PutBucketEncryption) as
// bucket tags, so development mode needs them: bucketTagging serves
// GET/PUT/DELETE /bucket?tagging itself, one XML file per bucket under
// <dir>/bucket-tags.

// maxTaggingBody bounds a PutBucketTagging body (S3 allows 50 tags).
const maxTaggingBody = 64 << 10

// tagging is S3's Tagging document.
type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	TagSet  []struct {
		Key   string `xml:"Key"`
		Value string `xml:"Value"`
	} `xml:"TagSet>Tag"`
}

func bucketTagging(b *backend, next http.Handler) http.Handler {
	dir := filepath.Join(filepath.Dir(b.bucketsDir), "bucket-tags")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, isBucket := strings.CutPrefix(strings.TrimSuffix(r.URL.Path, "/"), "/")
		if !r.URL.Query().Has("tagging") || !isBucket || bucket == "" || strings.Contains(bucket, "/") {
			next.ServeHTTP(w, r)
			return
		}
		if fi, err := os.Stat(filepath.Join(b.bucketsDir, bucket)); err != nil || !fi.IsDir() {
			writeS3Error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		}
		file := filepath.Join(dir, bucket+".xml")
		switch r.Method {
		case http.MethodGet:
			data, err := os.ReadFile(file)
			if errors.Is(err, fs.ErrNotExist) {
				writeS3Error(w, http.StatusNotFound, "NoSuchTagSet", "The TagSet does not exist")
				return
			}
			if err != nil {
				writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
				return
			}
			w.Header().Set("Content-Type", "application/xml")
			_, _ = w.Write(data)
		case http.MethodPut:
			data, err := io.ReadAll(io.LimitReader(r.Body, maxTaggingBody+1))
			var t tagging
			if err != nil || len(data) > maxTaggingBody || xml.Unmarshal(data, &t) != nil {
				writeS3Error(w, http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed")
				return
			}
			out, _ := xml.Marshal(t)
			if err := os.MkdirAll(dir, 0o700); err == nil {
				err = os.WriteFile(file, append([]byte(xml.Header), out...), 0o600)
			}
			if err != nil {
				writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
				return
			}
			w.WriteHeader(http.StatusOK)
		case http.MethodDelete:
			if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
				writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			writeS3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource")
		}
	})
}

// writeS3Error answers an S3 error document.
func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}{Code: code, Message: msg})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

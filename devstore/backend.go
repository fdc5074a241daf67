package devstore

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
)

// Metadata names the backend keeps or reads. gofakes3 stores request headers
// under their canonical (Canonical-Cased) names.
const (
	userMetaPrefix  = "X-Amz-Meta-"
	directiveHeader = "X-Amz-Metadata-Directive"

	// internalPrefix starts every name the store uses for itself, in
	// requests between its own layers and in stored metadata. Clients never
	// see such a name and cannot set one (normalize drops them).
	internalPrefix = "X-Amz-Devstore-"

	// requestMetaHeader carries, from the HTTP middleware to CopyObject, the
	// names of the metadata headers the copy request really sent: gofakes3
	// merges the source's metadata into the request's before the backend
	// sees it, so without this list a REPLACE copy could not drop a key.
	requestMetaHeader = internalPrefix + "Request-Metadata"

	// partSizesMeta is the stored metadata entry of an object completed by
	// a multipart upload: its part sizes in part order (formatPartSizes),
	// for ?partNumber reads. It lives in the object's own metadata file, so
	// it is written, replaced and deleted with the object; clientMeta strips
	// it from everything gofakes3 returns.
	partSizesMeta = internalPrefix + "Part-Sizes"

	// maxUserMeta is S3's limit on user metadata, counted here over whole
	// header names and values: at least as strict as S3, so the proxy's own
	// metadata cannot outgrow it unnoticed in development.
	maxUserMeta = 2048
)

// backend adds the S3 semantics the proxy relies on to gofakes3's
// file-system backend (s3afero.MultiBucketBackend), through its public API:
//
//   - An object's metadata is exactly what its last write sent. s3afero merges
//     the previous version's metadata into every overwrite
//     (gofakes3.MergeMetadata) and keeps every X-Amz-* request header
//     (signatures, dates, checksums); here only user metadata,
//     Content-Type/-Disposition/-Encoding and Last-Modified are kept, and an
//     overwrite deletes the old object first.
//   - CopyObject honours x-amz-metadata-directive: COPY takes the source's
//     metadata, REPLACE only the request's.
//   - A PUT body is received into a temporary file before the store is
//     touched: a broken upload never truncates or replaces the old object,
//     and s3afero's global lock is held only for a local copy.
//   - Listings are sorted, grouped by any delimiter, and paginated.
//   - Keys that a file system cannot hold faithfully ("a//b", "a/", "../x",
//     longer than 222 bytes) or that collide with another key's directory
//     are rejected.
//   - Multipart uploads keep their parts in files and record the part sizes
//     of the object they complete (see multipart.go).
//
// Writes, deletes and listings are serialised by mu; reads go straight to
// s3afero, which has its own lock.
type backend struct {
	*s3afero.MultiBucketBackend

	bucketsDir string // s3afero's documented layout: <dir>/buckets/<bucket>/<key>
	tmpDir     string // staged uploads and upload parts; emptied on start
	mu         sync.Mutex

	uploads *uploads
}

var _ gofakes3.Backend = (*backend)(nil)

func newBackend(dir string) (*backend, error) {
	fs, err := s3afero.FsPath(dir, s3afero.FsPathCreateAll)
	if err != nil {
		return nil, err
	}
	inner, err := s3afero.MultiBucket(fs)
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.RemoveAll(tmp); err != nil { // uploads cut short by a crash
		return nil, err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	up, err := newUploads(filepath.Join(tmp, "uploads"))
	if err != nil {
		return nil, err
	}
	return &backend{MultiBucketBackend: inner, bucketsDir: filepath.Join(dir, "buckets"), tmpDir: tmp, uploads: up}, nil
}

// HeadObject returns the object's metadata; unstorable keys do not exist.
func (b *backend) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	return clientMeta(b.headStored(bucket, key))
}

// headStored is HeadObject with the object's stored metadata, internal
// entries included.
func (b *backend) headStored(bucket, key string) (*gofakes3.Object, error) {
	if !storableKey(key) {
		return nil, gofakes3.KeyNotFound(key)
	}
	return b.MultiBucketBackend.HeadObject(bucket, key)
}

// GetObject returns the object; unstorable keys do not exist (on disk
// "a/../b" would name "b").
func (b *backend) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	if !storableKey(key) {
		return nil, gofakes3.KeyNotFound(key)
	}
	return clientMeta(b.MultiBucketBackend.GetObject(bucket, key, rng))
}

// clientMeta removes the store's internal entries from obj's metadata:
// gofakes3 sends every entry to the client as a header. Every object the
// backend hands to gofakes3 passes through here.
func clientMeta(obj *gofakes3.Object, err error) (*gofakes3.Object, error) {
	if obj != nil {
		for k := range obj.Metadata {
			if strings.HasPrefix(http.CanonicalHeaderKey(k), internalPrefix) {
				delete(obj.Metadata, k)
			}
		}
	}
	return obj, err
}

// PutObject stores input under key with exactly meta's object metadata.
func (b *backend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	var res gofakes3.PutObjectResult
	if err := checkKey(key); err != nil {
		return res, err
	}
	f, n, err := b.stage(input)
	if err != nil {
		return res, err
	}
	defer discard(f)
	if n != size {
		return res, gofakes3.ErrIncompleteBody
	}
	return res, b.replace(bucket, key, objectMeta(meta), f, n, cond)
}

// CopyObject copies src to dst. meta is gofakes3's view of the request: its
// headers, Last-Modified, and the source's metadata merged in.
func (b *backend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	var res gofakes3.CopyObjectResult
	if err := checkKey(dstKey); err != nil {
		return res, err
	}
	src, err := b.GetObject(srcBucket, srcKey, nil)
	if err != nil {
		return res, err
	}
	defer src.Contents.Close()
	// Staging first makes copying an object onto itself (a metadata rewrite)
	// safe: replace deletes the destination before writing it.
	f, n, err := b.stage(src.Contents)
	if err != nil {
		return res, err
	}
	defer discard(f)
	if err := b.replace(dstBucket, dstKey, copyMeta(meta, src.Metadata), f, n, nil); err != nil {
		return res, err
	}
	return gofakes3.CopyObjectResult{ETag: gofakes3.FormatETag(src.Hash), LastModified: gofakes3.NewContentTime(time.Now())}, nil
}

// DeleteObject deletes key and the directories it leaves empty.
func (b *backend) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	var res gofakes3.ObjectDeleteResult
	if !storableKey(key) {
		return res, nil // cannot exist; S3 deletes of missing keys succeed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return res, b.deleteLocked(bucket, key)
}

// DeleteMulti deletes keys one by one, reporting each.
func (b *backend) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	var res gofakes3.MultiDeleteResult
	for _, key := range keys {
		if _, err := b.DeleteObject(bucket, key); err != nil {
			if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
				return res, err
			}
			res.Error = append(res.Error, gofakes3.ErrorResult{Key: key, Code: gofakes3.ErrInternal, Message: gofakes3.ErrInternal.Message()})
			continue
		}
		res.Deleted = append(res.Deleted, gofakes3.ObjectID{Key: key})
	}
	return res, nil
}

// ListBucket lists one page of the bucket. It asks s3afero for every key
// under the prefix, without delimiter, and groups and pages them itself:
// s3afero reports wrong common prefixes when the prefix ends inside a name
// ("pho" lists "pho/photos/"), none for delimiters other than "/", does not
// paginate, and walks directories in an order that is not S3's.
func (b *backend) ListBucket(bucket string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	var p gofakes3.Prefix
	if prefix != nil {
		p = *prefix
	}
	b.mu.Lock()
	all, err := b.MultiBucketBackend.ListBucket(bucket, &gofakes3.Prefix{HasPrefix: p.HasPrefix, Prefix: p.Prefix}, gofakes3.ListBucketPage{})
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !p.HasPrefix {
		p.Prefix = ""
	}
	if !p.HasDelimiter {
		p.Delimiter = ""
	}
	return listPage(all.Contents, p.Prefix, p.Delimiter, page), nil
}

// listPage sorts contents, groups the keys that contain delim after prefix
// into common prefixes, skips entries up to page.Marker and returns at most
// page.MaxKeys entries (all when MaxKeys <= 0), as S3 does.
func listPage(contents []*gofakes3.Content, prefix, delim string, page gofakes3.ListBucketPage) *gofakes3.ObjectList {
	contents = slices.Clone(contents)
	slices.SortFunc(contents, func(a, b *gofakes3.Content) int { return strings.Compare(a.Key, b.Key) })
	out := gofakes3.NewObjectList()
	var n int64
	last := ""
	for _, c := range contents {
		if !strings.HasPrefix(c.Key, prefix) {
			continue
		}
		name, common := c.Key, false
		if i := strings.Index(c.Key[len(prefix):], delim); delim != "" && i >= 0 {
			name, common = c.Key[:len(prefix)+i+len(delim)], true
		}
		// Sorted keys keep a common prefix's members together.
		if (common && n > 0 && name == last) || (page.HasMarker && name <= page.Marker) {
			continue
		}
		if page.MaxKeys > 0 && n == page.MaxKeys {
			out.IsTruncated, out.NextMarker = true, last
			break
		}
		if common {
			out.AddPrefix(name)
		} else {
			out.Add(c)
		}
		last, n = name, n+1
	}
	return out
}

// replace makes r the object at bucket/key with metadata meta, after checking
// cond against the current object.
func (b *backend) replace(bucket, key string, meta map[string]string, r io.Reader, size int64, cond *gofakes3.PutConditions) error {
	if userMetaSize(meta) > maxUserMeta {
		return gofakes3.ErrMetadataTooLarge
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if cond != nil {
		info := &gofakes3.ConditionalObjectInfo{}
		obj, err := b.MultiBucketBackend.HeadObject(bucket, key)
		switch {
		case err == nil:
			info.Exists, info.Hash = true, obj.Hash
		case !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey):
			return err
		}
		if err := gofakes3.CheckPutConditions(cond, info); err != nil {
			return err
		}
	}
	if other, ok := b.collision(bucket, key); ok {
		return gofakes3.ErrorInvalidArgument("key", key, "devstore: key "+key+" cannot be stored next to "+other+
			": the development store keeps keys as files and directories")
	}
	// Deleting first keeps s3afero from merging the old metadata into the
	// new object, and gives the new object a new file: readers of the old
	// one keep reading it whole.
	if err := b.deleteLocked(bucket, key); err != nil {
		return err
	}
	_, err := b.MultiBucketBackend.PutObject(bucket, key, meta, r, size, nil)
	return err
}

// deleteLocked deletes bucket/key, if it is a file, then the directories the
// deletion left empty, so listings and later keys do not trip over them.
func (b *backend) deleteLocked(bucket, key string) error {
	if fi, err := os.Stat(b.diskPath(bucket, key)); err == nil && fi.IsDir() {
		return nil // only a directory of other keys: no such object
	}
	if _, err := b.MultiBucketBackend.DeleteObject(bucket, key); err != nil {
		return err
	}
	if gofakes3.ValidateBucketName(bucket) != nil {
		return nil
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if os.Remove(b.diskPath(bucket, dir)) != nil {
			break // not empty, or already gone
		}
	}
	return nil
}

// collision returns the key or key prefix that occupies the file-system path
// key needs: a directory of other keys at key itself, or a file at one of
// its parents.
func (b *backend) collision(bucket, key string) (string, bool) {
	if fi, err := os.Stat(b.diskPath(bucket, key)); err == nil && fi.IsDir() {
		return key + "/...", true
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if fi, err := os.Stat(b.diskPath(bucket, dir)); err == nil && !fi.IsDir() {
			return dir, true
		}
	}
	return "", false
}

func (b *backend) diskPath(bucket, key string) string {
	return filepath.Join(b.bucketsDir, bucket, filepath.FromSlash(key))
}

// stage copies r into a new temporary file and rewinds it.
func (b *backend) stage(r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp(b.tmpDir, "upload-")
	if err != nil {
		return nil, 0, err
	}
	n, err := io.Copy(f, r)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		discard(f)
		return nil, 0, err
	}
	return f, n, nil
}

// discard closes and removes a staged file.
func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// maxKeyLen is the longest key s3afero can store: its metadata file is named
// after the whole key ('/' replaced by '_') plus '-' and 32 hex digits, and a
// file name has at most 255 bytes.
const maxKeyLen = 255 - 1 - 32

// storableKey reports whether a file system can hold key faithfully: at most
// maxKeyLen bytes, no empty, "." or ".." segment, so no leading, trailing or
// doubled '/'.
func storableKey(key string) bool {
	if len(key) > maxKeyLen {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// checkKey is storableKey as an S3 error for writes.
func checkKey(key string) error {
	if storableKey(key) {
		return nil
	}
	return gofakes3.ErrorInvalidArgument("key", key, fmt.Sprintf("devstore: the development store cannot store keys longer than %d bytes "+
		"or with an empty, \".\" or \"..\" path segment (leading, trailing or doubled '/')", maxKeyLen))
}

// keepMeta reports whether a stored header belongs to the object: user
// metadata and the headers S3 returns as stored. Everything else gofakes3
// records (X-Amz-Date, X-Amz-Content-Sha256, checksums, SSE and copy
// headers, ...) described the request, not the object.
func keepMeta(name string) bool {
	name = http.CanonicalHeaderKey(name)
	switch name {
	case "Content-Type", "Content-Disposition", "Content-Encoding", "Last-Modified":
		return true
	}
	return strings.HasPrefix(name, userMetaPrefix)
}

// objectMeta returns the entries of meta that keepMeta keeps, under
// canonical names.
func objectMeta(meta map[string]string) map[string]string {
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		if keepMeta(k) {
			out[http.CanonicalHeaderKey(k)] = v
		}
	}
	return out
}

// copyMeta returns a copy's metadata from gofakes3's merged request metadata
// req and the source's metadata src, following x-amz-metadata-directive.
func copyMeta(req, src map[string]string) map[string]string {
	var out map[string]string
	sent, listed := req[requestMetaHeader]
	switch {
	case !strings.EqualFold(req[directiveHeader], "REPLACE"):
		out = objectMeta(src)
	case listed:
		out = map[string]string{}
		for name := range strings.SplitSeq(sent, ",") {
			if v, ok := req[name]; ok && keepMeta(name) {
				out[name] = v
			}
		}
	default: // no middleware: the best gofakes3 alone allows
		out = objectMeta(req)
	}
	if lm, ok := req["Last-Modified"]; ok {
		out["Last-Modified"] = lm // the copy is a new object
	}
	return out
}

// userMetaSize is the size of meta's user metadata, names included.
func userMetaSize(meta map[string]string) int {
	n := 0
	for k, v := range meta {
		if strings.HasPrefix(k, userMetaPrefix) {
			n += len(k) + len(v)
		}
	}
	return n
}

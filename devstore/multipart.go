package devstore

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// The backend does multipart uploads itself (gofakes3.MultipartBackend)
// rather than leave them to gofakes3's built-in uploader, which holds every
// part in memory, assembles the object in memory a second time and hands
// the backend only the concatenated body: the part boundaries, which
// ?partNumber reads need, would be lost. Here each part is a file under
// <dir>/tmp/uploads/<upload id>/, the completed object is streamed from
// those files, and its part sizes are stored with it under partSizesMeta.
//
// Uploads in progress live in memory and their directory is emptied on
// start: like gofakes3's, they do not survive a restart.

// uploads holds the multipart uploads in progress.
type uploads struct {
	dir string
	// idPrefix starts every upload ID: the start time, so that an ID from
	// an earlier run never names an upload of this one. A fixed-width
	// sequence number follows, so IDs sort in the order uploads began.
	idPrefix string

	mu  sync.Mutex
	seq uint64
	m   map[gofakes3.UploadID]*upload
}

func newUploads(dir string) (*uploads, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	return &uploads{
		dir:      dir,
		idPrefix: strconv.FormatInt(time.Now().UnixNano(), 36) + "-",
		m:        map[gofakes3.UploadID]*upload{},
	}, nil
}

// upload is a multipart upload in progress. Only parts changes after
// creation, under uploads.mu.
type upload struct {
	id          gofakes3.UploadID
	bucket, key string
	meta        map[string]string // gofakes3's view of the initiating request
	initiated   time.Time
	dir         string // part n is the file <dir>/<n>
	parts       map[int]uploadedPart
}

type uploadedPart struct {
	md5      [md5.Size]byte
	size     int64
	modified time.Time
}

func (p uploadedPart) etag() string { return gofakes3.FormatETag(p.md5[:]) }

func (u *upload) partPath(n int) string { return filepath.Join(u.dir, strconv.Itoa(n)) }

var _ gofakes3.MultipartBackend = (*backend)(nil)

// CreateMultipartUpload starts an upload. It refuses, as the object's PUT
// would, keys the store cannot hold and metadata over S3's limit, before
// any part is sent.
func (b *backend) CreateMultipartUpload(bucket, key string, meta map[string]string) (gofakes3.UploadID, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if userMetaSize(objectMeta(meta)) > maxUserMeta {
		return "", gofakes3.ErrMetadataTooLarge
	}
	up := b.uploads
	up.mu.Lock()
	defer up.mu.Unlock()
	up.seq++
	id := gofakes3.UploadID(fmt.Sprintf("%s%016x", up.idPrefix, up.seq))
	u := &upload{id: id, bucket: bucket, key: key, meta: meta, initiated: time.Now(),
		dir: filepath.Join(up.dir, string(id)), parts: map[int]uploadedPart{}}
	if err := os.Mkdir(u.dir, 0o700); err != nil {
		return "", err
	}
	up.m[id] = u
	return id, nil
}

// lookupLocked returns upload id of bucket/key; uploads.mu must be held.
func (b *backend) lookupLocked(bucket, key string, id gofakes3.UploadID) (*upload, error) {
	u, ok := b.uploads.m[id]
	if !ok || u.bucket != bucket || u.key != key {
		return nil, gofakes3.ErrNoSuchUpload
	}
	return u, nil
}

// UploadPart stores part n of an upload, replacing an earlier part n. The
// body is staged outside the upload's directory and moved in only once
// whole, so a broken part never replaces a good one.
func (b *backend) UploadPart(bucket, key string, id gofakes3.UploadID, n int, size int64, input io.Reader) (string, error) {
	if n < 1 || n > gofakes3.MaxUploadPartNumber {
		return "", gofakes3.ErrInvalidPart
	}
	b.uploads.mu.Lock()
	_, err := b.lookupLocked(bucket, key, id)
	b.uploads.mu.Unlock()
	if err != nil {
		return "", err // before reading a body that would be thrown away
	}
	h := md5.New()
	f, got, err := b.stage(io.TeeReader(input, h))
	if err != nil {
		return "", err
	}
	defer discard(f) // removes the staged file unless renamed into place below
	f.Close()        // before the rename: Windows cannot rename an open file
	if got != size {
		return "", gofakes3.ErrIncompleteBody
	}
	p := uploadedPart{size: got, modified: time.Now()}
	h.Sum(p.md5[:0])

	b.uploads.mu.Lock()
	defer b.uploads.mu.Unlock()
	u, err := b.lookupLocked(bucket, key, id) // aborted or completed meanwhile?
	if err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), u.partPath(n)); err != nil {
		return "", err
	}
	u.parts[n] = p
	return p.etag(), nil
}

// ListParts lists the parts after part number marker, at most limit (1000
// when limit is not in 1..1000). As S3 does, NextPartNumberMarker is the
// last part listed.
func (b *backend) ListParts(bucket, key string, id gofakes3.UploadID, marker int, limit int64) (*gofakes3.ListMultipartUploadPartsResult, error) {
	if limit <= 0 || limit > gofakes3.MaxUploadPartsLimit {
		limit = gofakes3.DefaultMaxUploadParts
	}
	b.uploads.mu.Lock()
	defer b.uploads.mu.Unlock()
	u, err := b.lookupLocked(bucket, key, id)
	if err != nil {
		return nil, err
	}
	res := &gofakes3.ListMultipartUploadPartsResult{
		Bucket: bucket, Key: key, UploadID: id, StorageClass: gofakes3.StorageStandard,
		PartNumberMarker: marker, MaxParts: limit,
	}
	for _, n := range slices.Sorted(maps.Keys(u.parts)) {
		if n <= marker {
			continue
		}
		if int64(len(res.Parts)) == limit {
			res.IsTruncated = true
			break
		}
		p := u.parts[n]
		res.Parts = append(res.Parts, gofakes3.ListMultipartUploadPartItem{
			PartNumber: n, ETag: p.etag(), Size: p.size, LastModified: gofakes3.NewContentTime(p.modified),
		})
		res.NextPartNumberMarker = n
	}
	return res, nil
}

// ListMultipartUploads lists one page of the bucket's uploads, sorted by key
// and then by start, grouped by any delimiter as ListBucket groups keys. A
// page holds at most limit uploads and common prefixes (1000 when limit is
// not in 1..1000). The markers name the last entry of the previous page:
// key-marker alone skips that key's uploads, with upload-id-marker only
// those up to that upload.
func (b *backend) ListMultipartUploads(bucket string, marker *gofakes3.UploadListMarker, prefix gofakes3.Prefix, limit int64) (*gofakes3.ListMultipartUploadsResult, error) {
	if limit <= 0 || limit > gofakes3.MaxUploadsLimit {
		limit = gofakes3.DefaultMaxUploads
	}
	var all []*upload
	b.uploads.mu.Lock()
	for _, u := range b.uploads.m {
		if u.bucket == bucket {
			all = append(all, u) // the fields read below never change
		}
	}
	b.uploads.mu.Unlock()
	slices.SortFunc(all, func(x, y *upload) int {
		return cmp.Or(strings.Compare(x.key, y.key), strings.Compare(string(x.id), string(y.id)))
	})

	res := &gofakes3.ListMultipartUploadsResult{Bucket: bucket, MaxUploads: limit}
	if prefix.HasPrefix {
		res.Prefix = prefix.Prefix
	}
	if prefix.HasDelimiter {
		res.Delimiter = prefix.Delimiter
	}
	var keyMarker string
	var idMarker gofakes3.UploadID
	if marker != nil {
		keyMarker, idMarker = marker.Object, marker.UploadID
		res.KeyMarker, res.UploadIDMarker = keyMarker, idMarker
	}
	var n int64
	var lastName, lastPrefix string
	var lastID gofakes3.UploadID
	for _, u := range all {
		if !strings.HasPrefix(u.key, res.Prefix) {
			continue
		}
		name, common := u.key, false
		if i := strings.Index(u.key[len(res.Prefix):], res.Delimiter); res.Delimiter != "" && i >= 0 {
			name, common = u.key[:len(res.Prefix)+i+len(res.Delimiter)], true
		}
		// Sorted keys keep a common prefix's members together.
		if common && name == lastPrefix {
			continue
		}
		if marker != nil && (name < keyMarker || (name == keyMarker && (common || idMarker == "" || u.id <= idMarker))) {
			continue
		}
		if n == limit {
			res.IsTruncated, res.NextKeyMarker, res.NextUploadIDMarker = true, lastName, lastID
			break
		}
		if common {
			res.CommonPrefixes = append(res.CommonPrefixes, gofakes3.CommonPrefix{Prefix: name})
			lastName, lastPrefix, lastID = name, name, ""
		} else {
			res.Uploads = append(res.Uploads, gofakes3.ListMultipartUploadItem{
				Key: u.key, UploadID: u.id, StorageClass: gofakes3.StorageStandard, Initiated: gofakes3.NewContentTime(u.initiated),
			})
			lastName, lastID = name, u.id
		}
		n++
	}
	return res, nil
}

// AbortMultipartUpload discards an upload and its parts.
func (b *backend) AbortMultipartUpload(bucket, key string, id gofakes3.UploadID) error {
	b.uploads.mu.Lock()
	u, err := b.lookupLocked(bucket, key, id)
	if err == nil {
		delete(b.uploads.m, id)
	}
	b.uploads.mu.Unlock()
	if err != nil {
		return err
	}
	return os.RemoveAll(u.dir)
}

// CompleteMultipartUpload makes the listed parts, in order, the object at
// bucket/key, with the metadata of the initiating request and the part sizes
// recorded under partSizesMeta. It returns S3's multipart ETag, the MD5 of
// the parts' MD5s followed by "-" and the part count. (HEAD and GET report
// the MD5 of the whole object instead: s3afero computes the ETag it stores.)
// If the object cannot be written the upload stays, as in S3, for another
// attempt.
func (b *backend) CompleteMultipartUpload(bucket, key string, id gofakes3.UploadID, in *gofakes3.CompleteMultipartUploadRequest) (gofakes3.VersionID, string, error) {
	u, parts, err := b.claim(bucket, key, id, in.Parts)
	if err != nil {
		return "", "", err
	}
	sizes := make([]int64, len(parts))
	paths := make([]string, len(parts))
	var total int64
	h := md5.New()
	for i, n := range parts {
		p := u.parts[n] // u is no longer shared: claim took it out
		sizes[i], paths[i] = p.size, u.partPath(n)
		total += p.size
		h.Write(p.md5[:])
	}
	meta := objectMeta(u.meta)
	meta[partSizesMeta] = formatPartSizes(sizes)
	r := &concatReader{paths: paths}
	err = b.replace(bucket, key, meta, r, total, nil)
	r.Close()
	if err != nil {
		b.uploads.mu.Lock()
		b.uploads.m[id] = u
		b.uploads.mu.Unlock()
		return "", "", err
	}
	os.RemoveAll(u.dir) // what remains goes with tmp on the next start
	return "", fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(parts)), nil
}

// claim checks that list names uploaded parts of the upload, in ascending
// order and with their ETags, and takes the upload out of the table so that
// no part can change or be added while the object is written. It returns
// the listed part numbers.
func (b *backend) claim(bucket, key string, id gofakes3.UploadID, list []gofakes3.CompletedPart) (*upload, []int, error) {
	b.uploads.mu.Lock()
	defer b.uploads.mu.Unlock()
	u, err := b.lookupLocked(bucket, key, id)
	if err != nil {
		return nil, nil, err
	}
	if len(list) == 0 || len(list) > gofakes3.MaxUploadPartNumber {
		return nil, nil, gofakes3.ErrMalformedXML
	}
	parts := make([]int, len(list))
	for i, c := range list {
		if i > 0 && c.PartNumber <= list[i-1].PartNumber {
			return nil, nil, gofakes3.ErrInvalidPartOrder
		}
		p, ok := u.parts[c.PartNumber]
		if !ok || strings.Trim(c.ETag, `"`) != strings.Trim(p.etag(), `"`) {
			return nil, nil, gofakes3.ErrorMessagef(gofakes3.ErrInvalidPart,
				"One or more of the specified parts could not be found: part %d was not uploaded or its ETag differs.", c.PartNumber)
		}
		parts[i] = c.PartNumber
	}
	delete(b.uploads.m, id)
	return u, parts, nil
}

// formatPartSizes encodes part sizes for partSizesMeta: decimal, in part
// order, separated by commas ("5242880,5242880,1024").
func formatPartSizes(sizes []int64) string {
	s := make([]string, len(sizes))
	for i, n := range sizes {
		s[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(s, ",")
}

// parsePartSizes decodes a partSizesMeta value of an object of size bytes.
// It reports false unless v lists 1 to 10000 positive sizes that add up to
// size: a record that does not describe the object on disk is ignored.
func parsePartSizes(v string, size int64) ([]int64, bool) {
	if v == "" || strings.Count(v, ",") >= gofakes3.MaxUploadPartNumber {
		return nil, false
	}
	var sizes []int64
	var sum int64
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n <= 0 || n > size-sum {
			return nil, false
		}
		sizes, sum = append(sizes, n), sum+n
	}
	return sizes, sum == size
}

// concatReader reads the files at paths one after the other, opening each
// only when it is reached, so an upload of 10000 parts never holds 10000
// open files.
type concatReader struct {
	paths []string
	cur   *os.File
}

func (c *concatReader) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if len(c.paths) == 0 {
				return 0, io.EOF
			}
			f, err := os.Open(c.paths[0])
			if err != nil {
				return 0, err
			}
			c.cur, c.paths = f, c.paths[1:]
		}
		n, err := c.cur.Read(p)
		if err == io.EOF {
			c.cur.Close()
			c.cur, err = nil, nil
			if n == 0 {
				continue
			}
		}
		return n, err
	}
}

func (c *concatReader) Close() error {
	if c.cur == nil {
		return nil
	}
	err := c.cur.Close()
	c.cur = nil
	return err
}

package devstore

import (
	"crypto/md5"
	"encoding/hex"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
)

func TestListPage(t *testing.T) {
	keys := []string{"c", "a/c", "b/x", "a", "a/b", "x-1-a", "x-1-b", "x-2"} // unsorted on purpose
	type page = gofakes3.ListBucketPage
	tests := []struct {
		name          string
		prefix, delim string
		page          page
		wantKeys      []string
		wantPrefixes  []string
		wantTruncated bool
		wantNext      string
	}{
		{name: "everything sorted", wantKeys: []string{"a", "a/b", "a/c", "b/x", "c", "x-1-a", "x-1-b", "x-2"}},
		{name: "delimiter", delim: "/", wantKeys: []string{"a", "c", "x-1-a", "x-1-b", "x-2"}, wantPrefixes: []string{"a/", "b/"}},
		{name: "prefix mid-name", prefix: "a", delim: "/", wantKeys: []string{"a"}, wantPrefixes: []string{"a/"}},
		{name: "prefix directory", prefix: "a/", delim: "/", wantKeys: []string{"a/b", "a/c"}},
		{name: "prefix without delimiter", prefix: "x-1", wantKeys: []string{"x-1-a", "x-1-b"}},
		{name: "other delimiter", prefix: "x-", delim: "-", wantKeys: []string{"x-2"}, wantPrefixes: []string{"x-1-"}},
		{name: "multi-byte delimiter", delim: "-1-", wantKeys: []string{"a", "a/b", "a/c", "b/x", "c", "x-2"}, wantPrefixes: []string{"x-1-"}},
		{name: "first page", delim: "/", page: page{MaxKeys: 2},
			wantKeys: []string{"a"}, wantPrefixes: []string{"a/"}, wantTruncated: true, wantNext: "a/"},
		{name: "page after a common prefix", delim: "/", page: page{MaxKeys: 2, HasMarker: true, Marker: "a/"},
			wantPrefixes: []string{"b/"}, wantKeys: []string{"c"}, wantTruncated: true, wantNext: "c"},
		{name: "last page exactly full", delim: "/", page: page{MaxKeys: 3, HasMarker: true, Marker: "c"},
			wantKeys: []string{"x-1-a", "x-1-b", "x-2"}},
		{name: "page ending in a group", prefix: "x-", delim: "-", page: page{MaxKeys: 1},
			wantPrefixes: []string{"x-1-"}, wantTruncated: true, wantNext: "x-1-"},
		{name: "marker past the end", page: page{MaxKeys: 10, HasMarker: true, Marker: "zzz"}},
		{name: "max keys zero is ignored", prefix: "a/", page: page{MaxKeys: 0}, wantKeys: []string{"a/b", "a/c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var contents []*gofakes3.Content
			for _, k := range keys {
				contents = append(contents, &gofakes3.Content{Key: k})
			}
			out := listPage(contents, tt.prefix, tt.delim, tt.page)
			var gotKeys, gotPrefixes []string
			for _, c := range out.Contents {
				gotKeys = append(gotKeys, c.Key)
			}
			for _, p := range out.CommonPrefixes {
				gotPrefixes = append(gotPrefixes, p.Prefix)
			}
			if !slices.Equal(gotKeys, tt.wantKeys) || !slices.Equal(gotPrefixes, tt.wantPrefixes) ||
				out.IsTruncated != tt.wantTruncated || out.NextMarker != tt.wantNext {
				t.Errorf("listPage(prefix %q, delim %q, %+v) = keys %q, prefixes %q, truncated %v, next %q;\nwant keys %q, prefixes %q, truncated %v, next %q",
					tt.prefix, tt.delim, tt.page, gotKeys, gotPrefixes, out.IsTruncated, out.NextMarker,
					tt.wantKeys, tt.wantPrefixes, tt.wantTruncated, tt.wantNext)
			}
		})
	}
}

func TestCopyMeta(t *testing.T) {
	src := map[string]string{"X-Amz-Meta-Src": "s", "Content-Type": "text/src", "Last-Modified": "old", "X-Amz-Date": "leaked"}
	tests := []struct {
		name string
		req  map[string]string
		want map[string]string
	}{
		{"copy takes the source's",
			map[string]string{"X-Amz-Meta-Req": "r", "X-Amz-Meta-Src": "s", "Last-Modified": "new", requestMetaHeader: "X-Amz-Meta-Req"},
			map[string]string{"X-Amz-Meta-Src": "s", "Content-Type": "text/src", "Last-Modified": "new"}},
		{"replace takes only what was sent",
			map[string]string{directiveHeader: "REPLACE", requestMetaHeader: "Content-Type,X-Amz-Meta-New",
				"X-Amz-Meta-New": "n", "X-Amz-Meta-Src": "s", "Content-Type": "text/new", "Last-Modified": "new"},
			map[string]string{"X-Amz-Meta-New": "n", "Content-Type": "text/new", "Last-Modified": "new"}},
		{"replace is case-insensitive",
			map[string]string{directiveHeader: "replace", requestMetaHeader: "", "X-Amz-Meta-Src": "s", "Last-Modified": "new"},
			map[string]string{"Last-Modified": "new"}},
		{"replace without the list keeps the merge",
			map[string]string{directiveHeader: "REPLACE", "X-Amz-Meta-Src": "s", "X-Amz-Date": "d", "Last-Modified": "new"},
			map[string]string{"X-Amz-Meta-Src": "s", "Last-Modified": "new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := copyMeta(tt.req, src); !maps.Equal(got, tt.want) {
				t.Errorf("copyMeta(%v) = %v, want %v", tt.req, got, tt.want)
			}
		})
	}
}

func TestStorableKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"a", true}, {"a/b/c.txt", true}, {"..a", true}, {"a.", true}, {"sp ace", true},
		{"", false}, {"/a", false}, {"a/", false}, {"a//b", false},
		{".", false}, {"..", false}, {"a/./b", false}, {"a/../b", false}, {"../other-bucket/x", false},
		{strings.Repeat("k", maxKeyLen), true}, {strings.Repeat("k/", maxKeyLen/2) + "k", false},
	}
	for _, tt := range tests {
		if got := storableKey(tt.key); got != tt.want {
			t.Errorf("storableKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestPutObject(t *testing.T) {
	b, err := newBackend(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket("bucket"); err != nil {
		t.Fatal(err)
	}
	putString := func(key, body string, size int64, meta map[string]string, cond *gofakes3.PutConditions) error {
		_, err := b.PutObject("bucket", key, meta, strings.NewReader(body), size, cond)
		return err
	}
	if err := putString("k", "original", 8, map[string]string{"X-Amz-Meta-V": "1"}, nil); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte("original"))
	etag, star, wrong := `"`+hex.EncodeToString(sum[:])+`"`, "*", `"0123"`
	big := map[string]string{"X-Amz-Meta-Big": strings.Repeat("x", maxUserMeta)}

	tests := []struct {
		name     string
		key      string
		body     string
		size     int64
		meta     map[string]string
		cond     *gofakes3.PutConditions
		wantCode gofakes3.ErrorCode // "" for success
	}{
		{"short body", "k", "new", 8, nil, nil, gofakes3.ErrIncompleteBody},
		{"metadata too large", "k", "new", 3, big, nil, gofakes3.ErrMetadataTooLarge},
		{"if-none-match on existing", "k", "new", 3, nil, &gofakes3.PutConditions{IfNoneMatch: &star}, gofakes3.ErrPreconditionFailed},
		{"if-match wrong etag", "k", "new", 3, nil, &gofakes3.PutConditions{IfMatch: &wrong}, gofakes3.ErrPreconditionFailed},
		{"if-match on missing", "missing", "new", 3, nil, &gofakes3.PutConditions{IfMatch: &etag}, gofakes3.ErrPreconditionFailed},
		{"unstorable key", "a//b", "new", 3, nil, nil, gofakes3.ErrInvalidArgument},
		{"if-none-match on missing", "fresh", "new", 3, nil, &gofakes3.PutConditions{IfNoneMatch: &star}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := putString(tt.key, tt.body, tt.size, tt.meta, tt.cond)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("PutObject(%q) = %v, want nil", tt.key, err)
				}
				return
			}
			if !gofakes3.HasErrorCode(err, tt.wantCode) {
				t.Fatalf("PutObject(%q) = %v, want %s", tt.key, err, tt.wantCode)
			}
			// A refused write leaves the old object whole.
			obj, err := b.GetObject("bucket", "k", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Contents.Close()
			if data, _ := io.ReadAll(obj.Contents); string(data) != "original" || obj.Metadata["X-Amz-Meta-V"] != "1" {
				t.Errorf("after refused PutObject: object = %q, metadata %v, want original, V=1", data, obj.Metadata)
			}
		})
	}

	// A matching If-Match replaces the object and its metadata.
	if err := putString("k", "replaced", 8, map[string]string{"X-Amz-Meta-W": "2"}, &gofakes3.PutConditions{IfMatch: &etag}); err != nil {
		t.Fatalf("PutObject(If-Match: current etag) = %v", err)
	}
	obj, err := b.HeadObject("bucket", "k")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"X-Amz-Meta-W": "2"}; !maps.Equal(obj.Metadata, want) {
		t.Errorf("metadata after replace = %v, want %v", obj.Metadata, want)
	}
}

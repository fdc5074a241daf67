package devstore

import (
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
)

// newTestBackend returns a backend on a fresh directory holding bucket "b".
func newTestBackend(t *testing.T) (*backend, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := newBackend(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	return b, dir
}

func TestCompleteMultipartUpload(t *testing.T) {
	b, _ := newTestBackend(t)
	id, err := b.CreateMultipartUpload("b", "k", map[string]string{"X-Amz-Meta-A": "1", "X-Amz-Date": "request"})
	if err != nil {
		t.Fatal(err)
	}
	var etags []string
	for i, p := range []string{"aaaa", "bbbb", "cc"} {
		etag, err := b.UploadPart("b", "k", id, i+1, int64(len(p)), strings.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		etags = append(etags, etag)
	}
	part := func(n int) gofakes3.CompletedPart { return gofakes3.CompletedPart{PartNumber: n, ETag: etags[n-1]} }

	tests := []struct {
		name     string
		key      string
		id       gofakes3.UploadID
		parts    []gofakes3.CompletedPart
		wantCode gofakes3.ErrorCode
	}{
		{"no parts", "k", id, nil, gofakes3.ErrMalformedXML},
		{"descending", "k", id, []gofakes3.CompletedPart{part(2), part(1)}, gofakes3.ErrInvalidPartOrder},
		{"repeated part", "k", id, []gofakes3.CompletedPart{part(1), part(1)}, gofakes3.ErrInvalidPartOrder},
		{"part never uploaded", "k", id, []gofakes3.CompletedPart{part(1), {PartNumber: 4, ETag: etags[0]}}, gofakes3.ErrInvalidPart},
		{"wrong ETag", "k", id, []gofakes3.CompletedPart{part(1), {PartNumber: 2, ETag: etags[0]}}, gofakes3.ErrInvalidPart},
		{"unknown upload", "k", "nope", []gofakes3.CompletedPart{part(1)}, gofakes3.ErrNoSuchUpload},
		{"upload of another key", "other", id, []gofakes3.CompletedPart{part(1)}, gofakes3.ErrNoSuchUpload},
		{"a subset, unquoted ETags", "k", id, []gofakes3.CompletedPart{
			{PartNumber: 1, ETag: strings.Trim(etags[0], `"`)}, {PartNumber: 3, ETag: strings.Trim(etags[2], `"`)}}, ""},
		{"completed already", "k", id, []gofakes3.CompletedPart{part(1)}, gofakes3.ErrNoSuchUpload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, etag, err := b.CompleteMultipartUpload("b", tt.key, tt.id, &gofakes3.CompleteMultipartUploadRequest{Parts: tt.parts})
			if tt.wantCode != "" {
				if !gofakes3.HasErrorCode(err, tt.wantCode) {
					t.Fatalf("CompleteMultipartUpload(%v) = %v, want %s", tt.parts, err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("CompleteMultipartUpload(%v) = %v", tt.parts, err)
			}
			if !strings.HasSuffix(etag, `-2"`) {
				t.Errorf("ETag = %s, want a multipart ETag of 2 parts", etag)
			}
			obj, err := b.headStored("b", "k")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"X-Amz-Meta-A": "1", partSizesMeta: "4,2"}
			if obj.Size != 6 || !maps.Equal(obj.Metadata, want) {
				t.Errorf("object = size %d, metadata %v, want 6, %v", obj.Size, obj.Metadata, want)
			}
		})
	}
	if entries, _ := os.ReadDir(b.uploads.dir); len(entries) != 0 {
		t.Errorf("upload directories left after completion: %v", entries)
	}
}

func TestUploadPart(t *testing.T) {
	b, _ := newTestBackend(t)
	id, err := b.CreateMultipartUpload("b", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UploadPart("b", "k", id, 1, 4, strings.NewReader("good")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		key      string
		id       gofakes3.UploadID
		n        int
		body     string
		size     int64
		wantCode gofakes3.ErrorCode
	}{
		{"short body", "k", id, 1, "ba", 4, gofakes3.ErrIncompleteBody},
		{"part 0", "k", id, 0, "x", 1, gofakes3.ErrInvalidPart},
		{"part 10001", "k", id, 10001, "x", 1, gofakes3.ErrInvalidPart},
		{"unknown upload", "k", "nope", 1, "x", 1, gofakes3.ErrNoSuchUpload},
		{"another key", "j", id, 1, "x", 1, gofakes3.ErrNoSuchUpload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.UploadPart("b", tt.key, tt.id, tt.n, tt.size, strings.NewReader(tt.body))
			if !gofakes3.HasErrorCode(err, tt.wantCode) {
				t.Errorf("UploadPart(%d, %q) = %v, want %s", tt.n, tt.body, err, tt.wantCode)
			}
			// A refused part leaves part 1 whole.
			if data, err := os.ReadFile(filepath.Join(b.uploads.dir, string(id), "1")); err != nil || string(data) != "good" {
				t.Errorf("part 1 after refused UploadPart = %q, %v, want good", data, err)
			}
		})
	}

	if err := b.AbortMultipartUpload("b", "k", id); err != nil {
		t.Fatalf("AbortMultipartUpload = %v", err)
	}
	if _, err := os.Stat(filepath.Join(b.uploads.dir, string(id))); !os.IsNotExist(err) {
		t.Errorf("upload directory after abort: %v, want it removed", err)
	}
	if _, err := b.UploadPart("b", "k", id, 2, 1, strings.NewReader("x")); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchUpload) {
		t.Errorf("UploadPart after abort = %v, want NoSuchUpload", err)
	}
	if err := b.AbortMultipartUpload("b", "k", id); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchUpload) {
		t.Errorf("second AbortMultipartUpload = %v, want NoSuchUpload", err)
	}
}

func TestCreateMultipartUpload(t *testing.T) {
	b, _ := newTestBackend(t)
	tests := []struct {
		name     string
		key      string
		meta     map[string]string
		wantCode gofakes3.ErrorCode
	}{
		{"unstorable key", "a//b", nil, gofakes3.ErrInvalidArgument},
		{"metadata too large", "k", map[string]string{"X-Amz-Meta-Big": strings.Repeat("x", maxUserMeta)}, gofakes3.ErrMetadataTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := b.CreateMultipartUpload("b", tt.key, tt.meta); !gofakes3.HasErrorCode(err, tt.wantCode) {
				t.Errorf("CreateMultipartUpload(%q) = %v, want %s", tt.key, err, tt.wantCode)
			}
		})
	}
}

func TestListParts(t *testing.T) {
	b, _ := newTestBackend(t)
	id, err := b.CreateMultipartUpload("b", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{3, 1, 5, 2} {
		if _, err := b.UploadPart("b", "k", id, n, 1, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name          string
		marker        int
		limit         int64
		want          []int
		wantTruncated bool
		wantNext      int
	}{
		{"all", 0, 0, []int{1, 2, 3, 5}, false, 5},
		{"first page", 0, 2, []int{1, 2}, true, 2},
		{"after the marker", 2, 2, []int{3, 5}, false, 5},
		{"marker on a gap", 4, 10, []int{5}, false, 5},
		{"marker past the end", 5, 10, nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := b.ListParts("b", "k", id, tt.marker, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, p := range res.Parts {
				got = append(got, p.PartNumber)
				if p.Size != 1 || p.ETag != etagOf("x") {
					t.Errorf("part %d = size %d, ETag %s, want 1, %s", p.PartNumber, p.Size, p.ETag, etagOf("x"))
				}
			}
			if !slices.Equal(got, tt.want) || res.IsTruncated != tt.wantTruncated || res.NextPartNumberMarker != tt.wantNext {
				t.Errorf("ListParts(marker %d, limit %d) = %v, truncated %v, next %d; want %v, %v, %d",
					tt.marker, tt.limit, got, res.IsTruncated, res.NextPartNumberMarker, tt.want, tt.wantTruncated, tt.wantNext)
			}
		})
	}
}

func TestListMultipartUploads(t *testing.T) {
	b, _ := newTestBackend(t)
	ids := map[string][]gofakes3.UploadID{}
	for _, key := range []string{"c", "a", "dir/x", "a", "dir/y", "b"} { // "a" twice, out of order
		id, err := b.CreateMultipartUpload("b", key, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[key] = append(ids[key], id)
	}
	a1, a2 := string(ids["a"][0]), string(ids["a"][1])
	type marker = gofakes3.UploadListMarker
	tests := []struct {
		name   string
		prefix gofakes3.Prefix
		marker *marker
		limit  int64
		want   []string // key/upload ID, or a common prefix
		next   *marker  // nil: not truncated
	}{
		{name: "all, by key then start",
			want: []string{"a/" + a1, "a/" + a2, "b/" + string(ids["b"][0]), "c/" + string(ids["c"][0]),
				"dir/x/" + string(ids["dir/x"][0]), "dir/y/" + string(ids["dir/y"][0])}},
		{name: "delimiter", prefix: gofakes3.Prefix{HasDelimiter: true, Delimiter: "/"}, limit: 4,
			want: []string{"a/" + a1, "a/" + a2, "b/" + string(ids["b"][0]), "c/" + string(ids["c"][0])},
			next: &marker{Object: "c", UploadID: ids["c"][0]}},
		{name: "common prefix after a marker", prefix: gofakes3.Prefix{HasDelimiter: true, Delimiter: "/"},
			marker: &marker{Object: "c", UploadID: ids["c"][0]}, want: []string{"dir/"}},
		{name: "page ending in a common prefix", prefix: gofakes3.Prefix{HasDelimiter: true, Delimiter: "/"},
			marker: &marker{Object: "b"}, limit: 2, want: []string{"c/" + string(ids["c"][0]), "dir/"}},
		{name: "prefix", prefix: gofakes3.Prefix{HasPrefix: true, Prefix: "dir/"},
			want: []string{"dir/x/" + string(ids["dir/x"][0]), "dir/y/" + string(ids["dir/y"][0])}},
		{name: "between two uploads of a key", marker: &marker{Object: "a", UploadID: ids["a"][0]}, limit: 1,
			want: []string{"a/" + a2}, next: &marker{Object: "a", UploadID: ids["a"][1]}},
		{name: "key marker alone skips the key", marker: &marker{Object: "a"}, limit: 1,
			want: []string{"b/" + string(ids["b"][0])}, next: &marker{Object: "b", UploadID: ids["b"][0]}},
		{name: "marker after a common prefix", prefix: gofakes3.Prefix{HasDelimiter: true, Delimiter: "/"},
			marker: &marker{Object: "dir/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := b.ListMultipartUploads("b", tt.marker, tt.prefix, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range res.Uploads {
				got = append(got, u.Key+"/"+string(u.UploadID))
			}
			for _, p := range res.CommonPrefixes {
				got = append(got, p.Prefix)
			}
			var next *marker
			if res.IsTruncated {
				next = &marker{Object: res.NextKeyMarker, UploadID: res.NextUploadIDMarker}
			}
			if !slices.Equal(got, tt.want) || (next == nil) != (tt.next == nil) || (next != nil && *next != *tt.next) {
				t.Errorf("ListMultipartUploads(%+v, %+v, %d) = %q, next %+v; want %q, next %+v", tt.prefix, tt.marker, tt.limit, got, next, tt.want, tt.next)
			}
		})
	}

	// Paging with the returned markers lists every upload once.
	var all []string
	var m *marker
	for range 10 {
		res, err := b.ListMultipartUploads("b", m, gofakes3.Prefix{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range res.Uploads {
			all = append(all, u.Key)
		}
		if !res.IsTruncated {
			break
		}
		m = &marker{Object: res.NextKeyMarker, UploadID: res.NextUploadIDMarker}
	}
	if want := []string{"a", "a", "b", "c", "dir/x", "dir/y"}; !slices.Equal(all, want) {
		t.Errorf("pages of one = %q, want %q", all, want)
	}
}

// TestPartSizesRecord follows the part-size record of an object through
// the writes that replace or remove it.
func TestPartSizesRecord(t *testing.T) {
	b, dir := newTestBackend(t)
	steps := []struct {
		name  string
		key   string
		write func(t *testing.T) error
		want  string // the stored record; "" for none
	}{
		{"completed upload", "k", func(t *testing.T) error { completeParts(t, b, "k", nil, "aaaa", "bb"); return nil }, "4,2"},
		{"copy source keeps it", "k", func(t *testing.T) error {
			_, err := b.CopyObject("b", "k", "b", "copy", map[string]string{directiveHeader: "COPY"})
			return err
		}, "4,2"},
		{"copy has none", "copy", func(*testing.T) error { return nil }, ""},
		{"metadata rewrite in place drops it", "k", func(t *testing.T) error {
			_, err := b.CopyObject("b", "k", "b", "k", map[string]string{directiveHeader: "REPLACE"})
			return err
		}, ""},
		{"upload again", "k", func(t *testing.T) error { completeParts(t, b, "k", nil, "a", "b", "c"); return nil }, "1,1,1"},
		{"PutObject replaces it", "k", func(*testing.T) error {
			_, err := b.PutObject("b", "k", map[string]string{partSizesMeta: "9"}, strings.NewReader("new"), 3, nil)
			return err
		}, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.write(t); err != nil {
				t.Fatal(err)
			}
			stored, err := b.headStored("b", st.key)
			if err != nil {
				t.Fatal(err)
			}
			if got := stored.Metadata[partSizesMeta]; got != st.want {
				t.Errorf("stored record of %s = %q, want %q", st.key, got, st.want)
			}
			head, err := b.HeadObject("b", st.key)
			if err != nil {
				t.Fatal(err)
			}
			get, err := b.GetObject("b", st.key, nil)
			if err != nil {
				t.Fatal(err)
			}
			get.Contents.Close()
			for _, m := range []map[string]string{head.Metadata, get.Metadata} {
				for k := range m {
					if strings.HasPrefix(k, internalPrefix) {
						t.Errorf("metadata handed to gofakes3 has internal entry %s", k)
					}
				}
			}
		})
	}

	completeParts(t, b, "k", nil, "aaaa", "bb")
	for _, key := range []string{"k", "copy"} {
		if _, err := b.DeleteObject("b", key); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if strings.Contains(string(data), partSizesMeta) {
			t.Errorf("%s still holds a part-size record after every object was deleted", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzParsePartSizes(f *testing.F) {
	f.Add("5242880,5242880,1024", int64(10486784))
	f.Add("1", int64(1))
	f.Add("9223372036854775807,1", int64(-1))
	f.Fuzz(func(t *testing.T, v string, size int64) {
		sizes, ok := parsePartSizes(v, size)
		if !ok {
			return
		}
		var sum int64
		for _, n := range sizes {
			sum += n
		}
		if sum != size || len(sizes) > gofakes3.MaxUploadPartNumber {
			t.Fatalf("parsePartSizes(%q, %d) = %d sizes adding up to %d", v, size, len(sizes), sum)
		}
		for i := 1; i <= len(sizes); i++ {
			if start, n, ok := partRange(sizes, i); !ok || n <= 0 || start < 0 || start+n > size {
				t.Fatalf("partRange(%v, %d) = %d, %d, %v: outside the object of %d bytes", sizes, i, start, n, ok, size)
			}
		}
	})
}

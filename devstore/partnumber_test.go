package devstore_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/sseproxy/sseproxy/devstore"
)

const mib = 1 << 20

// uploadParts writes data to key with a multipart upload of parts of the
// given sizes, through minio.Core as the proxy does.
func uploadParts(t *testing.T, c *minio.Client, key string, data []byte, sizes ...int) {
	t.Helper()
	ctx, core := t.Context(), minio.Core{Client: c}
	id, err := core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{UserMetadata: map[string]string{"Layout": "parts"}})
	if err != nil {
		t.Fatalf("NewMultipartUpload(%q): %v", key, err)
	}
	var parts []minio.CompletePart
	off := 0
	for i, n := range sizes {
		p, err := core.PutObjectPart(ctx, bucket, key, id, i+1, bytes.NewReader(data[off:off+n]), int64(n), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatalf("PutObjectPart(%q, %d): %v", key, i+1, err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: i + 1, ETag: p.ETag})
		off += n
	}
	if off != len(data) {
		t.Fatalf("uploadParts(%q): part sizes add up to %d, data has %d bytes", key, off, len(data))
	}
	if _, err := core.CompleteMultipartUpload(ctx, bucket, key, id, parts, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("CompleteMultipartUpload(%q): %v", key, err)
	}
}

// TestPartNumberReads writes, rewrites and deletes objects and after each
// step reads every part with StatObject and GetObject ?partNumber, as the
// proxy resolves the layout of an encrypted multipart object.
func TestPartNumberReads(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	c := client(t, s)
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	outer := t
	restart := func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		s2, err := devstore.Start(devstore.Options{Dir: dir})
		if err != nil {
			t.Fatalf("Start(%q) after Close: %v", dir, err)
		}
		outer.Cleanup(func() { s2.Close() }) // the store outlives this step
		s, c = s2, client(t, s2)
	}
	data := randomBytes(10*mib + 1024)
	steps := []struct {
		name    string
		key     string
		write   func(t *testing.T)
		content []byte // the object's bytes after write; nil if it must not exist
		sizes   []int  // the part sizes reads report
		parts   int    // x-amz-mp-parts-count; 0 if absent
	}{
		{"multipart upload of 3 parts", "obj", func(t *testing.T) { uploadParts(t, c, "obj", data, 5*mib, 5*mib, 1024) },
			data, []int{5 * mib, 5 * mib, 1024}, 3},
		{"after a restart", "obj", restart, data, []int{5 * mib, 5 * mib, 1024}, 3},
		{"overwritten by PutObject", "obj", func(t *testing.T) { put(t, c, "obj", data[:3000], minio.PutObjectOptions{}) },
			data[:3000], []int{3000}, 0},
		{"overwritten by a multipart upload", "obj", func(t *testing.T) { uploadParts(t, c, "obj", data[:5*mib+7], 5*mib, 7) },
			data[:5*mib+7], []int{5 * mib, 7}, 2},
		{"one-part multipart upload", "one", func(t *testing.T) { uploadParts(t, c, "one", data[:99], 99) },
			data[:99], []int{99}, 1},
		{"overwritten by CopyObject", "obj", func(t *testing.T) {
			if _, err := c.CopyObject(t.Context(), minio.CopyDestOptions{Bucket: bucket, Object: "obj"},
				minio.CopySrcOptions{Bucket: bucket, Object: "one"}); err != nil {
				t.Fatalf("CopyObject: %v", err)
			}
		}, data[:99], []int{99}, 0},
		{"copy source keeps its parts", "one", func(*testing.T) {}, data[:99], []int{99}, 1},
		{"multipart upload again", "obj", func(t *testing.T) { uploadParts(t, c, "obj", data, 5*mib, 5*mib, 1024) },
			data, []int{5 * mib, 5 * mib, 1024}, 3},
		{"deleted", "obj", func(t *testing.T) {
			if err := c.RemoveObject(t.Context(), bucket, "obj", minio.RemoveObjectOptions{}); err != nil {
				t.Fatalf("RemoveObject: %v", err)
			}
		}, nil, nil, 0},
		{"recreated by PutObject", "obj", func(t *testing.T) { put(t, c, "obj", data[:10], minio.PutObjectOptions{}) },
			data[:10], []int{10}, 0},
		{"empty object", "empty", func(t *testing.T) { put(t, c, "empty", nil, minio.PutObjectOptions{}) },
			[]byte{}, []int{0}, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.write(t)
			if st.content == nil {
				opts := minio.StatObjectOptions{PartNumber: 1}
				if _, err := c.StatObject(t.Context(), bucket, st.key, opts); errCode(err) != "NoSuchKey" {
					t.Errorf("StatObject(%q, part 1) error code %q, want NoSuchKey (%v)", st.key, errCode(err), err)
				}
				return
			}
			checkParts(t, c, st.key, st.content, st.sizes, st.parts)
		})
	}
}

// checkParts reads each part of key with HEAD and GET ?partNumber, then the
// part after the last.
func checkParts(t *testing.T, c *minio.Client, key string, content []byte, sizes []int, parts int) {
	t.Helper()
	ctx, core := t.Context(), minio.Core{Client: c}
	wantParts := ""
	if parts > 0 {
		wantParts = strconv.Itoa(parts)
	}
	off := 0
	for i, size := range sizes {
		n := i + 1
		var opts minio.GetObjectOptions
		opts.PartNumber = n
		info, err := c.StatObject(ctx, bucket, key, opts)
		if err != nil {
			t.Fatalf("StatObject(%q, part %d): %v", key, n, err)
		}
		if got := info.Headers.Get("X-Amz-Mp-Parts-Count"); info.Size != int64(size) || got != wantParts {
			t.Errorf("StatObject(%q, part %d) = size %d, parts count %q, want %d, %q", key, n, info.Size, got, size, wantParts)
		}
		body, _, hdr, err := core.GetObject(ctx, bucket, key, opts)
		if err != nil {
			t.Fatalf("GetObject(%q, part %d): %v", key, n, err)
		}
		got, err := io.ReadAll(body)
		body.Close()
		if err != nil {
			t.Fatalf("GetObject(%q, part %d) read: %v", key, n, err)
		}
		if want := content[off : off+size]; !bytes.Equal(got, want) {
			t.Errorf("GetObject(%q, part %d) = %d bytes, want bytes %d-%d of the object", key, n, len(got), off, off+size-1)
		}
		if got := hdr.Get("X-Amz-Mp-Parts-Count"); got != wantParts {
			t.Errorf("GetObject(%q, part %d) parts count %q, want %q", key, n, got, wantParts)
		}
		for name := range hdr {
			if strings.Contains(strings.ToLower(name), "devstore") {
				t.Errorf("GetObject(%q, part %d) returned internal header %s", key, n, name)
			}
		}
		off += size
	}

	past := len(sizes) + 1
	var opts minio.GetObjectOptions
	opts.PartNumber = past
	if _, err := c.StatObject(ctx, bucket, key, opts); minio.ToErrorResponse(err).StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("StatObject(%q, part %d) error %v, want status 416", key, past, err)
	}
	if _, _, _, err := core.GetObject(ctx, bucket, key, opts); errCode(err) != "InvalidPartNumber" {
		t.Errorf("GetObject(%q, part %d) error code %q, want InvalidPartNumber (%v)", key, past, errCode(err), err)
	}
}

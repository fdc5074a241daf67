package rewrap

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/sse"
)

// fakeStore is an in-memory Store for this package's unit tests: objects
// with metadata, a listing in key order (pages of 2, without metadata so
// Run must HEAD), and server-side copies that only rewrite metadata.
type fakeStore struct {
	mu       sync.Mutex
	objects  map[string]backend.ObjectInfo
	partSize int64
	copies   []string // "replace KEY" or "parts KEY"
	failKey  string
}

func (f *fakeStore) ListObjects(_ context.Context, _ string, q backend.ListQuery) (backend.ListPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for k := range f.objects {
		if strings.HasPrefix(k, q.Prefix) && k > q.StartAfter && k > q.ContinuationToken {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var p backend.ListPage
	for i, k := range names {
		if i == 2 {
			p.IsTruncated, p.NextContinuationToken = true, names[1]
			break
		}
		p.Objects = append(p.Objects, backend.ObjectInfo{Key: k, Size: f.objects[k].Size})
	}
	return p, nil
}

func (f *fakeStore) HeadObject(_ context.Context, _, key string) (backend.ObjectInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.objects[key], nil
}

func (f *fakeStore) PartInfo(context.Context, string, string, int, string) (int64, int, error) {
	return f.partSize, 0, nil
}

func (f *fakeStore) replace(kind, key string, o backend.PutOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if key == f.failKey {
		return errors.New("backend: copy failed")
	}
	info := f.objects[key]
	info.Metadata = o.Metadata
	f.objects[key] = info
	f.copies = append(f.copies, kind+" "+key)
	return nil
}

func (f *fakeStore) ReplaceMetadata(_ context.Context, _, key, _ string, o backend.PutOptions) error {
	return f.replace("replace", key, o)
}

func (f *fakeStore) CopyParts(_ context.Context, _, _, _, key string, _, _ int64, _ string, o backend.PutOptions) (backend.ObjectInfo, error) {
	return backend.ObjectInfo{}, f.replace("parts", key, o)
}

// store writes an object whose data key the keyring wrapped, as the proxy
// would, and returns its data key.
func store(t *testing.T, f *fakeStore, kr *keys.Keyring, key string, multipart bool) []byte {
	t.Helper()
	dk, err := kr.GenerateDataKey(context.Background(), "", sse.AssociatedData("b", key))
	if err != nil {
		t.Fatal(err)
	}
	rec := sse.Record{Algorithm: sse.AlgorithmAES256, KeyID: dk.KeyID, WrappedKey: dk.Ciphertext, Multipart: multipart}
	meta := rec.Metadata()
	meta["color"] = "blue"
	f.objects[key] = backend.ObjectInfo{Key: key, Size: 100, ETag: `"e"`, Metadata: meta}
	return dk.Plaintext
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	kr, err := keys.OpenKeyring(keys.KeyringOptions{Path: filepath.Join(t.TempDir(), "k.json"), CreateIfMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeStore{objects: map[string]backend.ObjectInfo{}, partSize: 65568}
	dks := map[string][]byte{"a": store(t, f, kr, "a", false), "b": store(t, f, kr, "b", true), "c": store(t, f, kr, "c", false)}
	f.objects["plain"] = backend.ObjectInfo{Key: "plain", Size: 5, Metadata: map[string]string{}}
	if _, err := kr.Rotate("default"); err != nil {
		t.Fatal(err)
	}
	dks["new"] = store(t, f, kr, "new", false) // already under version 2

	dry, err := Run(ctx, Options{Store: f, KMS: kr, Versions: kr, Bucket: "b", DryRun: true})
	if err != nil || dry.Rewrapped != 3 || dry.UpToDate != 1 || dry.Plaintext != 1 || len(f.copies) != 0 {
		t.Fatalf("dry run = %+v, %v, copies %v; want 3 to re-wrap, 1 up to date, 1 plaintext, nothing written", dry, err, f.copies)
	}
	f.failKey = "c"
	sum, err := Run(ctx, Options{Store: f, KMS: kr, Versions: kr, Bucket: "b", Workers: 2})
	if err != nil || sum.Rewrapped != 2 || sum.Failed != 1 || len(sum.Errors) != 1 || sum.LastKey != "plain" {
		t.Fatalf("Run = %+v, %v; want 2 re-wrapped, 1 failed (c), last key plain", sum, err)
	}
	sort.Strings(f.copies)
	if strings.Join(f.copies, ",") != "parts b,replace a" {
		t.Errorf("copies = %v; want a metadata copy of a and a part copy of multipart b", f.copies)
	}
	f.failKey = ""
	again, err := Run(ctx, Options{Store: f, KMS: kr, Versions: kr, Bucket: "b", StartAfter: "b"})
	if err != nil || again.Rewrapped != 1 || again.UpToDate != 1 {
		t.Errorf("resumed run = %+v, %v; want c re-wrapped and new up to date", again, err)
	}
	for key, want := range dks {
		info := f.objects[key]
		rec, ok, err := sse.ParseRecord(info.Metadata)
		if err != nil || !ok {
			t.Fatalf("%s: record %v, %v", key, ok, err)
		}
		if v, _ := kr.WrappedVersion(rec.WrappedKey); v != "2" {
			t.Errorf("%s wrapped by version %s, want 2", key, v)
		}
		got, err := kr.Decrypt(ctx, rec.KeyID, rec.WrappedKey, sse.AssociatedData("b", key))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: the re-wrapped key is not the object's data key (%v)", key, err)
		}
		if info.Metadata["color"] != "blue" {
			t.Errorf("%s lost its user metadata: %v", key, info.Metadata)
		}
	}
	rows, err := Usage(ctx, f, kr, "b", "")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.KeyID+"/"+r.Version] = r.Objects
	}
	if counts["default/2"] != 4 || counts["/"] != 1 {
		t.Errorf("Usage = %+v; want 4 objects under default v2 and 1 plaintext", rows)
	}
}

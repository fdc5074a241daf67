// Package rewrap re-wraps the data keys of stored objects under the current
// version of their CMK, or under another CMK, and reports which CMK versions
// a bucket's objects use. Only metadata changes: the store copies the bytes
// server-side, so rotation never moves or re-encrypts object data.
package rewrap

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/sse"
)

// Store is what rewrap needs of the backend; *backend.Client is one.
type Store interface {
	ListObjects(ctx context.Context, bucket string, q backend.ListQuery) (backend.ListPage, error)
	HeadObject(ctx context.Context, bucket, key string) (backend.ObjectInfo, error)
	PartInfo(ctx context.Context, bucket, key string, n int, etag string) (int64, int, error)
	ReplaceMetadata(ctx context.Context, bucket, key, etag string, o backend.PutOptions) error
	CopyParts(ctx context.Context, srcBucket, srcKey, bucket, key string, size, partSize int64, etag string, o backend.PutOptions) (backend.ObjectInfo, error)
}

var _ Store = (*backend.Client)(nil)

// Options configures Run. Store, KMS and Bucket are required.
type Options struct {
	Store Store
	KMS   keys.Rewrapper
	// Versions, when the KMS names key versions (keys.Versioner), lets Run
	// skip objects already under the current version; without it every
	// object is re-wrapped.
	Versions keys.Versioner
	Bucket   string
	Prefix   string
	// StartAfter resumes an interrupted run after this key (Run reports the
	// last key it finished); re-running from the start is also safe, since
	// objects already under the target version are skipped.
	StartAfter string
	// ToKey moves every object to this CMK; "" keeps each object's CMK and
	// moves it to that CMK's current version.
	ToKey string
	// DryRun reports what would change without changing anything.
	DryRun bool
	// Workers is how many objects are re-wrapped at once; default 4.
	Workers int
	// Progress, when set, is called after each object.
	Progress func(Progress)
}

// Progress is the state of a run after one more object.
type Progress struct {
	Scanned int
	LastKey string
}

// Summary is the outcome of a run.
type Summary struct {
	Scanned   int   // objects listed
	Plaintext int   // objects without an sseproxy record (left alone)
	UpToDate  int   // already under the target key and version
	Rewrapped int   // re-wrapped (or, in a dry run, that would be)
	Failed    int   // objects that could not be re-wrapped
	Bytes     int64 // stored bytes of the re-wrapped objects
	LastKey   string
	Errors    []error // the first failures, at most 20
}

// Run re-wraps every encrypted object of Bucket under Prefix.
func Run(ctx context.Context, o Options) (Summary, error) {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	var (
		sum Summary
		mu  sync.Mutex
	)
	record := func(f func(*Summary)) {
		mu.Lock()
		defer mu.Unlock()
		f(&sum)
	}
	err := each(ctx, o.Store, o.Bucket, o.Prefix, o.StartAfter, o.Workers, func(info backend.ObjectInfo) {
		outcome, err := rewrapOne(ctx, o, info)
		record(func(s *Summary) {
			s.Scanned++
			s.LastKey = max(s.LastKey, info.Key)
			switch {
			case err != nil:
				s.Failed++
				if len(s.Errors) < 20 {
					s.Errors = append(s.Errors, fmt.Errorf("%s: %w", info.Key, err))
				}
			case outcome == plaintext:
				s.Plaintext++
			case outcome == upToDate:
				s.UpToDate++
			default:
				s.Rewrapped++
				s.Bytes += info.Size
			}
			if o.Progress != nil {
				o.Progress(Progress{Scanned: s.Scanned, LastKey: s.LastKey})
			}
		})
	})
	return sum, err
}

type outcome int

const (
	plaintext outcome = iota
	upToDate
	rewrapped
)

// each calls f for every object under prefix, workers at a time, one
// listing page after another.
func each(ctx context.Context, store Store, bucket, prefix, startAfter string, workers int, f func(backend.ObjectInfo)) error {
	q := backend.ListQuery{Prefix: prefix, StartAfter: startAfter}
	for {
		page, err := store.ListObjects(ctx, bucket, q)
		if err != nil {
			return err
		}
		sem := make(chan struct{}, workers)
		var wg sync.WaitGroup
		for _, info := range page.Objects {
			if ctx.Err() != nil {
				break
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				f(info)
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		if !page.IsTruncated {
			return nil
		}
		q.StartAfter, q.ContinuationToken = "", page.NextContinuationToken
	}
}

// rewrapOne re-wraps one object's key if it is not under the target yet.
func rewrapOne(ctx context.Context, o Options, listed backend.ObjectInfo) (outcome, error) {
	// HEAD: a REPLACE copy must restate every header, and the listing may
	// not carry them (or any metadata, on stores other than MinIO).
	info, err := o.Store.HeadObject(ctx, o.Bucket, listed.Key)
	if err != nil {
		return 0, err
	}
	rec, ok, err := sse.ParseRecord(info.Metadata)
	if err != nil || !ok {
		return plaintext, err
	}
	to := o.ToKey
	if to == "" {
		to = rec.KeyID
	}
	if to == rec.KeyID && o.Versions != nil {
		cur, err := o.Versions.CurrentVersion(ctx, to)
		if err != nil {
			return 0, err
		}
		if v, ok := o.Versions.WrappedVersion(rec.WrappedKey); ok && v == cur {
			return upToDate, nil
		}
	}
	if o.DryRun {
		return rewrapped, nil
	}
	ad, err := rec.AssociatedData(o.Bucket, info.Key)
	if err != nil {
		return 0, err
	}
	wrapped, keyID, err := o.KMS.Rewrap(ctx, rec.KeyID, rec.WrappedKey, ad, to)
	if err != nil {
		return 0, err
	}
	rec.WrappedKey, rec.KeyID = wrapped, keyID
	if rec.Algorithm == sse.AlgorithmAES256 && o.ToKey != "" {
		rec.Algorithm = sse.AlgorithmKMS // a named CMK is SSE-KMS
	}
	meta := map[string]string{}
	for k, v := range info.Metadata {
		if !sse.IsInternal(k) {
			meta[k] = v
		}
	}
	for k, v := range rec.Metadata() {
		meta[k] = v
	}
	opts := backend.PutOptions{Header: info.Header, Metadata: meta}
	if !rec.Multipart {
		return rewrapped, o.Store.ReplaceMetadata(ctx, o.Bucket, info.Key, info.ETag, opts)
	}
	return rewrapped, copyParts(ctx, o.Store, o.Bucket, info, opts)
}

// copyParts rewrites a multipart object's metadata with a server-side
// multipart copy of its own parts, so the part boundaries the reader relies
// on (sse.Layout) stay where they are, at any object size.
func copyParts(ctx context.Context, store Store, bucket string, info backend.ObjectInfo, opts backend.PutOptions) error {
	partSize, _, err := store.PartInfo(ctx, bucket, info.Key, 1, info.ETag)
	if err != nil {
		return err
	}
	if partSize <= 0 {
		return errors.New("rewrap: multipart object without parts")
	}
	_, err = store.CopyParts(ctx, bucket, info.Key, bucket, info.Key, info.Size, partSize, info.ETag, opts)
	return err
}

// UsageRow counts the objects and stored bytes one CMK version wraps.
type UsageRow struct {
	KeyID   string // "" for plaintext objects
	Version string // "" when the KMS does not say
	Objects int
	Bytes   int64
}

// Usage reports how many objects and bytes of bucket/prefix each CMK id and
// version protect, from the listing's metadata where the store provides it
// (MinIO) and a HEAD per object otherwise.
func Usage(ctx context.Context, store Store, v keys.Versioner, bucket, prefix string) ([]UsageRow, error) {
	rows := map[[2]string]*UsageRow{}
	var mu sync.Mutex
	var firstErr error
	err := each(ctx, store, bucket, prefix, "", 8, func(info backend.ObjectInfo) {
		if !info.MetadataKnown {
			full, err := store.HeadObject(ctx, bucket, info.Key)
			if err != nil {
				mu.Lock()
				firstErr = errors.Join(firstErr, err)
				mu.Unlock()
				return
			}
			info.Metadata = full.Metadata
		}
		var id [2]string
		if rec, ok, err := sse.ParseRecord(info.Metadata); err == nil && ok {
			id[0] = rec.KeyID
			if v != nil {
				id[1], _ = v.WrappedVersion(rec.WrappedKey)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		r := rows[id]
		if r == nil {
			r = &UsageRow{KeyID: id[0], Version: id[1]}
			rows[id] = r
		}
		r.Objects++
		r.Bytes += info.Size
	})
	out := make([]UsageRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	return out, errors.Join(err, firstErr)
}

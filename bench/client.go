package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"golang.org/x/sync/errgroup"
)

// target is one endpoint the client drives, with the processes whose CPU it charges.
type target struct {
	name       string
	host       string // host:port
	core       minio.Core
	sse        encrypt.ServerSide // set for the native-SSE targets
	unsigned   bool               // PUT with UNSIGNED-PAYLOAD
	proxyPID   int                // the process between client and MinIO; 0 for none
	backendPID int                // the MinIO process
	admin      string             // the sseproxy targets' admin listener (/metrics)
}

// key is the object name of k for this target: targets that share a MinIO never share keys.
func (t *target) key(k string) string { return t.name + "/" + k }

// putOptions asks the native-SSE targets for SSE-S3; sseproxy encrypts by its default
// (AES256 or aws:kms), so its PUTs carry no encryption header.
func (t *target) putOptions() minio.PutObjectOptions {
	return minio.PutObjectOptions{ServerSideEncryption: t.sse, DisableContentSha256: t.unsigned}
}

// hostOf turns "http://host:port" into "host:port".
func hostOf(endpoint string) string { return strings.TrimPrefix(endpoint, "http://") }

// newCore returns the one client configuration every target is driven with: minio-go's
// defaults (over http that is the streaming SigV4 chunk signature on PUT), path-style, no
// retries, and a pool large enough for the concurrent workloads.
func newCore(host, accessKey, secretKey string) (minio.Core, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 256
	tr.DisableCompression = true
	c, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(accessKey, secretKey, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
		Transport:    tr,
		MaxRetries:   1,
	})
	return minio.Core{Client: c}, err
}

// seedOf gives every object name its own payload; the same name always gets the same bytes.
func seedOf(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// bufPool holds the client's 256 KiB read buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// put writes object name, size bytes of its payload, in one PUT.
func (t *target) put(ctx context.Context, name string, size int64) error {
	_, err := t.core.PutObject(ctx, benchBucket, t.key(name), newPayload(size, seedOf(name)), size, "", "", t.putOptions())
	return err
}

// get reads object name, or n bytes of it at off when n > 0, checks the length and returns
// the body to w (nil: discard).
func (t *target) get(ctx context.Context, name string, off, n int64, want int64, w io.Writer) error {
	var opts minio.GetObjectOptions
	if n > 0 {
		if err := opts.SetRange(off, off+n-1); err != nil {
			return err
		}
	}
	body, _, _, err := t.core.GetObject(ctx, benchBucket, t.key(name), opts)
	if err != nil {
		return err
	}
	defer body.Close()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	var got int64
	if w != nil {
		got, err = io.CopyBuffer(w, struct{ io.Reader }{body}, *bp)
	} else {
		got, err = drain(body, *bp)
	}
	if err == nil && got != want {
		err = fmt.Errorf("bench: GET %s returned %d bytes, want %d", name, got, want)
	}
	return err
}

// putMultipart uploads object name of size bytes in parts of partSize, workers at a time. Part
// i carries bytes [i*partSize, ...) of the object's payload.
func (t *target) putMultipart(ctx context.Context, name string, size, partSize int64, workers int) error {
	id, err := t.core.NewMultipartUpload(ctx, benchBucket, t.key(name), t.putOptions())
	if err != nil {
		return err
	}
	nparts := int((size + partSize - 1) / partSize)
	parts := make([]minio.CompletePart, nparts)
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range min(workers, nparts) {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= nparts {
					return nil
				}
				off := int64(i) * partSize
				n := min(partSize, size-off)
				p := newPayload(size, seedOf(name))
				p.seek(off)
				part, err := t.core.PutObjectPart(gctx, benchBucket, t.key(name), id, i+1, io.LimitReader(p, n), n,
					minio.PutObjectPartOptions{SSE: t.sse, DisableContentSha256: t.unsigned})
				if err != nil {
					return err
				}
				parts[i] = minio.CompletePart{PartNumber: i + 1, ETag: part.ETag}
			}
		})
	}
	if err := g.Wait(); err != nil {
		_ = t.core.AbortMultipartUpload(context.WithoutCancel(ctx), benchBucket, t.key(name), id)
		return err
	}
	_, err = t.core.CompleteMultipartUpload(ctx, benchBucket, t.key(name), id, parts, t.putOptions())
	return err
}

// parallel runs fn(i) for i in [0, n) on n goroutines and times the whole.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) (time.Duration, error) {
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	for i := range n {
		g.Go(func() error { return fn(gctx, i) })
	}
	err := g.Wait()
	return time.Since(start), err
}

package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sseproxy/sseproxy/sse"
)

// RangeFetchResult is what sseproxy fetched from the backend for 1-byte ranged GETs, counted
// by a relay between a dedicated sseproxy instance and MinIO.
type RangeFetchResult struct {
	PackageBytes int64        `json:"package_bytes"` // a full DARE package: 65568
	Rows         []RangeFetch `json:"rows"`
	MaxGETBytes  int64        `json:"max_get_bytes"`
	MaxPackages  float64      `json:"max_packages"`
}

// RangeFetch is one 1-byte ranged GET through sseproxy.
type RangeFetch struct {
	Object    string  `json:"object"`
	Offset    int64   `json:"offset"`
	Requests  int     `json:"backend_requests"`
	Calls     string  `json:"backend_calls"` // e.g. "HEAD, HEAD ?partNumber=1, GET 65568"
	GETBytes  int64   `json:"get_bytes"`     // body bytes of the ranged backend GETs
	Packages  float64 `json:"packages"`      // GETBytes / PackageBytes
	LatencyMs float64 `json:"latency_ms"`
}

// measureRangeFetch writes a single-PUT and a multipart object through an sseproxy whose
// backend is a fetchCounter, then reads one byte at the edges and middle of each.
func measureRangeFetch(ctx context.Context, e *env, o Options) (*RangeFetchResult, error) {
	fc, err := startFetchCounter(e.minio.Endpoint)
	if err != nil {
		return nil, err
	}
	defer fc.close()
	c, err := e.startProxy("sseproxy-counted", "http://"+fc.addr, encAES256)
	if err != nil {
		return nil, err
	}
	defer e.stopChild(c)
	core, err := newCore(c.addr, clientAccessKey, clientSecretKey)
	if err != nil {
		return nil, err
	}
	t := &target{name: "sseproxy-counted", host: c.addr, core: core}
	size := o.Size
	if err := t.put(ctx, "single", size); err != nil {
		return nil, err
	}
	if err := t.putMultipart(ctx, "multipart", size, o.PartSize, 1); err != nil {
		return nil, err
	}
	if _, err := fc.take(); err != nil {
		return nil, err
	}
	res := &RangeFetchResult{PackageBytes: sse.PackageSize}
	offsets := []int64{0, sse.PayloadSize - 1, sse.PayloadSize, size / 2, o.PartSize - 1, o.PartSize, size - 1}
	for _, name := range []string{"single", "multipart"} {
		for _, off := range offsets {
			if off < 0 || off >= size {
				continue
			}
			t0 := time.Now()
			if err := t.get(ctx, name, off, 1, 1, newVerifier(size, seedOf(name), off)); err != nil {
				return nil, fmt.Errorf("bench: 1-byte GET of %s at %d: %w", name, off, err)
			}
			lat := time.Since(t0)
			fetches, err := fc.take()
			if err != nil {
				return nil, err
			}
			row := RangeFetch{Object: name, Offset: off, Requests: len(fetches), LatencyMs: round3(ms(lat))}
			var calls []string
			for _, f := range fetches {
				call := f.Method
				if f.Query != "" {
					call += " ?" + f.Query
				}
				if f.Method == "GET" {
					row.GETBytes += f.Bytes
					call += fmt.Sprintf(" %d bytes", f.Bytes)
				}
				calls = append(calls, call)
			}
			row.Calls = strings.Join(calls, ", ")
			row.Packages = round3(float64(row.GETBytes) / sse.PackageSize)
			res.Rows = append(res.Rows, row)
			res.MaxGETBytes = max(res.MaxGETBytes, row.GETBytes)
			res.MaxPackages = max(res.MaxPackages, row.Packages)
		}
	}
	for _, name := range []string{"single", "multipart"} {
		_ = t.core.RemoveObject(ctx, benchBucket, t.key(name), minio.RemoveObjectOptions{})
	}
	return res, nil
}

// RSSResult is the peak RSS (VmHWM) of one proxy process, fresh for the probe, in MiB.
type RSSResult struct {
	Process       string  `json:"process"`
	IdleMiB       float64 `json:"idle_mib"`
	SinglePutMiB  float64 `json:"single_put_mib"`
	SingleGetMiB  float64 `json:"single_get_mib"`
	ConcPutMiB    float64 `json:"concurrent_put_mib"`
	ConcGetMiB    float64 `json:"concurrent_get_mib"`
	SingleSize    string  `json:"single_size"`
	Streams       int     `json:"streams"`
	StreamSize    string  `json:"stream_size"`
	PeaksResetOK  bool    `json:"peaks_reset"` // false: each peak includes the earlier steps
	SinglePutMiBs float64 `json:"single_put_mib_per_s"`
	SingleGetMiBs float64 `json:"single_get_mib_per_s"`
}

// singlePutLimit is the largest single PUT S3 allows; larger RSS probes upload sequential
// parts instead, still one stream.
const singlePutLimit = 5 << 30

// measureRSS starts a fresh hop and a fresh sseproxy, and reads each one's VmHWM after a large
// single-stream PUT and GET, and after o.RSSStreams concurrent PUTs and GETs.
func measureRSS(ctx context.Context, e *env, o Options, w io.Writer) ([]RSSResult, error) {
	var out []RSSResult
	for _, name := range []string{targetHop, targetSSEProxy} {
		if !contains(o.Targets, name) {
			continue
		}
		var c *child
		var err error
		ak, sk := e.minio.AccessKey, e.minio.SecretKey
		if name == targetHop {
			c, err = startHop(e.dir, "hop-rss", e.minio.Endpoint)
			if err == nil {
				e.children = append(e.children, c)
			}
		} else {
			c, err = e.startProxy("sseproxy-rss", e.minio.Endpoint, encAES256)
			ak, sk = clientAccessKey, clientSecretKey
		}
		if err != nil {
			return nil, err
		}
		core, err := newCore(c.addr, ak, sk)
		if err != nil {
			return nil, err
		}
		t := &target{name: name + "-rss", host: c.addr, core: core}
		r, err := rssProbe(ctx, t, c.pid(), o)
		e.stopChild(c)
		if err != nil {
			return nil, fmt.Errorf("bench: RSS probe of %s: %w", name, err)
		}
		r.Process = name
		fmt.Fprintf(w, "  %s: idle %.1f MiB, single PUT %.1f, single GET %.1f, %dx PUT %.1f, %dx GET %.1f\n",
			name, r.IdleMiB, r.SinglePutMiB, r.SingleGetMiB, o.RSSStreams, r.ConcPutMiB, o.RSSStreams, r.ConcGetMiB)
		out = append(out, r)
	}
	return out, nil
}

func rssProbe(ctx context.Context, t *target, pid int, o Options) (RSSResult, error) {
	r := RSSResult{SingleSize: formatSize(o.RSSSize), Streams: o.RSSStreams, StreamSize: formatSize(o.RSSStreamSize), PeaksResetOK: true}
	peak := func(dst *float64) error {
		v, err := peakRSS(pid)
		*dst = round3(float64(v) / (1 << 20))
		if err == nil && resetPeakRSS(pid) != nil {
			r.PeaksResetOK = false
		}
		return err
	}
	defer func() {
		names := []string{"rss-single"}
		for i := range o.RSSStreams {
			names = append(names, fmt.Sprintf("rss-%d", i))
		}
		for _, n := range names {
			_ = t.core.RemoveObject(context.WithoutCancel(ctx), benchBucket, t.key(n), minio.RemoveObjectOptions{})
		}
	}()
	if err := peak(&r.IdleMiB); err != nil {
		return r, err
	}
	t0 := time.Now()
	var err error
	if o.RSSSize <= singlePutLimit {
		err = t.put(ctx, "rss-single", o.RSSSize)
	} else {
		err = t.putMultipart(ctx, "rss-single", o.RSSSize, 512<<20, 1)
	}
	if err != nil {
		return r, err
	}
	r.SinglePutMiBs = round3(float64(o.RSSSize) / (1 << 20) / time.Since(t0).Seconds())
	if err := peak(&r.SinglePutMiB); err != nil {
		return r, err
	}
	t0 = time.Now()
	if err := t.get(ctx, "rss-single", 0, 0, o.RSSSize, nil); err != nil {
		return r, err
	}
	r.SingleGetMiBs = round3(float64(o.RSSSize) / (1 << 20) / time.Since(t0).Seconds())
	if err := peak(&r.SingleGetMiB); err != nil {
		return r, err
	}
	_ = t.core.RemoveObject(ctx, benchBucket, t.key("rss-single"), minio.RemoveObjectOptions{})
	if _, err := parallel(ctx, o.RSSStreams, func(ctx context.Context, i int) error {
		return t.put(ctx, fmt.Sprintf("rss-%d", i), o.RSSStreamSize)
	}); err != nil {
		return r, err
	}
	if err := peak(&r.ConcPutMiB); err != nil {
		return r, err
	}
	if _, err := parallel(ctx, o.RSSStreams, func(ctx context.Context, i int) error {
		return t.get(ctx, fmt.Sprintf("rss-%d", i), 0, 0, o.RSSStreamSize, nil)
	}); err != nil {
		return r, err
	}
	return r, peak(&r.ConcGetMiB)
}

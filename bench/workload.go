package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
)

// Kinds of workload: what the primary value of a sample is.
const (
	kindThroughput = "throughput" // MiB/s of object bytes
	kindOps        = "ops"        // requests/s, with latency percentiles
)

// sample is one measurement of one workload on one target.
type sample struct {
	bytes      int64 // object bytes moved
	ops        int
	dur        time.Duration
	lat        []time.Duration // per request, for kindOps
	proxyCPU   float64         // CPU seconds of the proxy process (hop or sseproxy)
	backendCPU float64         // CPU seconds of the MinIO process
	clientCPU  float64         // CPU seconds of this process, the client
}

func (s sample) value(kind string) float64 {
	if s.dur <= 0 {
		return 0
	}
	if kind == kindThroughput {
		return float64(s.bytes) / (1 << 20) / s.dur.Seconds()
	}
	return float64(s.ops) / s.dur.Seconds()
}

// workload is one measured operation. op ("put", "get", "head") groups workloads for the
// CPU-per-GiB summary.
type workload struct {
	id   string // stable name for JSON and the target checks
	name string
	kind string
	op   string
	run  func(ctx context.Context, t *target) (sample, error)
}

// workloads returns the workloads of o in the order each round runs them: every GET reads what
// the PUT before it in the same round wrote.
func workloads(o Options) []workload {
	var out []workload
	size, sz := o.Size, formatSize(o.Size)
	if !o.skips("throughput") {
		out = append(out,
			workload{id: "put-x1", name: "PUT " + sz + " x1", kind: kindThroughput, op: "put", run: func(ctx context.Context, t *target) (sample, error) {
				d, err := parallel(ctx, 1, func(ctx context.Context, _ int) error { return t.put(ctx, "big-0", size) })
				return sample{bytes: size, ops: 1, dur: d}, err
			}},
			workload{id: "get-x1", name: "GET " + sz + " x1", kind: kindThroughput, op: "get", run: func(ctx context.Context, t *target) (sample, error) {
				d, err := parallel(ctx, 1, func(ctx context.Context, _ int) error { return t.get(ctx, "big-0", 0, 0, size, nil) })
				return sample{bytes: size, ops: 1, dur: d}, err
			}},
			workload{id: "put-xN", name: fmt.Sprintf("PUT %s x%d", sz, o.Streams), kind: kindThroughput, op: "put", run: func(ctx context.Context, t *target) (sample, error) {
				d, err := parallel(ctx, o.Streams, func(ctx context.Context, i int) error { return t.put(ctx, fmt.Sprintf("big-%d", i), size) })
				return sample{bytes: size * int64(o.Streams), ops: o.Streams, dur: d}, err
			}},
			workload{id: "get-xN", name: fmt.Sprintf("GET %s x%d", sz, o.Streams), kind: kindThroughput, op: "get", run: func(ctx context.Context, t *target) (sample, error) {
				d, err := parallel(ctx, o.Streams, func(ctx context.Context, i int) error {
					return t.get(ctx, fmt.Sprintf("big-%d", i), 0, 0, size, nil)
				})
				return sample{bytes: size * int64(o.Streams), ops: o.Streams, dur: d}, err
			}},
			workload{id: "multipart-put", name: fmt.Sprintf("multipart PUT %s (%s parts x%d)", sz, formatSize(o.PartSize), o.PartWorkers), kind: kindThroughput, op: "put",
				run: func(ctx context.Context, t *target) (sample, error) {
					d, err := parallel(ctx, 1, func(ctx context.Context, _ int) error {
						return t.putMultipart(ctx, "mpu", size, o.PartSize, o.PartWorkers)
					})
					return sample{bytes: size, ops: 1, dur: d}, err
				}},
			workload{id: "ranged-get", name: fmt.Sprintf("ranged GET %s x%d (multipart object)", formatSize(o.RangeSize), o.RangeClients), kind: kindThroughput, op: "get",
				run: func(ctx context.Context, t *target) (sample, error) { return rangedGets(ctx, t, o) }},
			workload{id: "ranged-get-1b", name: "ranged GET 1 byte x1", kind: kindOps, op: "get",
				run: func(ctx context.Context, t *target) (sample, error) { return tinyRanges(ctx, t, o) }},
		)
	}
	if !o.skips("small") {
		for _, sz := range []int64{1 << 10, 64 << 10} {
			for _, op := range []string{"put", "get", "head"} {
				out = append(out, workload{
					id:   fmt.Sprintf("%s-%s", op, formatSize(sz)),
					name: fmt.Sprintf("%s %s x%d", map[string]string{"put": "PUT", "get": "GET", "head": "HEAD"}[op], formatSize(sz), o.SmallClients),
					kind: kindOps, op: op,
					run: func(ctx context.Context, t *target) (sample, error) { return smallOps(ctx, t, o, op, sz) },
				})
			}
		}
	}
	if len(o.Workloads) > 0 {
		var some []workload
		for _, w := range out {
			if contains(o.Workloads, w.id) {
				some = append(some, w)
			}
		}
		out = some
	}
	return out
}

// rangeOffset is the deterministic, unaligned offset of range i of length n in an object of size.
func rangeOffset(i int, n, size int64) int64 {
	if size <= n {
		return 0
	}
	return int64(uint64(i)*0x9e3779b97f4a7c15>>1) % (size - n + 1)
}

// rangedGets reads o.RangeCount ranges of o.RangeSize from the multipart object.
func rangedGets(ctx context.Context, t *target, o Options) (sample, error) {
	var next atomic.Int64
	d, err := parallel(ctx, o.RangeClients, func(ctx context.Context, _ int) error {
		for {
			i := int(next.Add(1) - 1)
			if i >= o.RangeCount {
				return nil
			}
			off := rangeOffset(i, o.RangeSize, o.Size)
			if err := t.get(ctx, "mpu", off, o.RangeSize, o.RangeSize, nil); err != nil {
				return err
			}
		}
	})
	return sample{bytes: o.RangeSize * int64(o.RangeCount), ops: o.RangeCount, dur: d}, err
}

// tinyRanges reads one byte at o.TinyRanges places of the single-PUT object, one at a time.
func tinyRanges(ctx context.Context, t *target, o Options) (sample, error) {
	s := sample{ops: o.TinyRanges}
	start := time.Now()
	for i := range o.TinyRanges {
		off := rangeOffset(i, 1, o.Size)
		t0 := time.Now()
		if err := t.get(ctx, "big-0", off, 1, 1, nil); err != nil {
			return s, err
		}
		s.lat = append(s.lat, time.Since(t0))
	}
	s.dur = time.Since(start)
	s.bytes = int64(o.TinyRanges)
	return s, nil
}

func smallKey(size int64, i int) string { return fmt.Sprintf("small-%s-%d", formatSize(size), i) }

// smallOps runs op on objects of size from o.SmallClients clients for o.SmallDuration.
func smallOps(ctx context.Context, t *target, o Options, op string, size int64) (sample, error) {
	deadline := time.Now().Add(o.SmallDuration)
	lats := make([][]time.Duration, o.SmallClients)
	d, err := parallel(ctx, o.SmallClients, func(ctx context.Context, c int) error {
		for i := 0; time.Now().Before(deadline); i++ {
			name := smallKey(size, (c+i*o.SmallClients)%o.SmallKeys)
			t0 := time.Now()
			var err error
			switch op {
			case "put":
				err = t.put(ctx, name, size)
			case "get":
				err = t.get(ctx, name, 0, 0, size, nil)
			case "head":
				var info minio.ObjectInfo
				info, err = t.core.StatObject(ctx, benchBucket, t.key(name), minio.StatObjectOptions{})
				if err == nil && info.Size != size {
					err = fmt.Errorf("bench: HEAD %s: size %d, want %d", name, info.Size, size)
				}
			}
			if err != nil {
				return err
			}
			lats[c] = append(lats[c], time.Since(t0))
		}
		return nil
	})
	s := sample{dur: d}
	for _, l := range lats {
		s.lat = append(s.lat, l...)
	}
	s.ops = len(s.lat)
	if op != "head" {
		s.bytes = int64(s.ops) * size
	}
	return s, err
}

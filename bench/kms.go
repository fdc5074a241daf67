package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// KMSResult is how many KMS calls each kind of request costs sseproxy, counted by the proxy
// itself: the deltas of sseproxy_kms_requests_total{method} on its admin /metrics around each
// request. That counter sits behind the unwrap cache, so it counts the calls that reach the
// KMS (for the local keyring, an in-process unwrap; for a remote KMS, a network round trip).
type KMSResult struct {
	Objects    int      `json:"objects"`     // requests per single-request step
	ObjectSize string   `json:"object_size"` // of the single-PUT objects
	Parts      int      `json:"multipart_parts"`
	PartSize   string   `json:"multipart_part_size"`
	Rows       []KMSRow `json:"rows"`
}

// KMSRow is one step on one sseproxy target.
type KMSRow struct {
	Target     string           `json:"target"`     // sseproxy or sseproxy-kms
	Encryption string           `json:"encryption"` // its encryption.default
	Step       string           `json:"step"`       // stable id, one of the kmsStep constants
	Name       string           `json:"name"`
	Process    string           `json:"process"` // "shared": the target's; "fresh": started for the reads
	Requests   int              `json:"requests"`
	Calls      map[string]int64 `json:"calls"` // by method, over all requests
	PerRequest float64          `json:"calls_per_request"`
	MaxPerReq  int64            `json:"max_calls_per_request"`
	Want       string           `json:"want,omitempty"`   // the target for this step
	Status     string           `json:"status,omitempty"` // met, missed; "" without a target
}

// The steps of the kms phase.
const (
	kmsPut              = "put"
	kmsMultipartCreate  = "multipart-create"
	kmsMultipartPart    = "multipart-part"
	kmsMultipartDone    = "multipart-complete"
	kmsMultipartUpload  = "multipart-upload" // the three above, per upload
	kmsColdGet          = "cold-get"
	kmsColdRangedGet    = "cold-ranged-get"
	kmsColdHead         = "cold-head"
	kmsColdMultipartGet = "cold-get-multipart"
	kmsWarmGet          = "warm-get"
	kmsWarmRangedGet    = "warm-ranged-get"
	kmsWarmHead         = "warm-head"
	kmsWarmMultipartGet = "warm-get-multipart"
)

// The targets: at most one KMS call per PUT and per cold GET, none per warm GET.
const (
	wantKMSPerPut     = 1
	wantKMSPerColdGet = 1
	wantKMSPerWarmGet = 0
)

// kmsRequests is the counter the kms phase reads (admin/kms.go).
const kmsRequests = "sseproxy_kms_requests_total"

// The kms phase's objects: unaligned sizes of a few packages, and a multipart object of
// kmsParts parts, the last one short.
const (
	kmsObjectSize   = 256<<10 + 12345
	kmsParts        = 3
	kmsPartSize     = 5 << 20 // S3's smallest non-final part
	kmsLastPartSize = 12345
	kmsRangeOff     = 70000
	kmsRangeLen     = 1000
)

// measureKMS counts the KMS calls of each sseproxy target (AES256 and aws:kms): single PUTs
// and one multipart upload through the target's own process, then, through a freshly started
// process of the same configuration whose unwrap cache is empty, cold reads (whole GET,
// ranged GET, HEAD, whole GET of the multipart object, each of an object that process has not
// read) and the same reads again, warm.
func measureKMS(ctx context.Context, e *env, o Options, w io.Writer) (*KMSResult, error) {
	res := &KMSResult{Objects: o.KMSObjects, ObjectSize: fmt.Sprintf("%d bytes", kmsObjectSize), Parts: kmsParts, PartSize: formatSize(kmsPartSize)}
	for _, name := range []string{targetSSEProxy, targetSSEProxyKMS} {
		t := e.target(name)
		if t == nil {
			continue
		}
		rows, err := kmsProbe(ctx, e, t, o.KMSObjects)
		if err != nil {
			return nil, fmt.Errorf("bench: counting KMS calls of %s: %w", name, err)
		}
		for _, r := range rows {
			fmt.Fprintf(w, "  %-13s %-19s %2d requests: %s\n", r.Target, r.Step, r.Requests, formatCalls(r.Calls))
		}
		res.Rows = append(res.Rows, rows...)
	}
	return res, nil
}

func kmsProbe(ctx context.Context, e *env, t *target, n int) ([]KMSRow, error) {
	if t.admin == "" {
		return nil, errors.New("the sseproxy binary has no admin listener, so its KMS calls cannot be counted (-skip kms)")
	}
	var names []string
	for _, kind := range []string{"get", "range", "head"} {
		for i := range n {
			names = append(names, fmt.Sprintf("kms-%s-%d", kind, i))
		}
	}
	defer func() {
		for _, name := range append(names, "kms-multipart") {
			_ = t.core.RemoveObject(context.WithoutCancel(ctx), benchBucket, t.key(name), minio.RemoveObjectOptions{})
		}
	}()
	enc := proxyEncryption(t.name)
	var rows []KMSRow
	add := func(step, name, process string, c counted) {
		row := KMSRow{Target: t.name, Encryption: enc, Step: step, Name: name, Process: process,
			Requests: c.requests, Calls: c.calls, MaxPerReq: c.max}
		if c.requests > 0 {
			row.PerRequest = round3(float64(c.total()) / float64(c.requests))
		}
		row.judge()
		rows = append(rows, row)
	}

	// Writes, through the target's own process.
	m := &kmsMeter{admin: t.admin}
	c, err := m.count(ctx, len(names), func(ctx context.Context, i int) error { return t.put(ctx, names[i], kmsObjectSize) })
	if err != nil {
		return nil, err
	}
	if !m.seen {
		return nil, fmt.Errorf("%s/metrics has no %s after %d encrypted PUTs: cannot count", t.admin, kmsRequests, len(names))
	}
	add(kmsPut, "PUT", "shared", c)
	steps, err := kmsMultipart(ctx, m, t, "kms-multipart")
	if err != nil {
		return nil, err
	}
	add(kmsMultipartCreate, "CreateMultipartUpload", "shared", steps[0])
	add(kmsMultipartPart, "UploadPart", "shared", steps[1])
	add(kmsMultipartDone, "CompleteMultipartUpload", "shared", steps[2])
	upload := counted{calls: map[string]int64{}}
	for _, s := range steps {
		upload.merge(s)
	}
	upload.requests, upload.max = 1, upload.total() // per upload, not per request
	add(kmsMultipartUpload, fmt.Sprintf("multipart upload, create + %d parts + complete", kmsParts), "shared", upload)

	// Reads, through a fresh process of the same configuration: its unwrap cache is empty.
	fresh, err := e.startProxy(t.name+"-cold", e.minio.Endpoint, enc)
	if err != nil {
		return nil, err
	}
	defer e.stopChild(fresh)
	if fresh.admin == "" {
		return nil, errors.New("the fresh sseproxy has no admin listener")
	}
	core, err := newCore(fresh.addr, clientAccessKey, clientSecretKey)
	if err != nil {
		return nil, err
	}
	ft := &target{name: t.name, host: fresh.addr, core: core} // same name: the same objects
	fm := &kmsMeter{admin: fresh.admin}
	reads := []struct {
		cold, warm, name string
		objects          []string
		read             func(ctx context.Context, name string) error
	}{
		{kmsColdGet, kmsWarmGet, "GET", names[:n], func(ctx context.Context, name string) error {
			return ft.get(ctx, name, 0, 0, kmsObjectSize, newVerifier(kmsObjectSize, seedOf(name), 0))
		}},
		{kmsColdRangedGet, kmsWarmRangedGet, fmt.Sprintf("ranged GET (%d bytes)", kmsRangeLen), names[n : 2*n], func(ctx context.Context, name string) error {
			return ft.get(ctx, name, kmsRangeOff, kmsRangeLen, kmsRangeLen, newVerifier(kmsObjectSize, seedOf(name), kmsRangeOff))
		}},
		{kmsColdHead, kmsWarmHead, "HEAD", names[2*n:], func(ctx context.Context, name string) error {
			info, err := ft.core.StatObject(ctx, benchBucket, ft.key(name), minio.StatObjectOptions{})
			if err == nil && info.Size != kmsObjectSize {
				err = fmt.Errorf("HEAD %s: size %d, want %d", name, info.Size, kmsObjectSize)
			}
			return err
		}},
		{kmsColdMultipartGet, kmsWarmMultipartGet, "GET of the multipart object", []string{"kms-multipart"}, func(ctx context.Context, name string) error {
			const size = (kmsParts-1)*kmsPartSize + kmsLastPartSize
			return ft.get(ctx, name, 0, 0, size, newVerifier(size, seedOf(name), 0))
		}},
	}
	for _, warm := range []bool{false, true} {
		for _, r := range reads {
			c, err := fm.count(ctx, len(r.objects), func(ctx context.Context, i int) error { return r.read(ctx, r.objects[i]) })
			if err != nil {
				return nil, err
			}
			step, name := r.cold, "cold "+r.name
			if warm {
				step, name = r.warm, "warm "+r.name
			}
			add(step, name, "fresh", c)
		}
	}
	if !fm.seen {
		return nil, fmt.Errorf("%s/metrics has no %s after cold GETs of encrypted objects: cannot count", fresh.admin, kmsRequests)
	}
	return rows, nil
}

// kmsMultipart uploads object name in kmsParts parts, one at a time so that the counts per
// part do not depend on which part reaches the cache first, and counts the create, the parts
// together and the complete.
func kmsMultipart(ctx context.Context, m *kmsMeter, t *target, name string) ([3]counted, error) {
	var steps [3]counted
	const size = (kmsParts-1)*kmsPartSize + kmsLastPartSize
	var id string
	var err error
	if steps[0], err = m.count(ctx, 1, func(ctx context.Context, _ int) (err error) {
		id, err = t.core.NewMultipartUpload(ctx, benchBucket, t.key(name), t.putOptions())
		return err
	}); err != nil {
		return steps, err
	}
	parts := make([]minio.CompletePart, kmsParts)
	steps[1], err = m.count(ctx, kmsParts, func(ctx context.Context, i int) error {
		off := int64(i) * kmsPartSize
		n := min(kmsPartSize, size-off)
		p := newPayload(size, seedOf(name))
		p.seek(off)
		part, err := t.core.PutObjectPart(ctx, benchBucket, t.key(name), id, i+1, io.LimitReader(p, n), n,
			minio.PutObjectPartOptions{DisableContentSha256: t.unsigned})
		parts[i] = minio.CompletePart{PartNumber: i + 1, ETag: part.ETag}
		return err
	})
	if err == nil {
		steps[2], err = m.count(ctx, 1, func(ctx context.Context, _ int) error {
			_, err := t.core.CompleteMultipartUpload(ctx, benchBucket, t.key(name), id, parts, t.putOptions())
			return err
		})
	}
	if err != nil {
		_ = t.core.AbortMultipartUpload(context.WithoutCancel(ctx), benchBucket, t.key(name), id)
	}
	return steps, err
}

// counted is the KMS calls of a number of requests.
type counted struct {
	requests int
	calls    map[string]int64 // by method
	max      int64            // the most calls one request made
}

func (c counted) total() int64 {
	var n int64
	for _, v := range c.calls {
		n += v
	}
	return n
}

func (c *counted) merge(o counted) {
	c.requests += o.requests
	for k, v := range o.calls {
		c.calls[k] += v
	}
	c.max = max(c.max, o.max)
}

// judge sets the target of r's step and whether r meets it, on the most calls any one
// request made: an average would hide a request that makes two.
func (r *KMSRow) judge() {
	var want int64
	switch r.Step {
	case kmsPut:
		want = wantKMSPerPut
	case kmsColdGet, kmsColdRangedGet, kmsColdHead, kmsColdMultipartGet:
		want = wantKMSPerColdGet
	case kmsWarmGet, kmsWarmRangedGet, kmsWarmHead, kmsWarmMultipartGet:
		want = wantKMSPerWarmGet
	default:
		return
	}
	r.Want = fmt.Sprintf("<= %d", want)
	if want == 0 {
		r.Want = "0"
	}
	r.Status = status(r.MaxPerReq <= want)
}

// kmsMeter reads the KMS call counters of one sseproxy process.
type kmsMeter struct {
	admin string // http://host:port of its admin listener
	seen  bool   // the counter has appeared on /metrics
}

// count runs fn(i) for i in [0, n), one at a time, and reads the counters before and after
// each request. The proxy counts a call before it answers the request that made it.
func (m *kmsMeter) count(ctx context.Context, n int, fn func(ctx context.Context, i int) error) (counted, error) {
	c := counted{requests: n, calls: map[string]int64{"GenerateDataKey": 0, "Decrypt": 0}}
	before, err := m.read(ctx)
	if err != nil {
		return c, err
	}
	for i := range n {
		if err := fn(ctx, i); err != nil {
			return c, err
		}
		after, err := m.read(ctx)
		if err != nil {
			return c, err
		}
		var one int64
		for method, v := range after {
			if d := v - before[method]; d != 0 {
				c.calls[method] += d
				one += d
			}
		}
		c.max = max(c.max, one)
		before = after
	}
	return c, nil
}

// read returns sseproxy_kms_requests_total by method. A counter that no call has touched yet
// is absent from /metrics, which reads as zero.
func (m *kmsMeter) read(ctx context.Context) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.admin+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", m.admin, resp.Status)
	}
	out, err := parseKMSRequests(resp.Body)
	if len(out) > 0 {
		m.seen = true
	}
	return out, err
}

// parseKMSRequests reads the samples of sseproxy_kms_requests_total, by method, from a
// Prometheus text exposition.
func parseKMSRequests(r io.Reader) (map[string]int64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, m := range families[kmsRequests].GetMetric() {
		method := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == "method" {
				method = l.GetValue()
			}
		}
		if method == "" {
			return nil, fmt.Errorf("a %s sample has no method label", kmsRequests)
		}
		v := m.GetUntyped().GetValue() // without a # TYPE line
		if c := m.GetCounter(); c != nil {
			v = c.GetValue()
		}
		out[method] += int64(v)
	}
	return out, nil
}

// formatCalls writes calls as "GenerateDataKey 3, Decrypt 0, ...", the two main methods first.
func formatCalls(calls map[string]int64) string {
	var rest []string
	for m := range calls {
		if m != "GenerateDataKey" && m != "Decrypt" {
			rest = append(rest, m)
		}
	}
	sort.Strings(rest)
	var parts []string
	for _, m := range append([]string{"GenerateDataKey", "Decrypt"}, rest...) {
		parts = append(parts, fmt.Sprintf("%s %d", m, calls[m]))
	}
	return strings.Join(parts, ", ")
}

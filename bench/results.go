package main

import (
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"time"
)

// Results is everything one run measured; it is written as JSON to -out.
type Results struct {
	Started         time.Time         `json:"started"`
	DurationSeconds float64           `json:"duration_seconds"`
	Host            HostInfo          `json:"host"`
	SSEProxySource  string            `json:"sseproxy_source"`
	Options         map[string]any    `json:"options"`
	Targets         []TargetInfo      `json:"targets"`
	Rounds          []RoundInfo       `json:"rounds,omitempty"`
	Workloads       []*WorkloadResult `json:"workloads"`
	CPU             []CPURow          `json:"cpu_seconds_per_gib,omitempty"`
	Cipher          *CipherResult     `json:"cipher_floor,omitempty"`
	RangeFetch      *RangeFetchResult `json:"range_fetch,omitempty"`
	RSS             []RSSResult       `json:"peak_rss,omitempty"`
	KMS             *KMSResult        `json:"kms_calls,omitempty"`
	Checks          []Check           `json:"checks"`

	order []string // target names in table order
}

// HostInfo describes the machine: the numbers mean little without it.
type HostInfo struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
}

// RoundInfo tells how busy the machine was with other work during a round: ForeignShare is
// the fraction of all CPUs other processes used. Rounds with a large share are noisy.
type RoundInfo struct {
	Round             int     `json:"round"`
	WallSeconds       float64 `json:"wall_seconds"`
	ForeignCPUSeconds float64 `json:"foreign_cpu_seconds"`
	ForeignShare      float64 `json:"foreign_share"`
	LoadAvg           string  `json:"load_average_at_end"`
}

// TargetInfo names one target.
type TargetInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Endpoint    string `json:"endpoint"`
}

// WorkloadResult is one workload on every target.
type WorkloadResult struct {
	ID      string                   `json:"id"`
	Name    string                   `json:"name"`
	Kind    string                   `json:"kind"`
	Unit    string                   `json:"unit"`
	Op      string                   `json:"op"`
	Results map[string]*TargetResult `json:"results"`
	// Ratios are paired, keyed "a/b" (see ratioPairs): a's value over b's in the same round,
	// then summarized over rounds. Higher is better for a.
	Ratios map[string]Summary `json:"ratios,omitempty"`
}

// TargetResult is one workload on one target, over all rounds.
type TargetResult struct {
	Value Summary `json:"value"` // MiB/s or ops/s per round
	// Latency percentiles of every request of every round (ops workloads).
	P50Ms float64 `json:"p50_ms,omitempty"`
	P99Ms float64 `json:"p99_ms,omitempty"`
	// CPU of the proxy process (hop or sseproxy) and of MinIO over all rounds, per GiB of
	// object bytes (throughput workloads) or per request (ops workloads).
	ProxyCPUPerGiB   float64 `json:"proxy_cpu_s_per_gib,omitempty"`
	BackendCPUPerGiB float64 `json:"backend_cpu_s_per_gib,omitempty"`
	ProxyCPUPerOpUs  float64 `json:"proxy_cpu_us_per_op,omitempty"`
	BackendCPUPerOp  float64 `json:"backend_cpu_us_per_op,omitempty"`
	Bytes            int64   `json:"bytes"`
	Ops              int     `json:"ops"`

	samples []sample
}

// CPURow is CPU seconds per GiB of one group of throughput workloads, keyed by target: of the
// proxy process (hop or sseproxy), of MinIO, of the client (this process), and their total.
// On a CPU-bound machine the totals predict the throughput ratios with far less noise than
// the throughputs themselves.
type CPURow struct {
	Group   string             `json:"group"`
	Proxy   map[string]float64 `json:"proxy"`
	Backend map[string]float64 `json:"backend"`
	Client  map[string]float64 `json:"client"`
	Total   map[string]float64 `json:"total"`
}

// Check is one target of the issue, judged against this run.
type Check struct {
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Status   string `json:"status"` // "met", "missed", "n/a"
}

func newResults(o Options, start time.Time) *Results {
	r := &Results{
		Started: start.UTC(),
		Host:    hostInfo(),
		Options: map[string]any{
			"rounds": o.Rounds, "size": formatSize(o.Size), "streams": o.Streams,
			"part_size": formatSize(o.PartSize), "part_workers": o.PartWorkers,
			"range_size": formatSize(o.RangeSize), "range_count": o.RangeCount, "range_clients": o.RangeClients,
			"tiny_ranges": o.TinyRanges, "small_clients": o.SmallClients, "small_duration": o.SmallDuration.String(),
			"small_keys": o.SmallKeys, "rss_size": formatSize(o.RSSSize), "rss_streams": o.RSSStreams,
			"rss_stream_size": formatSize(o.RSSStreamSize), "cipher_size": formatSize(o.CipherSize), "kms_objects": o.KMSObjects,
			"targets": o.Targets, "workloads": o.Workloads, "skip": o.Skip, "short": o.Short,
			"unsigned_payload": o.UnsignedPayload,
		},
		order: o.Targets,
	}
	return r
}

func hostInfo() HostInfo {
	h := HostInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				h.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(data))
	}
	return h
}

func (r *Results) workload(w workload) *WorkloadResult {
	for _, x := range r.Workloads {
		if x.ID == w.id {
			return x
		}
	}
	unit := "MiB/s"
	if w.kind == kindOps {
		unit = "ops/s"
	}
	x := &WorkloadResult{ID: w.id, Name: w.name, Kind: w.kind, Unit: unit, Op: w.op, Results: map[string]*TargetResult{}}
	r.Workloads = append(r.Workloads, x)
	return x
}

func (r *Results) add(w workload, target string, s sample) {
	x := r.workload(w)
	tr := x.Results[target]
	if tr == nil {
		tr = &TargetResult{}
		x.Results[target] = tr
	}
	tr.samples = append(tr.samples, s)
}

func (r *Results) find(id string) *WorkloadResult {
	for _, x := range r.Workloads {
		if x.ID == id {
			return x
		}
	}
	return nil
}

// hopDirect is the reference ratio: the plain hop over direct.
const hopDirect = targetHop + "/" + targetDirect

// ratioPairs are the paired ratios of every workload, in table order: sseproxy over each
// other target; sseproxy-kms over direct and over sseproxy (what aws:kms costs over AES256);
// and the plain hop over direct, the ceiling of any proxy on this machine.
func (r *Results) ratioPairs() [][2]string {
	var out [][2]string
	has := func(t string) bool { return contains(r.order, t) }
	if has(targetSSEProxy) {
		for _, t := range r.order {
			if t != targetSSEProxy && t != targetSSEProxyKMS {
				out = append(out, [2]string{targetSSEProxy, t})
			}
		}
	}
	if has(targetSSEProxyKMS) {
		for _, t := range []string{targetDirect, targetSSEProxy} {
			if has(t) {
				out = append(out, [2]string{targetSSEProxyKMS, t})
			}
		}
	}
	if has(targetHop) && has(targetDirect) {
		out = append(out, [2]string{targetHop, targetDirect})
	}
	return out
}

// finish derives the summaries, ratios, CPU rows and checks from the samples.
func (r *Results) finish(d time.Duration) {
	r.DurationSeconds = round3(d.Seconds())
	for _, x := range r.Workloads {
		for _, tr := range x.Results {
			tr.summarize(x.Kind)
		}
		x.Ratios = map[string]Summary{}
		for _, p := range r.ratioPairs() {
			a, b := x.Results[p[0]], x.Results[p[1]]
			if a == nil || b == nil {
				continue
			}
			var ratios []float64
			for i := range min(len(a.samples), len(b.samples)) {
				if v := b.samples[i].value(x.Kind); v > 0 {
					ratios = append(ratios, a.samples[i].value(x.Kind)/v)
				}
			}
			x.Ratios[p[0]+"/"+p[1]] = summarize(ratios).rounded()
		}
	}
	r.CPU = r.cpuRows()
	r.Checks = r.checks()
}

func (tr *TargetResult) summarize(kind string) {
	var values []float64
	var lat []time.Duration
	var proxyCPU, backendCPU float64
	for _, s := range tr.samples {
		values = append(values, s.value(kind))
		lat = append(lat, s.lat...)
		proxyCPU += s.proxyCPU
		backendCPU += s.backendCPU
		tr.Bytes += s.bytes
		tr.Ops += s.ops
	}
	tr.Value = summarize(values).rounded()
	if kind == kindOps {
		tr.P50Ms, tr.P99Ms = round3(ms(percentile(lat, 0.50))), round3(ms(percentile(lat, 0.99)))
		if tr.Ops > 0 {
			tr.ProxyCPUPerOpUs = round3(proxyCPU / float64(tr.Ops) * 1e6)
			tr.BackendCPUPerOp = round3(backendCPU / float64(tr.Ops) * 1e6)
		}
		return
	}
	if gib := float64(tr.Bytes) / (1 << 30); gib > 0 {
		tr.ProxyCPUPerGiB = round3(proxyCPU / gib)
		tr.BackendCPUPerGiB = round3(backendCPU / gib)
	}
}

// Groups of the CPU totals.
const (
	cpuGroupPUT = "all PUT streams (x1, xN, multipart)"
	cpuGroupGET = "all GET streams (x1, xN)"
)

// cpuRows sums CPU over groups of throughput workloads: each one alone, then the PUT and GET
// streams together (the figures the CPU targets are about).
func (r *Results) cpuRows() []CPURow {
	type acc struct{ proxy, backend, client, bytes float64 }
	groups := map[string]map[string]*acc{}
	var names []string
	add := func(group, target string, s sample) {
		if groups[group] == nil {
			groups[group] = map[string]*acc{}
			names = append(names, group)
		}
		a := groups[group][target]
		if a == nil {
			a = &acc{}
			groups[group][target] = a
		}
		a.proxy += s.proxyCPU
		a.backend += s.backendCPU
		a.client += s.clientCPU
		a.bytes += float64(s.bytes)
	}
	for _, x := range r.Workloads {
		if x.Kind != kindThroughput {
			continue
		}
		for target, tr := range x.Results {
			for _, s := range tr.samples {
				add(x.Name, target, s)
			}
		}
	}
	// The totals the CPU targets are judged on: whole-object streams, no per-request costs.
	for _, total := range []struct {
		group string
		ids   []string
	}{{cpuGroupPUT, []string{"put-x1", "put-xN", "multipart-put"}}, {cpuGroupGET, []string{"get-x1", "get-xN"}}} {
		for _, id := range total.ids {
			if x := r.find(id); x != nil {
				for target, tr := range x.Results {
					for _, s := range tr.samples {
						add(total.group, target, s)
					}
				}
			}
		}
	}
	var rows []CPURow
	for _, g := range names {
		row := CPURow{Group: g, Proxy: map[string]float64{}, Backend: map[string]float64{}, Client: map[string]float64{}, Total: map[string]float64{}}
		for target, a := range groups[g] {
			gib := a.bytes / (1 << 30)
			if gib == 0 {
				continue
			}
			if r.hasProxy(target) {
				row.Proxy[target] = round3(a.proxy / gib)
			}
			row.Backend[target] = round3(a.backend / gib)
			row.Client[target] = round3(a.client / gib)
			row.Total[target] = round3((a.proxy + a.backend + a.client) / gib)
		}
		rows = append(rows, row)
	}
	return rows
}

func (r *Results) hasProxy(target string) bool {
	return target == targetHop || target == targetSSEProxy || target == targetSSEProxyKMS || target == targetNativeHop
}

func (r *Results) write(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// The targets, as numbers.
const (
	wantGETvsDirect     = 0.75
	wantGETvsNativeHop  = 1.1
	wantPUTvsDirect     = 0.9
	wantCPUGET          = 1.0 // CPU seconds per GiB of the proxy process
	wantCPUPUT          = 1.3
	wantSmallGETvsDir   = 0.8
	wantSmallPUTvsDir   = 0.75
	wantTinyRangeP50Add = 0.5 // ms over direct
	wantRSSSingleMiB    = 32
	wantRSSConcMiB      = 128 // for 64 streams of 100 MiB
	wantRangePackages   = 2
)

// checks judges this run against the targets. A ratio target is met when the median
// of the paired per-round ratios is; the min-max range is shown so a reader sees the spread.
func (r *Results) checks() []Check {
	var out []Check
	ratio := func(target string, want float64, other string, ids ...string) {
		var parts []string
		status := "met"
		seen := false
		for _, id := range ids {
			x := r.find(id)
			if x == nil {
				continue
			}
			s, ok := x.Ratios[targetSSEProxy+"/"+other]
			if !ok || len(s.Values) == 0 {
				continue
			}
			seen = true
			part := fmt.Sprintf("%s: %.2f (%.2f-%.2f)", x.Name, s.Median, s.Min, s.Max)
			// A ratio to direct that the plain hop, which does nothing but copy, does not reach
			// in the same rounds is out of any proxy's reach on this machine.
			hopShort := false
			if h, ok := x.Ratios[hopDirect]; ok && other == targetDirect && len(h.Values) > 0 {
				part += fmt.Sprintf(" [plain hop: %.2f]", h.Median)
				hopShort = h.Median < want
			}
			parts = append(parts, part)
			if s.Median < want {
				if hopShort && status != "missed" {
					status = "missed (out of reach here: the plain hop misses it too)"
				} else {
					status = "missed"
				}
			}
		}
		if !seen {
			status = "n/a"
		}
		out = append(out, Check{Target: target, Measured: strings.Join(parts, "; "), Status: status})
	}
	ratio("GET >= 0.75x direct", wantGETvsDirect, targetDirect, "get-x1", "get-xN")
	ratio("GET >= 1.1x MinIO SSE behind the hop", wantGETvsNativeHop, targetNativeHop, "get-x1", "get-xN")
	ratio("PUT >= 0.9x direct", wantPUTvsDirect, targetDirect, "put-x1", "put-xN", "multipart-put")

	signed := !r.unsignedPayload()
	for _, c := range []struct {
		group, target string
		want          float64
		work          []string // cipher-floor rows an encrypting hop cannot avoid
	}{
		{cpuGroupGET, "proxy CPU <= 1.0 s/GiB on GET", wantCPUGET, []string{cipherDecrypt}},
		{cpuGroupPUT, "proxy CPU <= 1.3 s/GiB on PUT", wantCPUPUT, putWork(signed)},
	} {
		chk := Check{Target: c.target, Status: "n/a"}
		for _, row := range r.CPU {
			v, ok := row.Proxy[targetSSEProxy]
			if !ok || row.Group != c.group {
				continue
			}
			chk.Measured = fmt.Sprintf("sseproxy %.3f s/GiB (hop %.3f) over %s", v, row.Proxy[targetHop], c.group)
			chk.Status = status(v <= c.want)
			hop, hasHop := row.Proxy[targetHop]
			work, hasWork := r.cipherCost(c.work)
			if !hasHop || !hasWork {
				continue
			}
			floor := hop + work
			chk.Measured += fmt.Sprintf("; floor %.3f = hop + %s; sseproxy/floor %.2f", floor, strings.Join(c.work, " + "), v/floor)
			if c.group == cpuGroupPUT && signed {
				chk.Measured += " (streaming-signed PUTs: the target is for PUTs without a digest, -unsigned-payload)"
			}
			if v > c.want && floor > c.want {
				chk.Status = "missed (out of reach: the floor is above the target)"
			}
		}
		out = append(out, chk)
	}

	ratio("1 KiB GET ops/s >= 0.8x direct", wantSmallGETvsDir, targetDirect, "get-1KiB")
	ratio("1 KiB PUT ops/s >= 0.75x direct", wantSmallPUTvsDir, targetDirect, "put-1KiB")

	chk := Check{Target: "1-byte ranged GET p50 <= direct + 0.5 ms", Status: "n/a"}
	if x := r.find("ranged-get-1b"); x != nil && x.Results[targetSSEProxy] != nil && x.Results[targetDirect] != nil {
		sp, d := x.Results[targetSSEProxy].P50Ms, x.Results[targetDirect].P50Ms
		chk.Measured = fmt.Sprintf("p50 sseproxy %.3f ms, direct %.3f ms: +%.3f ms", sp, d, sp-d)
		chk.Status = status(sp-d <= wantTinyRangeP50Add)
	}
	out = append(out, chk)

	single := Check{Target: "peak RSS <= 32 MiB, one large stream", Status: "n/a"}
	conc := Check{Target: "peak RSS <= 128 MiB, 64 x 100 MiB streams", Status: "n/a"}
	for _, rr := range r.RSS {
		if rr.Process != targetSSEProxy {
			continue
		}
		peak := max(rr.SinglePutMiB, rr.SingleGetMiB)
		single.Measured = fmt.Sprintf("%.1f MiB (PUT %.1f, GET %.1f) for %s", peak, rr.SinglePutMiB, rr.SingleGetMiB, rr.SingleSize)
		single.Status = status(peak <= wantRSSSingleMiB)
		peak = max(rr.ConcPutMiB, rr.ConcGetMiB)
		conc.Measured = fmt.Sprintf("%.1f MiB (PUT %.1f, GET %.1f) for %d x %s", peak, rr.ConcPutMiB, rr.ConcGetMiB, rr.Streams, rr.StreamSize)
		conc.Status = status(peak <= wantRSSConcMiB)
		if rr.Streams != 64 || rr.StreamSize != "100MiB" {
			conc.Status += " (at this load; the target is for 64 x 100MiB: -rss-streams 64)"
		}
	}
	out = append(out, single, conc)

	fetch := Check{Target: "1-byte range fetches <= 2 packages (65568 bytes each)", Status: "n/a"}
	if rf := r.RangeFetch; rf != nil {
		fetch.Measured = fmt.Sprintf("at most %d bytes = %.2f packages per 1-byte GET", rf.MaxGETBytes, rf.MaxPackages)
		fetch.Status = status(rf.MaxPackages <= wantRangePackages)
	}
	out = append(out, fetch)
	out = append(out, r.kmsChecks()...)
	return out
}

// Cipher-floor rows, by name (measureCipher).
const (
	cipherGenerator = "payload generator"
	cipherSHA256    = "SHA-256"
	cipherEncrypt   = "sse.EncryptReader"
	cipherDecrypt   = "sse.DecryptReader"
)

// putWork is what an encrypting hop must do per byte of a PUT: encrypt, and, for a
// streaming-signed body, hash it to check the chunk signatures.
func putWork(signed bool) []string {
	if signed {
		return []string{cipherEncrypt, cipherSHA256}
	}
	return []string{cipherEncrypt}
}

// cipherCost sums the CPU s/GiB of the cipher-floor rows whose names start with names,
// less the payload generator's share of the rows that read from it (SHA-256 and the
// encrypting reader), which a proxy does not pay.
func (r *Results) cipherCost(names []string) (float64, bool) {
	if r.Cipher == nil {
		return 0, false
	}
	row := func(name string) (float64, bool) {
		for _, c := range r.Cipher.Rows {
			if strings.HasPrefix(c.Name, name) {
				return c.CPUSecPerGiB, true
			}
		}
		return 0, false
	}
	gen, ok := row(cipherGenerator)
	if !ok {
		return 0, false
	}
	var sum float64
	for _, n := range names {
		v, ok := row(n)
		if !ok {
			return 0, false
		}
		if n != cipherDecrypt {
			v = max(v-gen, 0)
		}
		sum += v
	}
	return sum, true
}

func (r *Results) unsignedPayload() bool {
	u, _ := r.Options["unsigned_payload"].(bool)
	return u
}

// kmsStepLabel names the steps the KMS checks judge, briefly.
var kmsStepLabel = map[string]string{
	kmsPut: "PUT", kmsColdGet: "GET", kmsColdRangedGet: "ranged GET", kmsColdHead: "HEAD", kmsColdMultipartGet: "multipart GET",
	kmsWarmGet: "GET", kmsWarmRangedGet: "ranged GET", kmsWarmHead: "HEAD", kmsWarmMultipartGet: "multipart GET",
}

// kmsChecks judges the kms phase: each check is met when every request of its steps, on
// every sseproxy target, made no more calls than the target allows.
func (r *Results) kmsChecks() []Check {
	var out []Check
	for _, c := range []struct {
		target string
		steps  []string
	}{
		{"KMS calls per PUT <= 1", []string{kmsPut}},
		{"KMS calls per cold GET <= 1", []string{kmsColdGet, kmsColdRangedGet, kmsColdHead, kmsColdMultipartGet}},
		{"KMS calls per warm GET = 0", []string{kmsWarmGet, kmsWarmRangedGet, kmsWarmHead, kmsWarmMultipartGet}},
	} {
		chk := Check{Target: c.target, Status: "n/a"}
		if r.KMS != nil {
			byTarget := map[string][]string{}
			var targets []string
			for _, row := range r.KMS.Rows {
				if !contains(c.steps, row.Step) {
					continue
				}
				if chk.Status != "missed" {
					chk.Status = row.Status
				}
				if byTarget[row.Target] == nil {
					targets = append(targets, row.Target)
				}
				byTarget[row.Target] = append(byTarget[row.Target], fmt.Sprintf("%s %d", kmsStepLabel[row.Step], row.MaxPerReq))
			}
			var parts []string
			for _, t := range targets {
				parts = append(parts, t+": "+strings.Join(byTarget[t], ", "))
			}
			if len(parts) > 0 {
				chk.Measured = "most calls by one request, " + strings.Join(parts, "; ")
			}
		}
		out = append(out, chk)
	}
	return out
}

func status(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// print writes the tables as Markdown, ready for docs/benchmarks.md.
func (r *Results) print(w io.Writer) {
	fmt.Fprintf(w, "\n## sseproxy benchmark, %s, %d CPUs (%s), %s, %.0f s\n", r.Started.Format("2006-01-02 15:04 UTC"),
		r.Host.CPUs, r.Host.CPUModel, r.Host.GoVersion, r.DurationSeconds)
	fmt.Fprintf(w, "\nsseproxy built from %s\n", r.SSEProxySource)
	rounds := r.Options["rounds"]
	for _, ri := range r.Rounds {
		fmt.Fprintf(w, "\nround %d: %.0f s, other processes used %.0f%% of the machine (load average %s)", ri.Round, ri.WallSeconds, 100*ri.ForeignShare, ri.LoadAvg)
	}
	if len(r.Rounds) > 0 {
		fmt.Fprintln(w)
	}
	if len(r.Workloads) > 0 {
		fmt.Fprintf(w, "\n### Throughput and ops/s (median of %v rounds; ratios: median of paired per-round ratios, min-max)\n\n", rounds)
		pairs := r.ratioPairs()
		head := []string{"workload", "unit"}
		head = append(head, r.order...)
		for _, p := range pairs {
			head = append(head, p[0]+"/"+p[1])
		}
		var rows [][]string
		for _, x := range r.Workloads {
			row := []string{x.Name, x.Unit}
			for _, t := range r.order {
				row = append(row, num(x.Results[t], func(tr *TargetResult) float64 { return tr.Value.Median }))
			}
			for _, p := range pairs {
				s, ok := x.Ratios[p[0]+"/"+p[1]]
				if !ok || len(s.Values) == 0 {
					row = append(row, "-")
					continue
				}
				row = append(row, fmt.Sprintf("%.2f (%.2f-%.2f)", s.Median, s.Min, s.Max))
			}
			rows = append(rows, row)
		}
		table(w, head, rows)

		fmt.Fprintf(w, "\n### Spread: min-max over rounds\n\n")
		rows = nil
		for _, x := range r.Workloads {
			row := []string{x.Name, x.Unit}
			for _, t := range r.order {
				if tr := x.Results[t]; tr != nil {
					row = append(row, fmt.Sprintf("%.0f-%.0f", tr.Value.Min, tr.Value.Max))
				} else {
					row = append(row, "-")
				}
			}
			rows = append(rows, row)
		}
		table(w, append([]string{"workload", "unit"}, r.order...), rows)

		fmt.Fprintf(w, "\n### Latency p50 / p99 in ms (every request of every round); proxy CPU per request\n\n")
		head = []string{"workload"}
		head = append(head, r.order...)
		cpuCols := []string{targetHop, targetSSEProxy}
		if contains(r.order, targetSSEProxyKMS) {
			cpuCols = append(cpuCols, targetSSEProxyKMS)
		}
		for _, t := range cpuCols {
			head = append(head, t+" CPU us/op")
		}
		rows = nil
		for _, x := range r.Workloads {
			if x.Kind != kindOps {
				continue
			}
			row := []string{x.Name}
			for _, t := range r.order {
				if tr := x.Results[t]; tr != nil {
					row = append(row, fmt.Sprintf("%.2f / %.2f", tr.P50Ms, tr.P99Ms))
				} else {
					row = append(row, "-")
				}
			}
			for _, t := range cpuCols {
				row = append(row, num(x.Results[t], func(tr *TargetResult) float64 { return tr.ProxyCPUPerOpUs }))
			}
			rows = append(rows, row)
		}
		table(w, head, rows)
	}
	if len(r.CPU) > 0 {
		fmt.Fprintf(w, "\n### CPU seconds per GiB (/proc/PID/stat utime+stime, summed over rounds)\n\n")
		head := []string{"workload"}
		var proxies, backends []string
		for _, t := range r.order {
			if r.hasProxy(t) {
				proxies = append(proxies, t)
				head = append(head, t+" proxy")
			}
		}
		for _, t := range r.order {
			backends = append(backends, t)
			head = append(head, "MinIO under "+t)
		}
		var rows [][]string
		for _, row := range r.CPU {
			cells := []string{row.Group}
			for _, t := range proxies {
				cells = append(cells, fmt3(row.Proxy, t))
			}
			for _, t := range backends {
				cells = append(cells, fmt3(row.Backend, t))
			}
			rows = append(rows, cells)
		}
		table(w, head, rows)

		fmt.Fprintf(w, "\n### Whole-system CPU seconds per GiB: client + proxy + MinIO (the machine is CPU-bound, so these predict the throughput ratios)\n\n")
		rows = nil
		for _, row := range r.CPU {
			if row.Group != cpuGroupPUT && row.Group != cpuGroupGET {
				continue
			}
			for _, t := range r.order {
				if _, ok := row.Total[t]; !ok {
					continue
				}
				proxy := fmt3(row.Proxy, t)
				rows = append(rows, []string{row.Group, t, fmt3(row.Client, t), proxy, fmt3(row.Backend, t), fmt3(row.Total, t)})
			}
		}
		table(w, []string{"workloads", "target", "client", "proxy", "MinIO", "total"}, rows)
	}
	if c := r.Cipher; c != nil {
		fmt.Fprintf(w, "\n### Cipher floor: in-process, one goroutine, %s\n\n", formatSize(c.Bytes))
		var rows [][]string
		for _, row := range c.Rows {
			rows = append(rows, []string{row.Name, fmt.Sprintf("%.3f", row.CPUSecPerGiB), fmt.Sprintf("%.0f", row.MiBps)})
		}
		table(w, []string{"work", "CPU s/GiB", "MiB/s"}, rows)
	}
	if rf := r.RangeFetch; rf != nil {
		fmt.Fprintf(w, "\n### Backend traffic of 1-byte ranged GETs through sseproxy (package = %d bytes)\n\n", rf.PackageBytes)
		var rows [][]string
		for _, row := range rf.Rows {
			rows = append(rows, []string{row.Object, fmt.Sprint(row.Offset), fmt.Sprint(row.Requests), row.Calls,
				fmt.Sprint(row.GETBytes), fmt.Sprintf("%.2f", row.Packages)})
		}
		table(w, []string{"object", "offset", "backend requests", "calls", "GET bytes", "packages"}, rows)
	}
	if len(r.RSS) > 0 {
		fmt.Fprintf(w, "\n### Peak RSS (VmHWM, MiB) of a fresh proxy process\n\n")
		var rows [][]string
		for _, rr := range r.RSS {
			rows = append(rows, []string{rr.Process, fmt.Sprintf("%.1f", rr.IdleMiB),
				fmt.Sprintf("%.1f / %.1f", rr.SinglePutMiB, rr.SingleGetMiB),
				fmt.Sprintf("%.1f / %.1f", rr.ConcPutMiB, rr.ConcGetMiB)})
		}
		single, conc := r.RSS[0].SingleSize, fmt.Sprintf("%d x %s", r.RSS[0].Streams, r.RSS[0].StreamSize)
		table(w, []string{"process", "idle", "1 x " + single + " PUT / GET", conc + " PUT / GET"}, rows)
	}
	if k := r.KMS; k != nil {
		fmt.Fprintf(w, "\n### KMS calls per request (%s deltas on the proxy's admin /metrics; %d requests per step, objects of %s, multipart %d x %s parts)\n\n",
			kmsRequests, k.Objects, k.ObjectSize, k.Parts, k.PartSize)
		var rows [][]string
		for _, row := range k.Rows {
			var others []string
			for m, v := range row.Calls {
				if m != "GenerateDataKey" && m != "Decrypt" && v != 0 {
					others = append(others, fmt.Sprintf("%s %d", m, v))
				}
			}
			sort.Strings(others)
			other := "0"
			if len(others) > 0 {
				other = strings.Join(others, ", ")
			}
			want, st := row.Want, row.Status
			if want == "" {
				want, st = "-", "-"
			}
			rows = append(rows, []string{row.Target, row.Name, row.Process, fmt.Sprint(row.Requests),
				fmt.Sprint(row.Calls["GenerateDataKey"]), fmt.Sprint(row.Calls["Decrypt"]), other,
				fmt.Sprintf("%.2f (max %d)", row.PerRequest, row.MaxPerReq), want, st})
		}
		table(w, []string{"target", "step", "process", "requests", "GenerateDataKey", "Decrypt", "other", "calls per request", "issue target", "status"}, rows)
	}
	fmt.Fprintf(w, "\n### The issue's targets\n\n")
	var rows [][]string
	for _, c := range r.Checks {
		rows = append(rows, []string{c.Target, c.Status, c.Measured})
	}
	table(w, []string{"target", "status", "measured"}, rows)
}

func num(tr *TargetResult, f func(*TargetResult) float64) string {
	if tr == nil {
		return "-"
	}
	v := f(tr)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func fmt3(m map[string]float64, k string) string {
	if v, ok := m[k]; ok {
		return fmt.Sprintf("%.3f", v)
	}
	return "-"
}

// table writes a Markdown table with padded columns.
func table(w io.Writer, head []string, rows [][]string) {
	width := make([]int, len(head))
	for i, h := range head {
		width[i] = len(h)
	}
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			fmt.Fprintf(&b, " %-*s |", width[i], c)
		}
		fmt.Fprintln(w, b.String())
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, row := range rows {
		line(row)
	}
}

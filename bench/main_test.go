package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary serve as the hop child process, as the bench binary does.
func TestMain(m *testing.M) {
	if handled, err := runRole(); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole harness at smoke sizes (-short): every target, workload and probe
// once, and a valid result file. It checks that the harness works, never how fast anything
// is. It needs MinIO and a Go toolchain, so it only runs when asked:
//
//	SSEPROXY_BENCH_SMOKE=1 go test ./bench
func TestSmoke(t *testing.T) {
	if os.Getenv("SSEPROXY_BENCH_SMOKE") != "1" {
		t.Skip("set SSEPROXY_BENCH_SMOKE=1 to run the benchmark harness in smoke mode")
	}
	o := shortOptions(newOptions())
	o.Out = filepath.Join(t.TempDir(), "results.json")
	var out strings.Builder
	res, err := run(context.Background(), o, &out)
	if err != nil {
		t.Fatalf("run(-short) = %v\n%s", err, out.String())
	}
	t.Log(out.String())
	data, err := os.ReadFile(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	var got Results
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("result file is not JSON: %v", err)
	}
	if want := len(workloads(o)); len(got.Workloads) != want {
		t.Errorf("result file has %d workloads, want %d", len(got.Workloads), want)
	}
	for _, x := range res.Workloads {
		for _, name := range o.Targets {
			if tr := x.Results[name]; tr == nil || tr.Value.Median <= 0 {
				t.Errorf("%s on %s: no positive measurement", x.Name, name)
			}
		}
	}
	for _, x := range res.Workloads {
		for _, key := range []string{"sseproxy-kms/direct", "sseproxy-kms/sseproxy"} {
			if s, ok := x.Ratios[key]; !ok || len(s.Values) == 0 {
				t.Errorf("%s: no %s ratio", x.Name, key)
			}
		}
	}
	if res.Cipher == nil || res.RangeFetch == nil || len(res.RSS) != 2 || res.KMS == nil {
		t.Fatalf("probes missing: cipher %v, range fetch %v, %d RSS results, kms %v", res.Cipher != nil, res.RangeFetch != nil, len(res.RSS), res.KMS != nil)
	}
	checkKMSCalls(t, res.KMS)
}

// checkKMSCalls holds the proxy to the KMS calls its design promises, so that a change that
// adds calls (each one a network round trip to a real KMS) fails here.
func checkKMSCalls(t *testing.T, k *KMSResult) {
	t.Helper()
	type calls map[string]int64 // method -> calls per request (per upload for kmsMultipartUpload)
	for _, tc := range []struct {
		name     string
		step     string
		min, max calls // bounds of every method; a method absent from max must not be called
	}{
		{"PUT generates one data key", kmsPut, calls{"GenerateDataKey": 1}, calls{"GenerateDataKey": 1}},
		// Create hands the key it generated to the unwrap cache, which serves every part.
		{"multipart upload generates one data key and unwraps none", kmsMultipartUpload,
			calls{"GenerateDataKey": 1}, calls{"GenerateDataKey": 1}},
		{"cold GET unwraps once", kmsColdGet, calls{"Decrypt": 1}, calls{"Decrypt": 1}},
		{"cold ranged GET unwraps once", kmsColdRangedGet, calls{"Decrypt": 1}, calls{"Decrypt": 1}},
		{"cold GET of a multipart object unwraps once", kmsColdMultipartGet, calls{"Decrypt": 1}, calls{"Decrypt": 1}},
		// Size and encryption come from the stored record: a HEAD needs no key.
		{"HEAD makes no call", kmsColdHead, nil, nil},
		{"warm GET makes no call", kmsWarmGet, nil, nil},
		{"warm ranged GET makes no call", kmsWarmRangedGet, nil, nil},
		{"warm HEAD makes no call", kmsWarmHead, nil, nil},
		{"warm GET of a multipart object makes no call", kmsWarmMultipartGet, nil, nil},
	} {
		for _, target := range []string{targetSSEProxy, targetSSEProxyKMS} {
			var row *KMSRow
			for i := range k.Rows {
				if k.Rows[i].Target == target && k.Rows[i].Step == tc.step {
					row = &k.Rows[i]
				}
			}
			if row == nil {
				t.Errorf("%s: no %s row for %s", tc.name, tc.step, target)
				continue
			}
			methods := map[string]bool{}
			for m := range row.Calls {
				methods[m] = true
			}
			for m := range tc.max {
				methods[m] = true // tc.min's keys are tc.max's
			}
			var maxTotal int64
			for m := range methods {
				maxTotal += tc.max[m]
				got, lo, hi := row.Calls[m], tc.min[m]*int64(row.Requests), tc.max[m]*int64(row.Requests)
				if got < lo || got > hi {
					t.Errorf("%s on %s: %d %s calls for %d requests, want %d-%d", tc.name, target, got, m, row.Requests, lo, hi)
				}
			}
			if row.MaxPerReq > maxTotal {
				t.Errorf("%s on %s: one request made %d KMS calls, want at most %d", tc.name, target, row.MaxPerReq, maxTotal)
			}
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"123", 123, true},
		{"512KiB", 512 << 10, true},
		{"64MiB", 64 << 20, true},
		{"10GiB", 10 << 30, true},
		{"7B", 7, true},
		{"1.5GiB", 0, false},
		{"-1MiB", 0, false},
		{"", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestPayloadDeterministic(t *testing.T) {
	const size = 3*blockSize + 1000
	a, _ := io.ReadAll(newPayload(size, 7))
	if len(a) != size {
		t.Fatalf("payload(%d) read %d bytes", size, len(a))
	}
	v := newVerifier(size, 7, 12345)
	if _, err := v.Write(a[12345:]); err != nil {
		t.Errorf("verifier rejects its own payload: %v", err)
	}
	b, _ := io.ReadAll(newPayload(size, 8))
	if string(a[:1024]) == string(b[:1024]) {
		t.Errorf("payloads of seeds 7 and 8 start alike")
	}
}

func TestParseKMSRequests(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]int64
		ok   bool
	}{
		{"absent", "# HELP go_goroutines x\ngo_goroutines 7\n", map[string]int64{}, true},
		{"two methods", `# TYPE sseproxy_kms_requests_total counter
sseproxy_kms_requests_total{method="Decrypt"} 3
sseproxy_kms_requests_total{method="GenerateDataKey"} 12
sseproxy_kms_request_duration_seconds_count{method="Decrypt"} 3
`, map[string]int64{"Decrypt": 3, "GenerateDataKey": 12}, true},
		{"exponent and timestamp", `sseproxy_kms_requests_total{method="Decrypt"} 1e+06 1700000000000` + "\n", map[string]int64{"Decrypt": 1000000}, true},
		{"more labels", `sseproxy_kms_requests_total{instance="a",method="Rewrap"} 2` + "\n", map[string]int64{"Rewrap": 2}, true},
		{"no method", `sseproxy_kms_requests_total{kind="x"} 2` + "\n", nil, false},
		{"no value", `sseproxy_kms_requests_total{method="Decrypt"}` + "\n", nil, false},
	} {
		got, err := parseKMSRequests(strings.NewReader(tc.in))
		if (err == nil) != tc.ok || (tc.ok && !maps.Equal(got, tc.want)) {
			t.Errorf("%s: parseKMSRequests = %v, %v; want %v, ok %v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

// TestCPUChecks: the CPU targets are judged against the measured floor of an encrypting hop
// (the hop's CPU plus the cipher work a proxy cannot avoid), and a target below that floor is
// reported as out of reach rather than as a plain miss.
func TestCPUChecks(t *testing.T) {
	cipher := &CipherResult{Rows: []CipherCost{
		{Name: "payload generator (memcpy)", CPUSecPerGiB: 0.05},
		{Name: "SHA-256 (SigV4 chunk verification)", CPUSecPerGiB: 0.85},
		{Name: "sse.EncryptReader (generator -> DARE)", CPUSecPerGiB: 0.40},
		{Name: "sse.DecryptReader (memory -> plaintext)", CPUSecPerGiB: 0.33},
	}}
	tests := []struct {
		name          string
		group         string
		unsigned      bool
		hop, sseproxy float64
		target        string
		wantStatus    string
		wantFloor     string
	}{
		{"GET under the target", cpuGroupGET, false, 0.6, 0.98, "proxy CPU <= 1.0 s/GiB on GET", "met", "floor 0.930"},
		{"GET over the target, floor under it", cpuGroupGET, false, 0.6, 1.10, "proxy CPU <= 1.0 s/GiB on GET", "missed", "floor 0.930"},
		{"GET over the target, floor over it", cpuGroupGET, false, 0.8, 1.20, "proxy CPU <= 1.0 s/GiB on GET",
			"missed (out of reach: the floor is above the target)", "floor 1.130"},
		{"signed PUT pays SHA-256", cpuGroupPUT, false, 0.7, 1.85, "proxy CPU <= 1.3 s/GiB on PUT",
			"missed (out of reach: the floor is above the target)", "floor 1.850"},
		{"unsigned PUT", cpuGroupPUT, true, 0.7, 1.2, "proxy CPU <= 1.3 s/GiB on PUT", "met", "floor 1.050"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Results{
				Options: map[string]any{"unsigned_payload": tt.unsigned},
				CPU:     []CPURow{{Group: tt.group, Proxy: map[string]float64{targetHop: tt.hop, targetSSEProxy: tt.sseproxy}}},
				Cipher:  cipher,
			}
			for _, c := range r.checks() {
				if c.Target != tt.target {
					continue
				}
				if c.Status != tt.wantStatus || !strings.Contains(c.Measured, tt.wantFloor) {
					t.Errorf("check = %q, %q; want status %q and %q", c.Status, c.Measured, tt.wantStatus, tt.wantFloor)
				}
				return
			}
			t.Fatalf("no check %q", tt.target)
		})
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	if res.Cipher == nil || res.RangeFetch == nil || len(res.RSS) != 2 {
		t.Errorf("probes missing: cipher %v, range fetch %v, %d RSS results", res.Cipher != nil, res.RangeFetch != nil, len(res.RSS))
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

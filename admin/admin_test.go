package admin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/proxy"
)

var _ proxy.Observer = (*Metrics)(nil)

// get serves one GET of path and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

// series returns the samples of a Prometheus text exposition, keyed
// `name{label="value",...}` with labels sorted by name.
func series(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[normalize(line[:i])] = v
	}
	return out
}

// normalize sorts the labels of a series name: the exposition puts "le"
// last, key sorts it with the others. Label values here hold no commas.
func normalize(s string) string {
	open := strings.IndexByte(s, '{')
	if open < 0 || !strings.HasSuffix(s, "}") {
		return s
	}
	labels := strings.Split(s[open+1:len(s)-1], ",")
	sort.Strings(labels)
	return s[:open] + "{" + strings.Join(labels, ",") + "}"
}

// key builds a series key from a name and label pairs.
func key(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

func TestHealthz(t *testing.T) {
	h := NewHandler(Options{Checks: []Check{{"backend", func(context.Context) error { return errors.New("down") }}}})
	if code, body := get(t, h, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\" whatever the checks say", code, body)
	}
	if code, _ := get(t, h, "/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics without a Gatherer = %d, want 404", code)
	}
	if code, _ := get(t, h, "/bucket/key"); code != http.StatusNotFound {
		t.Errorf("GET /bucket/key = %d, want 404", code)
	}
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	slow := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name     string
		checks   []Check
		drain    bool
		wantCode int
		wantBody string
	}{
		{"no checks", nil, false, 200, "\n"},
		{"all ok", []Check{{"backend", ok}, {"kms", ok}}, false, 200, "backend: ok\nkms: ok\n"},
		{"one failing", []Check{{"backend", func(context.Context) error { return errors.New("connection refused") }}, {"kms", ok}},
			false, 503, "backend: connection refused\nkms: ok\n"},
		{"probe timeout", []Check{{"tls", slow}}, false, 503, "tls: context deadline exceeded\n"},
		{"draining", []Check{{"backend", ok}}, true, 503, "shutting down\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(Options{Checks: tt.checks, Timeout: 20 * time.Millisecond})
			if tt.drain {
				h.Drain()
			}
			if code, body := get(t, h, "/readyz"); code != tt.wantCode || body != tt.wantBody {
				t.Errorf("GET /readyz = %d %q, want %d %q", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	reg := NewRegistry("v1.2.3")
	m := NewMetrics(reg)
	m.RequestStarted("PutObject")
	m.RequestStarted("PutObject")
	m.RequestStarted("GetObject")
	m.RequestDone("PutObject", 200, 1000, 0, 20*time.Millisecond)
	m.RequestDone("GetObject", 404, 0, 250, 3*time.Millisecond)
	m.CryptoFailure("decrypt")

	code, text := get(t, NewHandler(Options{Gatherer: reg}), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	got := series(t, text)
	want := map[string]float64{
		key("sseproxy_build_info", "version", "v1.2.3"):                                   1,
		key("sseproxy_requests_total", "op", "PutObject", "status", "200"):                1,
		key("sseproxy_requests_total", "op", "GetObject", "status", "404"):                1,
		key("sseproxy_requests_in_flight", "op", "PutObject"):                             1,
		key("sseproxy_requests_in_flight", "op", "GetObject"):                             0,
		key("sseproxy_received_bytes_total", "op", "PutObject"):                           1000,
		key("sseproxy_sent_bytes_total", "op", "GetObject"):                               250,
		key("sseproxy_request_duration_seconds_count", "op", "PutObject"):                 1,
		key("sseproxy_request_duration_seconds_bucket", "op", "PutObject", "le", "0.025"): 1,
		key("sseproxy_request_duration_seconds_bucket", "op", "PutObject", "le", "0.01"):  0,
		key("sseproxy_crypto_failures_total", "kind", "decrypt"):                          1,
		key("sseproxy_crypto_failures_total", "kind", "kms"):                              0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Errorf("go_goroutines missing: the Go collector is not registered")
	}
}

// failingKMS fails every call with err.
type failingKMS struct{ err error }

func (f failingKMS) GenerateDataKey(context.Context, string, []byte) (keys.DataKey, error) {
	return keys.DataKey{}, f.err
}
func (f failingKMS) Decrypt(context.Context, string, []byte, []byte) ([]byte, error) {
	return nil, f.err
}

func TestInstrumentKMS(t *testing.T) {
	ring, err := keys.OpenKeyring(keys.KeyringOptions{Path: filepath.Join(t.TempDir(), "keys.json"), CreateIfMissing: true, DefaultKeyName: "default"})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	k := InstrumentKMS(ring, reg)
	if _, ok := k.(keys.Rewrapper); !ok {
		t.Errorf("InstrumentKMS(keyring) lost keys.Rewrapper")
	}
	if _, ok := k.(keys.Versioner); !ok {
		t.Errorf("InstrumentKMS(keyring) lost keys.Versioner")
	}
	ctx := context.Background()
	dk, err := k.GenerateDataKey(ctx, "", []byte("b/o"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Decrypt(ctx, dk.KeyID, dk.Ciphertext, []byte("b/o")); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Decrypt(ctx, dk.KeyID, dk.Ciphertext, []byte("b/other")); !errors.Is(err, keys.ErrDecrypt) {
		t.Fatalf("Decrypt(wrong associated data) = %v, want ErrDecrypt passed through", err)
	}
	if _, err := k.GenerateDataKey(ctx, "missing", nil); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("GenerateDataKey(missing) = %v, want ErrNotFound", err)
	}
	if _, _, err := k.(keys.Rewrapper).Rewrap(ctx, dk.KeyID, dk.Ciphertext, []byte("b/o"), ""); err != nil {
		t.Fatal(err)
	}

	plain := InstrumentKMS(failingKMS{fmt.Errorf("kms: %w", keys.ErrUnavailable)}, prometheus.NewRegistry())
	if _, ok := plain.(keys.Rewrapper); ok {
		t.Errorf("InstrumentKMS(plain KMS) claims keys.Rewrapper")
	}

	code, text := get(t, NewHandler(Options{Gatherer: reg}), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	got := series(t, text)
	want := map[string]float64{
		key("sseproxy_kms_requests_total", "method", "GenerateDataKey"):                    2,
		key("sseproxy_kms_requests_total", "method", "Decrypt"):                            2,
		key("sseproxy_kms_requests_total", "method", "Rewrap"):                             1,
		key("sseproxy_kms_errors_total", "method", "Decrypt", "kind", "decrypt"):           1,
		key("sseproxy_kms_errors_total", "method", "GenerateDataKey", "kind", "not_found"): 1,
		key("sseproxy_kms_request_duration_seconds_count", "method", "Decrypt"):            2,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{keys.ErrNotFound, "not_found"},
		{fmt.Errorf("keys: %q: %w", "k", keys.ErrDisabled), "disabled"},
		{keys.ErrDecrypt, "decrypt"},
		{keys.ErrUnavailable, "unavailable"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "unavailable"},
		{context.Canceled, "canceled"},
		{errors.New("boom"), "other"},
	}
	for _, tt := range tests {
		if got := errorKind(tt.err); got != tt.want {
			t.Errorf("errorKind(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestPprof: the profiler is served only when asked for.
func TestPprof(t *testing.T) {
	for _, on := range []bool{false, true} {
		srv := httptest.NewServer(NewHandler(Options{Pprof: on}))
		resp, err := http.Get(srv.URL + "/debug/pprof/")
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Errorf("GET /debug/pprof/ with Pprof %v = %d, want %d", on, resp.StatusCode, want)
		}
	}
}

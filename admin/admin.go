// Package admin is sseproxy's operator surface, served on a listener of its
// own, apart from the S3 path space:
//
//	GET /healthz   200 "ok" while the process serves (liveness)
//	GET /readyz    200 when every readiness check passes, 503 otherwise
//	               and while draining for shutdown (readiness)
//	GET /metrics   Prometheus metrics
//
// It also holds the metrics themselves: [Metrics] for requests (a
// proxy.Observer) and [InstrumentKMS] for KMS calls.
package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Check is one readiness dependency.
type Check struct {
	// Name identifies the dependency in /readyz answers and logs:
	// "backend", "kms", "tls".
	Name string
	// Probe returns nil when the dependency is usable. It must honour ctx,
	// which carries Options.Timeout, and be cheap: it runs on every /readyz.
	Probe func(ctx context.Context) error
}

// Options configures a Handler.
type Options struct {
	// Checks are probed, concurrently, on every /readyz.
	Checks []Check
	// Timeout bounds each probe; default 2s.
	Timeout time.Duration
	// Gatherer serves /metrics; nil serves 404 there.
	Gatherer prometheus.Gatherer
	// Logger receives readiness changes; default none.
	Logger *zap.Logger
	// Pprof serves Go's profiler under /debug/pprof/ (CPU, heap,
	// allocations, goroutines); default off.
	Pprof bool
}

// Handler serves the admin endpoints. It is safe for concurrent use.
type Handler struct {
	o        Options
	mux      *http.ServeMux
	draining atomic.Bool
	mu       sync.Mutex
	lastBad  string // the failures of the last /readyz, to log changes only
}

// NewHandler returns a Handler for o.
func NewHandler(o Options) *Handler {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	h := &Handler{o: o, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	h.mux.HandleFunc("GET /readyz", h.readyz)
	if o.Gatherer != nil {
		h.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	if o.Pprof {
		h.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		h.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		h.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		h.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		h.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Drain makes /readyz answer 503 from now on, so load balancers stop
// sending new requests while the proxy shuts down.
func (h *Handler) Drain() { h.draining.Store(true) }

// Ready probes every check and returns one line per check ("backend: ok",
// "tls: no certificate yet for ...") and whether all passed.
func (h *Handler) Ready(ctx context.Context) (lines []string, ok bool) {
	results := make([]error, len(h.o.Checks))
	var wg sync.WaitGroup
	for i, c := range h.o.Checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
			defer cancel()
			results[i] = c.Probe(ctx)
		})
	}
	wg.Wait()
	ok = true
	for i, c := range h.o.Checks {
		if err := results[i]; err != nil {
			ok = false
			lines = append(lines, fmt.Sprintf("%s: %v", c.Name, err))
		} else {
			lines = append(lines, c.Name+": ok")
		}
	}
	return lines, ok
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeText(w, http.StatusServiceUnavailable, "shutting down\n")
		return
	}
	lines, ok := h.Ready(r.Context())
	body := strings.Join(lines, "\n") + "\n"
	h.logChange(ok, lines)
	if !ok {
		writeText(w, http.StatusServiceUnavailable, body)
		return
	}
	writeText(w, http.StatusOK, body)
}

// logChange logs the readiness result when it differs from the last one.
func (h *Handler) logChange(ok bool, lines []string) {
	bad := ""
	if !ok {
		bad = strings.Join(lines, "; ")
	}
	h.mu.Lock()
	changed := bad != h.lastBad
	h.lastBad = bad
	h.mu.Unlock()
	switch {
	case changed && ok:
		h.o.Logger.Info("ready")
	case changed:
		h.o.Logger.Warn("not ready", zap.String("reason", bad))
	}
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

package admin

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric sseproxy exports.
const Namespace = "sseproxy"

// Latency buckets in seconds. Requests run from a millisecond (HEAD) to
// minutes (a multi-gigabyte upload from a slow client).
var requestBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// Metrics records what the proxy measures as Prometheus metrics. It
// implements proxy.Observer and is safe for concurrent use:
//
//	sseproxy_requests_total{op,status}            finished requests
//	sseproxy_request_duration_seconds{op}         their latency (histogram)
//	sseproxy_requests_in_flight{op}               requests being served
//	sseproxy_received_bytes_total{op}             request body bytes read from clients
//	sseproxy_sent_bytes_total{op}                 response body bytes written to clients
//	sseproxy_crypto_failures_total{kind}          "decrypt" (authentication) or "kms" failures
//
// op is the S3 operation ("PutObject", "Unsupported", ...) and status the
// HTTP status, 499 for a request whose response never started (the client
// left or the stream was aborted).
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	crypto   *prometheus.CounterVec
}

// NewMetrics creates the request metrics and registers them with reg. It
// panics if they are registered already, like prometheus.MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "requests_total",
			Help: "S3 requests served, by operation and HTTP status (499: the response never started).",
		}, []string{"op", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by operation.",
			Buckets: requestBuckets,
		}, []string{"op"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "requests_in_flight",
			Help: "S3 requests being served, by operation.",
		}, []string{"op"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "received_bytes_total",
			Help: "Request body bytes read from clients, as sent (including any aws-chunked framing), by operation.",
		}, []string{"op"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sent_bytes_total",
			Help: "Response body bytes written to clients, by operation.",
		}, []string{"op"}),
		crypto: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "crypto_failures_total",
			Help: `Cryptographic failures: "decrypt" (stored data or a wrapped key failed authentication) or "kms" (the KMS was unavailable).`,
		}, []string{"kind"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.bytesIn, m.bytesOut, m.crypto)
	// The kinds exist from the start, so alerts on rate() see a zero.
	m.crypto.WithLabelValues("decrypt")
	m.crypto.WithLabelValues("kms")
	return m
}

// RequestStarted counts a request in flight.
func (m *Metrics) RequestStarted(op string) { m.inFlight.WithLabelValues(op).Inc() }

// RequestDone records a finished request.
func (m *Metrics) RequestDone(op string, status int, bytesIn, bytesOut int64, d time.Duration) {
	m.inFlight.WithLabelValues(op).Dec()
	m.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(op).Observe(d.Seconds())
	m.bytesIn.WithLabelValues(op).Add(float64(bytesIn))
	m.bytesOut.WithLabelValues(op).Add(float64(bytesOut))
}

// CryptoFailure counts a cryptographic failure of kind.
func (m *Metrics) CryptoFailure(kind string) { m.crypto.WithLabelValues(kind).Inc() }

// NewRegistry returns a registry holding the Go runtime and process
// collectors and sseproxy_build_info{version} = 1.
func NewRegistry(version string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "build_info",
			Help:        "Always 1; the version label tells which sseproxy runs.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
	)
	return reg
}

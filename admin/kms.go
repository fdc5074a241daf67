package admin

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sseproxy/sseproxy/keys"
)

// KMS latency buckets in seconds: a local keyring answers in microseconds,
// a remote KMS in milliseconds, a struggling one in seconds.
var kmsBuckets = []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// kmsMetrics are the KMS call metrics:
//
//	sseproxy_kms_requests_total{method}             calls made
//	sseproxy_kms_errors_total{method,kind}          failed calls
//	sseproxy_kms_request_duration_seconds{method}   their latency (histogram)
//
// kind is "not_found", "disabled", "decrypt", "unavailable", "canceled" or
// "other"; see errorKind.
type kmsMetrics struct {
	calls    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// InstrumentKMS returns k with every call counted, timed and its errors
// classified, in metrics registered with reg (call it once per registry).
// The result keeps the optional capabilities of k (keys.Rewrapper,
// keys.Versioner) and passes calls, arguments and errors through unchanged.
func InstrumentKMS(k keys.KMS, reg prometheus.Registerer) keys.KMS {
	m := &kmsMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "kms", Name: "requests_total",
			Help: "Calls to the KMS, by method.",
		}, []string{"method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "kms", Name: "errors_total",
			Help: "Failed calls to the KMS, by method and kind (not_found, disabled, decrypt, unavailable, canceled, other).",
		}, []string{"method", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "kms", Name: "request_duration_seconds",
			Help:    "Latency of calls to the KMS, by method.",
			Buckets: kmsBuckets,
		}, []string{"method"}),
	}
	reg.MustRegister(m.calls, m.errors, m.duration)

	base := &instrumentedKMS{next: k, m: m}
	r, isRewrapper := k.(keys.Rewrapper)
	v, isVersioner := k.(keys.Versioner)
	ir := &instrumentedRewrapper{next: r, m: m}
	iv := &instrumentedVersioner{next: v, m: m}
	switch {
	case isRewrapper && isVersioner:
		return &struct {
			*instrumentedKMS
			*instrumentedRewrapper
			*instrumentedVersioner
		}{base, ir, iv}
	case isRewrapper:
		return &struct {
			*instrumentedKMS
			*instrumentedRewrapper
		}{base, ir}
	case isVersioner:
		return &struct {
			*instrumentedKMS
			*instrumentedVersioner
		}{base, iv}
	}
	return base
}

// observe records one call of method that started at start and ended with err.
func (m *kmsMetrics) observe(method string, start time.Time, err error) {
	m.calls.WithLabelValues(method).Inc()
	m.duration.WithLabelValues(method).Observe(time.Since(start).Seconds())
	if err != nil {
		m.errors.WithLabelValues(method, errorKind(err)).Inc()
	}
}

// errorKind classifies a KMS error by the sentinels of package keys.
func errorKind(err error) string {
	switch {
	case errors.Is(err, keys.ErrNotFound):
		return "not_found"
	case errors.Is(err, keys.ErrDisabled):
		return "disabled"
	case errors.Is(err, keys.ErrDecrypt):
		return "decrypt"
	case errors.Is(err, keys.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return "unavailable"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "other"
}

type instrumentedKMS struct {
	next keys.KMS
	m    *kmsMetrics
}

func (k *instrumentedKMS) GenerateDataKey(ctx context.Context, keyID string, ad []byte) (keys.DataKey, error) {
	start := time.Now()
	dk, err := k.next.GenerateDataKey(ctx, keyID, ad)
	k.m.observe("GenerateDataKey", start, err)
	return dk, err
}

func (k *instrumentedKMS) Decrypt(ctx context.Context, keyID string, ciphertext, ad []byte) ([]byte, error) {
	start := time.Now()
	key, err := k.next.Decrypt(ctx, keyID, ciphertext, ad)
	k.m.observe("Decrypt", start, err)
	return key, err
}

type instrumentedRewrapper struct {
	next keys.Rewrapper
	m    *kmsMetrics
}

func (k *instrumentedRewrapper) Rewrap(ctx context.Context, fromKeyID string, ciphertext, ad []byte, toKeyID string) ([]byte, string, error) {
	start := time.Now()
	out, id, err := k.next.Rewrap(ctx, fromKeyID, ciphertext, ad, toKeyID)
	k.m.observe("Rewrap", start, err)
	return out, id, err
}

type instrumentedVersioner struct {
	next keys.Versioner
	m    *kmsMetrics
}

// WrappedVersion parses a wrapped key locally: not a KMS call, not counted.
func (k *instrumentedVersioner) WrappedVersion(ciphertext []byte) (string, bool) {
	return k.next.WrappedVersion(ciphertext)
}

func (k *instrumentedVersioner) CurrentVersion(ctx context.Context, keyID string) (string, error) {
	start := time.Now()
	v, err := k.next.CurrentVersion(ctx, keyID)
	k.m.observe("CurrentVersion", start, err)
	return v, err
}

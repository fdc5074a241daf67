package proxy

import (
	"errors"
	"time"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/sse"
)

// Observer receives what the proxy measures (metrics). Implementations
// must be safe for concurrent use and fast: they run on the request path.
type Observer interface {
	// RequestStarted and RequestDone bracket every request.
	RequestStarted(op string)
	// RequestDone reports a finished request: its operation, HTTP status,
	// body bytes received from the client and sent to it, and duration.
	RequestDone(op string, status int, bytesIn, bytesOut int64, d time.Duration)
	// CryptoFailure reports a decryption that failed authentication
	// ("decrypt") or a failed data-key operation ("kms").
	CryptoFailure(kind string)
}

type nopObserver struct{}

func (nopObserver) RequestStarted(string)                                {}
func (nopObserver) RequestDone(string, int, int64, int64, time.Duration) {}
func (nopObserver) CryptoFailure(string)                                 {}

// observeError reports crypto failures among request errors.
func observeError(o Observer, err error) {
	switch {
	case errors.Is(err, sse.ErrAuthentication), errors.Is(err, sse.ErrInvalidRecord), errors.Is(err, keys.ErrDecrypt):
		o.CryptoFailure("decrypt")
	case errors.Is(err, keys.ErrUnavailable):
		o.CryptoFailure("kms")
	}
}

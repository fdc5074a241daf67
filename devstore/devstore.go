// Package devstore is the embedded S3-compatible object store of development
// mode: when the configuration names no backend endpoint, the proxy starts a
// Store and uses it as its backend.
//
// A Store is a real S3 server, github.com/johannesboyne/gofakes3, listening
// on a free loopback port and persisting to a data directory with gofakes3's
// file-system backend (s3afero): each object is a file under
// <dir>/buckets/<bucket>/<key>, its metadata a JSON file under
// <dir>/metadata. That backend was chosen over the bbolt one (s3bolt) because
// it streams object bodies to and from files and serves ranges by seeking,
// where s3bolt reads every object whole into memory, stores it as one BSON
// value and returns ranges by slicing that value; both persist metadata.
//
// The store accepts any credentials and checks no signature: it listens on
// loopback only and only the proxy talks to it. It is for development, not
// production. Between the HTTP server and gofakes3 it decodes every
// aws-chunked body variant (gofakes3 alone stores multipart parts with their
// chunk framing), and serves ?partNumber reads and the If-Match and
// If-Unmodified-Since preconditions that gofakes3 ignores; around gofakes3's
// backend it gives exact object metadata, metadata-directive-aware copies,
// uploads that never leave a partial object, multipart uploads whose parts
// are files and whose part sizes are kept with the object, and sorted,
// paginated listings (see normalize, reads, backend and multipart.go).
//
// Limits that remain: no versioning or UploadPartCopy; Cache-Control,
// Content-Language and Expires are not stored; uploads in progress do not
// survive a restart; parts under S3's 5 MiB minimum are accepted; HEAD and
// GET report the MD5 of a multipart object, not the "-N" ETag its
// completion returned; a key cannot be both an object and a "directory" of
// other keys ("a" and "a/b"), nor end in or double a '/'; keys are at most
// 222 bytes (S3 allows 1024); and two processes must not share a data
// directory.
package devstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// Options configures [Start].
type Options struct {
	// Dir is the data directory, created (mode 0700) if missing. Required:
	// where data lives must never be implicit; the configuration supplies
	// its default (backend.data_dir).
	Dir string
	// Logger receives the store's errors and warnings, and gofakes3's
	// per-request trace at debug level. Nil discards everything.
	Logger *slog.Logger
}

// Store is a running development store. Its methods are safe for concurrent
// use.
type Store struct {
	endpoint string
	srv      *http.Server
	served   chan error // Serve's result

	closeOnce sync.Once
	closeErr  error
}

// shutdownTimeout bounds how long Close waits for requests in flight.
const shutdownTimeout = 5 * time.Second

// Start opens the data directory and serves it on 127.0.0.1 on a free port.
func Start(o Options) (*Store, error) {
	if o.Dir == "" {
		return nil, errors.New("devstore: Options.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("devstore: %w", err)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b, err := newBackend(dir)
	if err != nil {
		return nil, fmt.Errorf("devstore: open %s: %w", dir, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devstore: %w", err)
	}
	s := &Store{
		endpoint: "http://" + ln.Addr().String(),
		srv: &http.Server{
			Handler:           handler(b, logger),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		served: make(chan error, 1),
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// handler serves b over S3: gofakes3 between the middleware that fixes up
// requests (normalize) and object reads (reads).
func handler(b *backend, logger *slog.Logger) http.Handler {
	faker := gofakes3.New(b,
		gofakes3.WithLogger(fakesLogger{logger}),
		// backend enforces S3's limit on user metadata; gofakes3's own limit
		// also counts signing headers and would be stricter than S3.
		gofakes3.WithMetadataSizeLimit(0),
	)
	return normalize(bucketTagging(b, reads(b, faker.Server())))
}

// Endpoint returns the store's base URL, "http://127.0.0.1:PORT".
func (s *Store) Endpoint() string { return s.endpoint }

// Close stops the store: it waits up to 5 seconds for requests in flight,
// then drops them. Calling Close again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.srv.Close()
			s.closeErr = fmt.Errorf("devstore: close: %w", err)
		}
		if err := <-s.served; !errors.Is(err, http.ErrServerClosed) && s.closeErr == nil {
			s.closeErr = fmt.Errorf("devstore: serve: %w", err)
		}
	})
	return s.closeErr
}

// fakesLogger adapts slog to gofakes3.Logger. gofakes3 logs every request
// at INFO; that is debug detail for the proxy.
type fakesLogger struct{ l *slog.Logger }

func (f fakesLogger) Print(level gofakes3.LogLevel, v ...any) {
	msg := strings.TrimSuffix(fmt.Sprintln(v...), "\n")
	switch level {
	case gofakes3.LogErr:
		f.l.Error(msg, "component", "devstore")
	case gofakes3.LogWarn:
		f.l.Warn(msg, "component", "devstore")
	default:
		f.l.Debug(msg, "component", "devstore")
	}
}

// Compile-time check that the adapter fits.
var _ gofakes3.Logger = fakesLogger{}

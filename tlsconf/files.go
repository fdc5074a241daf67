package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// FilesOptions configures a Files source.
type FilesOptions struct {
	// CertFile and KeyFile are the PEM certificate chain and private key;
	// both are required.
	CertFile, KeyFile string
	// Interval is how often Run checks the files for changes; 0 means Run
	// only waits for ctx, leaving reloads to Reload (SIGHUP).
	Interval time.Duration
	// Logger receives a line per reload and per failed reload; default none.
	Logger *zap.Logger
}

// Files serves the certificate of a certificate file and a key file and
// swaps in a new pair when the files change. A pair that fails to load
// (missing file, half-written replacement, key not matching the
// certificate) is reported and the previous pair kept, so a botched
// rotation never takes the listener down. Safe for concurrent use.
type Files struct {
	o   FilesOptions
	mu  sync.Mutex // serializes reloads
	cur atomic.Pointer[filePair]
}

// filePair is a loaded certificate and what its files looked like when it
// was read.
type filePair struct {
	cert      *tls.Certificate
	certStamp stamp
	keyStamp  stamp
}

// stamp identifies a version of a file: a rename (a Kubernetes secret
// update, an atomic replacement) changes the file's identity, an in-place
// write its modification time or size.
type stamp struct {
	info fs.FileInfo
}

func (a stamp) same(b stamp) bool {
	if a.info == nil || b.info == nil {
		return false
	}
	return os.SameFile(a.info, b.info) && a.info.ModTime().Equal(b.info.ModTime()) && a.info.Size() == b.info.Size()
}

// NewFiles loads the pair once and returns the source; an error means the
// pair cannot serve.
func NewFiles(o FilesOptions) (*Files, error) {
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, errors.New("tlsconf: CertFile and KeyFile are required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	f := &Files{o: o}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Reload reads the files again and serves the pair from the next handshake
// on. On error the previous pair stays in use.
func (f *Files) Reload() error {
	_, err := f.reload(true)
	return err
}

// reload loads the pair if force is set or either file changed since the
// last successful load; it reports whether a new pair was installed.
func (f *Files) reload(force bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	certStamp, err1 := statFile(f.o.CertFile)
	keyStamp, err2 := statFile(f.o.KeyFile)
	if err := errors.Join(err1, err2); err != nil {
		return false, err
	}
	old := f.cur.Load()
	if !force && old != nil && old.certStamp.same(certStamp) && old.keyStamp.same(keyStamp) {
		return false, nil
	}
	cert, err := tls.LoadX509KeyPair(f.o.CertFile, f.o.KeyFile)
	if err != nil {
		return false, fmt.Errorf("tlsconf: loading %s and %s: %w", f.o.CertFile, f.o.KeyFile, err)
	}
	// The files may have changed between stat and read; then the next
	// check sees new stamps and loads again, which is harmless.
	f.cur.Store(&filePair{cert: &cert, certStamp: certStamp, keyStamp: keyStamp})
	leaf := cert.Leaf
	f.o.Logger.Info("TLS certificate loaded", zap.String("cert_file", f.o.CertFile),
		zap.String("subject", leaf.Subject.String()), zap.Strings("dns_names", leaf.DNSNames),
		zap.String("serial", leaf.SerialNumber.String()), zap.Time("not_after", leaf.NotAfter))
	return true, nil
}

func statFile(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, fmt.Errorf("tlsconf: %w", err)
	}
	return stamp{info: fi}, nil
}

// Run checks the files every Interval and reloads them when they changed,
// until ctx is done. Failures are logged; the next change is tried again.
func (f *Files) Run(ctx context.Context) {
	if f.o.Interval <= 0 {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(f.o.Interval)
	defer tick.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_, err := f.reload(false)
		switch {
		case err != nil && err.Error() != lastErr:
			// Logged once per distinct failure, not on every tick.
			f.o.Logger.Error("TLS certificate reload failed; still serving the previous certificate", zap.Error(err))
			lastErr = err.Error()
		case err == nil:
			lastErr = ""
		}
	}
}

// Certificate returns the certificate in use.
func (f *Files) Certificate() *tls.Certificate { return f.cur.Load().cert }

// TLSConfig returns the listener configuration serving the current pair.
func (f *Files) TLSConfig() *tls.Config {
	return serverConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return f.cur.Load().cert, nil
	})
}

// Ready reports an error when the certificate in use has expired or is not
// yet valid.
func (f *Files) Ready(context.Context) error {
	return checkValidity(f.cur.Load().cert.Leaf, time.Now())
}

func checkValidity(leaf *x509.Certificate, now time.Time) error {
	switch {
	case now.After(leaf.NotAfter):
		return fmt.Errorf("certificate %s expired at %s", leaf.Subject, leaf.NotAfter.Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("certificate %s is not valid before %s", leaf.Subject, leaf.NotBefore.Format(time.RFC3339))
	}
	return nil
}

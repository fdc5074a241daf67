package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// ACMEOptions configures an ACME source.
type ACMEOptions struct {
	// Domains are the names to obtain certificates for; at least one.
	Domains []string
	// Email is the ACME account's contact address; optional.
	Email string
	// CA is the ACME directory URL; default Let's Encrypt production.
	CA string
	// CARootFile is a PEM file of roots trusted for talking to CA instead of
	// the system roots (a private ACME server); optional.
	CARootFile string
	// Storage is the directory of accounts, certificates and keys; required.
	Storage string
	// HTTPChallenge and TLSALPNChallenge enable the challenge types; at least
	// one must be set.
	HTTPChallenge, TLSALPNChallenge bool
	// HTTPPort and TLSPort are the local ports the CA's HTTP-01 and
	// TLS-ALPN-01 validations arrive at (default 80 and 443). When nothing
	// of ours listens there, a listener is opened on ListenHost:port while a
	// challenge is pending; when the redirect listener (see HTTPHandler) or
	// the TLS listener already does, it answers.
	HTTPPort, TLSPort int
	// ListenHost is the host such challenge listeners bind; "" means all
	// interfaces.
	ListenHost string
	// RenewInterval is how often certificates are checked for renewal;
	// default certmagic.DefaultRenewCheckInterval (10m). certmagic renews in
	// the last third of a certificate's lifetime, or when the CA's renewal
	// info (ARI) says so.
	RenewInterval time.Duration
	// Logger receives certmagic's log; default none.
	Logger *zap.Logger
}

// ACME obtains and renews certificates for its domains from an ACME CA and
// serves them. It never calls certmagic.HTTPS: the caller owns the servers
// (and their timeouts) and plugs in TLSConfig and HTTPHandler.
type ACME struct {
	domains []string
	cache   *certmagic.Cache
	cfg     *certmagic.Config
	issuer  *certmagic.ACMEIssuer
	cancel  context.CancelFunc
}

// NewACME returns an ACME source. It reads CARootFile but contacts nobody;
// Start begins obtaining certificates.
func NewACME(o ACMEOptions) (*ACME, error) {
	if len(o.Domains) == 0 {
		return nil, errors.New("tlsconf: ACME needs at least one domain")
	}
	if o.Storage == "" {
		return nil, errors.New("tlsconf: ACME needs a storage directory")
	}
	if !o.HTTPChallenge && !o.TLSALPNChallenge {
		return nil, errors.New("tlsconf: ACME needs at least one challenge type")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	var roots *x509.CertPool
	if o.CARootFile != "" {
		pem, err := os.ReadFile(o.CARootFile)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: ACME CA root: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsconf: ACME CA root %s: no PEM certificate found", o.CARootFile)
		}
	}
	domains := make([]string, len(o.Domains))
	for i, d := range o.Domains {
		domains[i] = strings.ToLower(d)
	}

	a := &ACME{domains: domains}
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return a.cfg, nil },
		RenewCheckInterval: o.RenewInterval,
		Logger:             o.Logger,
	})
	a.cfg = certmagic.New(a.cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: o.Storage},
		Logger:  o.Logger,
		// Clients that send no SNI (e.g. connecting by IP address) still
		// get a certificate.
		DefaultServerName: domains[0],
	})
	a.issuer = certmagic.NewACMEIssuer(a.cfg, certmagic.ACMEIssuer{
		CA:                      o.CA,
		Email:                   o.Email,
		Agreed:                  true,
		TrustedRoots:            roots,
		DisableHTTPChallenge:    !o.HTTPChallenge,
		DisableTLSALPNChallenge: !o.TLSALPNChallenge,
		AltHTTPPort:             o.HTTPPort,
		AltTLSALPNPort:          o.TLSPort,
		ListenHost:              o.ListenHost,
		Logger:                  o.Logger,
	})
	a.cfg.Issuers = []certmagic.Issuer{a.issuer}
	return a, nil
}

// Start loads the certificates kept in storage and obtains or renews the
// others in the background, retrying with backoff; it keeps renewing them
// until Stop. Call it once the listeners that answer challenges accept
// connections. Progress and failures go to the log; Ready tells when every
// domain has a certificate.
func (a *ACME) Start(ctx context.Context) error {
	ctx, a.cancel = context.WithCancel(ctx)
	if err := a.cfg.ManageAsync(ctx, a.domains); err != nil {
		return fmt.Errorf("tlsconf: ACME: %w", err)
	}
	return nil
}

// Stop ends certificate maintenance and pending orders.
func (a *ACME) Stop() {
	if a.cancel != nil {
		a.cancel()
	}
	a.cache.Stop()
}

// TLSConfig returns the listener configuration: managed certificates, and
// answers to TLS-ALPN-01 challenges (ALPN "acme-tls/1").
func (a *ACME) TLSConfig() *tls.Config {
	// certmagic's own TLSConfig() only offers acme-tls/1: keep its
	// GetCertificate and offer HTTP as well.
	return serverConfig(a.cfg.TLSConfig().GetCertificate, "acme-tls/1")
}

// HTTPHandler answers HTTP-01 challenges and passes every other request to
// next. Mount it on the plain-HTTP (redirect) listener.
func (a *ACME) HTTPHandler(next http.Handler) http.Handler {
	return a.issuer.HTTPChallengeHandler(next)
}

// Domains returns the names the source obtains certificates for.
func (a *ACME) Domains() []string { return a.domains }

// Ready reports an error naming each domain without a valid certificate in
// memory.
func (a *ACME) Ready(context.Context) error {
	var missing []string
	for _, d := range a.domains {
		ok := false
		for _, c := range a.cache.AllMatchingCertificates(d) {
			if !c.Expired() {
				ok = true
				break
			}
		}
		if !ok {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no certificate yet for %s", strings.Join(missing, ", "))
	}
	return nil
}

package main

import (
	"context"
	"net"

	"go.uber.org/zap"

	"github.com/sseproxy/sseproxy/config"
	"github.com/sseproxy/sseproxy/tlsconf"
)

// certs is the S3 listener's certificate source of tls.mode "files" or
// "acme"; a nil *certs is mode "off" and every method is a no-op.
type certs struct {
	source tlsconf.Source
	files  *tlsconf.Files // mode "files"
	acme   *tlsconf.ACME  // mode "acme"
}

// newCerts loads the certificate files or prepares ACME; it contacts no CA.
func newCerts(cfg *config.Config, logger *zap.Logger) (*certs, error) {
	t := cfg.TLS
	switch t.Mode {
	case config.TLSFiles:
		f, err := tlsconf.NewFiles(tlsconf.FilesOptions{
			CertFile: t.CertFile, KeyFile: t.KeyFile, Interval: t.ReloadInterval, Logger: logger.Named("tls"),
		})
		if err != nil {
			return nil, err
		}
		return &certs{source: f, files: f}, nil
	case config.TLSACME:
		// Challenge listeners, when needed, bind the S3 listener's host.
		host, _, _ := net.SplitHostPort(cfg.Server.Listen)
		o := tlsconf.ACMEOptions{
			Domains:       t.ACMEDomains,
			Email:         t.ACMEEmail,
			CA:            t.ACMECA,
			CARootFile:    t.ACMECARoot,
			Storage:       t.ACMEStorage,
			HTTPPort:      t.ACMEHTTPPort,
			TLSPort:       t.ACMETLSPort,
			RenewInterval: t.ACMERenewInterval,
			ListenHost:    host,
			Logger:        logger.Named("acme"),
		}
		for _, ch := range t.ACMEChallenges {
			switch ch {
			case config.ChallengeHTTP01:
				o.HTTPChallenge = true
			case config.ChallengeTLSALPN01:
				o.TLSALPNChallenge = true
			}
		}
		a, err := tlsconf.NewACME(o)
		if err != nil {
			return nil, err
		}
		return &certs{source: a, acme: a}, nil
	}
	return nil, nil
}

// start begins watching the files or managing the ACME certificates, once
// the listeners that answer challenges are serving.
func (c *certs) start(ctx context.Context) error {
	switch {
	case c == nil:
	case c.files != nil:
		go c.files.Run(ctx)
	case c.acme != nil:
		return c.acme.Start(ctx)
	}
	return nil
}

// stop ends ACME maintenance; the file watcher ends with start's ctx.
func (c *certs) stop() {
	if c != nil && c.acme != nil {
		c.acme.Stop()
	}
}

// reload answers SIGHUP: the certificate files are read again.
func (c *certs) reload(logger *zap.Logger) {
	if c == nil || c.files == nil {
		logger.Info("SIGHUP: nothing to reload (TLS certificates reload only in tls.mode \"files\")")
		return
	}
	if err := c.files.Reload(); err != nil {
		logger.Error("SIGHUP: TLS certificate reload failed; still serving the previous certificate", zap.Error(err))
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/sseproxy/sseproxy/config"
	"github.com/sseproxy/sseproxy/tlsconf"
)

// adminTimeout bounds the admin listener's requests, which are all small;
// the S3 listener has no such limit, so slow clients can move large objects.
const adminTimeout = 30 * time.Second

// listener is one bound listener and its server.
type listener struct {
	name string // "s3", "redirect", "admin"
	srv  *http.Server
	ln   net.Listener
	tls  bool
}

// url returns the listener's base URL.
func (l *listener) url() string {
	if l.tls {
		return "https://" + l.ln.Addr().String()
	}
	return "http://" + l.ln.Addr().String()
}

// group is every listener of the process: it serves them together and shuts
// them down together.
type group struct {
	s3, redirect, admin *listener
	all                 []*listener
	errc                chan error // a listener that failed
	running             sync.WaitGroup
	logger              *zap.Logger
}

// listen binds the S3 listener, and the redirect and admin listeners when
// configured. On error every listener bound so far is closed again.
func listen(cfg *config.Config, s3 http.Handler, adminHandler http.Handler, c *certs, logger *zap.Logger) (*group, error) {
	g := &group{logger: logger}
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler: h,
			// Bodies have no time limit: slow clients may upload large
			// objects. Only the idle phases are bounded.
			ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
			IdleTimeout:       cfg.Server.IdleTimeout,
			ErrorLog:          zap.NewStdLog(logger.Named("http")),
		}
	}
	bind := func(name, addr string, srv *http.Server, tls bool) (*listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			g.closeAll()
			return nil, fmt.Errorf("%s listener: %w", name, err)
		}
		l := &listener{name: name, srv: srv, ln: ln, tls: tls}
		g.all = append(g.all, l)
		return l, nil
	}

	srv := newServer(s3)
	if c != nil {
		srv.TLSConfig = c.source.TLSConfig()
	}
	var err error
	if g.s3, err = bind("s3", cfg.Server.Listen, srv, c != nil); err != nil {
		return nil, err
	}
	if cfg.TLS.RedirectListen != "" {
		h := tlsconf.Redirect(g.s3.ln.Addr().(*net.TCPAddr).Port)
		if c != nil && c.acme != nil {
			h = c.acme.HTTPHandler(h)
		}
		if g.redirect, err = bind("redirect", cfg.TLS.RedirectListen, newServer(h), false); err != nil {
			return nil, err
		}
	}
	if cfg.Admin.Listen != "" {
		srv := newServer(adminHandler)
		srv.ReadTimeout, srv.WriteTimeout = adminTimeout, adminTimeout
		if g.admin, err = bind("admin", cfg.Admin.Listen, srv, false); err != nil {
			return nil, err
		}
	}
	g.errc = make(chan error, len(g.all))
	return g, nil
}

// serve starts serving every listener.
func (g *group) serve() {
	for _, l := range g.all {
		g.running.Go(func() {
			var err error
			if l.tls {
				// ServeTLS with srv.TLSConfig: HTTP/2 is set up as well.
				err = l.srv.ServeTLS(l.ln, "", "")
			} else {
				err = l.srv.Serve(l.ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				g.errc <- fmt.Errorf("%s listener: %w", l.name, err)
			}
		})
		if l != g.s3 {
			g.logger.Info("listening", zap.String("listener", l.name), zap.String("url", l.url()))
		}
	}
}

// closeAll closes every listener and connection at once.
func (g *group) closeAll() {
	for _, l := range g.all {
		if l.srv != nil {
			_ = l.srv.Close()
		}
		_ = l.ln.Close() // for listeners not served yet
	}
}

// shutdown stops accepting connections and lets requests in flight finish
// within grace; then, or at a second SIGINT/SIGTERM on signals, it closes
// the connections still open, aborting their requests. The admin listener
// goes last, so /readyz reports the shutdown and /metrics can be scraped
// while requests drain.
func (g *group) shutdown(grace time.Duration, signals <-chan os.Signal) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-signals:
				if sig == syscall.SIGHUP {
					continue
				}
				g.logger.Warn("second signal: closing every connection now", zap.String("signal", sig.String()))
				cancel()
				return
			}
		}
	}()

	var aborted atomic.Bool
	var wg sync.WaitGroup
	for _, l := range g.all {
		if l == g.admin {
			continue
		}
		wg.Go(func() {
			if err := l.srv.Shutdown(ctx); err != nil {
				aborted.Store(true)
				_ = l.srv.Close()
			}
		})
	}
	wg.Wait()
	if aborted.Load() {
		g.logger.Warn("shutdown grace period over: closed the connections still open, aborting their requests",
			zap.Duration("grace", grace))
	} else {
		g.logger.Info("every request finished")
	}
	if g.admin != nil {
		actx, acancel := context.WithTimeout(context.Background(), time.Second)
		if err := g.admin.srv.Shutdown(actx); err != nil {
			_ = g.admin.srv.Close()
		}
		acancel()
	}
	g.running.Wait()
	g.logger.Info("stopped")
}

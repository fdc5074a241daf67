package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sseproxy/sseproxy/admin"
	"github.com/sseproxy/sseproxy/config"
	"github.com/sseproxy/sseproxy/devstore"
	"github.com/sseproxy/sseproxy/proxy"
	"github.com/sseproxy/sseproxy/proxy/auth"
	"github.com/sseproxy/sseproxy/proxy/ossauth"
)

// serve implements `sseproxy serve`: it wires the proxy, binds every
// listener, serves until SIGTERM or SIGINT, then shuts down within
// server.shutdown_grace. SIGHUP reloads the TLS certificate files.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "TOML configuration file (default: development mode)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg *config.Config
	var err error
	if *path != "" {
		cfg, err = config.Load(*path)
	} else {
		cfg, err = config.Parse(nil, os.LookupEnv) // defaults plus environment
	}
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg.Log)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	logger.Info("starting sseproxy", zap.String("version", version))

	endpoint, accessKey, secretKey := cfg.Backend.Endpoint, cfg.Backend.AccessKey, cfg.Backend.SecretKey
	if cfg.DevMode() {
		store, err := devstore.Start(devstore.Options{Dir: filepath.Join(cfg.Backend.DataDir, "store")})
		if err != nil {
			return err
		}
		defer store.Close()
		endpoint, accessKey, secretKey = store.Endpoint(), "sseproxy-dev", "sseproxy-dev-secret"
		if len(cfg.Credentials) == 0 {
			cred, err := devCredential(cfg.Backend.DataDir)
			if err != nil {
				return err
			}
			cfg.Credentials = append(cfg.Credentials, cred)
		}
	}
	provider, err := openKMS(context.Background(), cfg)
	if err != nil {
		return err
	}
	reg := admin.NewRegistry(version)
	metrics := admin.NewMetrics(reg)
	// The cache sits in front of the instrumented provider: metrics count
	// the calls that reach the KMS.
	kms := cachedKMS(admin.InstrumentKMS(provider, reg), cfg)

	if cfg.Backend.InsecureSkipVerify {
		logger.Warn("backend.insecure_skip_verify is on: the backend's certificate is NOT verified and the " +
			"connection to it can be intercepted; use backend.ca_file instead outside tests")
	}
	backendCfg := *cfg
	backendCfg.Backend.Endpoint, backendCfg.Backend.AccessKey, backendCfg.Backend.SecretKey = endpoint, accessKey, secretKey
	store, err := newBackend(&backendCfg)
	if err != nil {
		return err
	}
	handler, err := proxy.New(proxy.Options{
		Store:             store,
		KMS:               kms,
		Auth:              auth.New(auth.Options{Credentials: cfg}),
		KeyID:             cfg.KMS.DefaultKey,
		KMSKeyID:          cfg.KMS.DefaultKey,
		DefaultEncryption: encryptionMode(cfg.Encryption.Default),
		BucketRules:       &proxy.Rules{Tags: store, Fixed: bucketRules(cfg)},
		Authorize:         newLimits(cfg),
		Rebind:            rebinder(provider),
		OSSAuth:           ossauth.New(ossauth.Options{Credentials: cfg, BucketFromHost: bucketFromHost(cfg.Server.Domains)}),
		Domains:           cfg.Server.Domains,
		Logger:            logger,
		Observer:          metrics,
	})
	if err != nil {
		return err
	}

	certs, err := newCerts(cfg, logger)
	if err != nil {
		return err
	}
	checks := []admin.Check{
		{Name: "backend", Probe: backendProbe(store)},
		{Name: "kms", Probe: kmsProbe(provider, cfg.KMS.DefaultKey)},
	}
	if certs != nil {
		checks = append(checks, admin.Check{Name: "tls", Probe: certs.source.Ready})
	}
	adminHandler := admin.NewHandler(admin.Options{Checks: checks, Gatherer: reg, Logger: logger.Named("admin"), Pprof: cfg.Admin.Pprof})

	// Bind every listener before serving on any, so a taken port fails the
	// start instead of leaving a half-up proxy.
	g, err := listen(cfg, handler, adminHandler, certs, logger)
	if err != nil {
		return err
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)
	g.serve()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := certs.start(ctx); err != nil {
		g.closeAll()
		return err
	}
	defer certs.stop()

	addr := g.s3.url()
	if cfg.DevMode() {
		logger.Warn("DEVELOPMENT MODE: objects are kept by an embedded store under " + cfg.Backend.DataDir +
			" and the master key in " + cfg.KMS.Keyring + "; do not use this setup for real data")
		fmt.Fprintf(os.Stderr, "\n  sseproxy development mode\n  endpoint:   %s\n  access key: %s\n  secret key: %s\n  e.g. AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s aws --endpoint-url %s s3 ls\n\n",
			addr, cfg.Credentials[0].AccessKey, cfg.Credentials[0].SecretKey, cfg.Credentials[0].AccessKey, cfg.Credentials[0].SecretKey, addr)
	}
	logger.Info("listening", zap.String("address", g.s3.ln.Addr().String()), zap.String("url", addr),
		zap.String("tls", cfg.TLS.Mode), zap.String("backend", endpoint),
		zap.String("encryption_default", cfg.Encryption.Default), zap.String("kms", cfg.KMS.Provider), zap.String("key_id", cfg.KMS.DefaultKey))

	for {
		select {
		case err := <-g.errc:
			// A listener failed: nothing sensible is left to serve.
			g.closeAll()
			return err
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				certs.reload(logger)
				continue
			}
			logger.Info("shutting down: no new connections; requests in flight may finish",
				zap.String("signal", sig.String()), zap.Duration("grace", cfg.Server.ShutdownGrace))
			adminHandler.Drain()
			g.shutdown(cfg.Server.ShutdownGrace, signals)
			return nil
		}
	}
}

func newLogger(c config.Log) (*zap.Logger, error) {
	zc := zap.NewProductionConfig()
	if c.Format == config.FormatConsole {
		zc = zap.NewDevelopmentConfig()
	}
	lvl, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, err
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.Sampling = nil
	zc.DisableStacktrace = true
	return zc.Build()
}

// devCredential returns the development client credential kept in the data
// directory, creating it on first start so that restarts keep it.
func devCredential(dir string) (config.Credential, error) {
	path := filepath.Join(dir, "dev-credential")
	if data, err := os.ReadFile(path); err == nil {
		ak, sk, ok := strings.Cut(strings.TrimSpace(string(data)), ":")
		if ok {
			return config.Credential{AccessKey: ak, SecretKey: sk}, nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return config.Credential{}, err
	}
	c := config.GenerateCredential()
	if err := os.WriteFile(path, []byte(c.AccessKey+":"+c.SecretKey+"\n"), 0o600); err != nil {
		return config.Credential{}, err
	}
	return c, nil
}

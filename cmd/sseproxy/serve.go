package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/config"
	"github.com/sseproxy/sseproxy/devstore"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/proxy"
	"github.com/sseproxy/sseproxy/proxy/auth"
)

// shutdownGrace is how long in-flight requests may run after SIGTERM.
const shutdownGrace = 30 * time.Second

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
	kms, err := keys.OpenKeyring(keys.KeyringOptions{Path: cfg.KMS.Keyring, CreateIfMissing: true, DefaultKeyName: cfg.KMS.DefaultKey})
	if err != nil {
		return err
	}
	store, err := backend.New(backend.Options{Endpoint: endpoint, Region: cfg.Backend.Region, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		return err
	}
	handler, err := proxy.New(proxy.Options{
		Store:             store,
		KMS:               kms,
		Auth:              auth.New(auth.Options{Credentials: cfg}),
		KeyID:             cfg.KMS.DefaultKey,
		DefaultEncryption: cfg.Encryption.Default,
		Domains:           cfg.Server.Domains,
		Logger:            logger,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return err
	}
	addr := "http://" + ln.Addr().String()
	if cfg.DevMode() {
		logger.Warn("DEVELOPMENT MODE: objects are kept by an embedded store under " + cfg.Backend.DataDir +
			" and the master key in " + cfg.KMS.Keyring + "; do not use this setup for real data")
		fmt.Fprintf(os.Stderr, "\n  sseproxy development mode\n  endpoint:   %s\n  access key: %s\n  secret key: %s\n  e.g. AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s aws --endpoint-url %s s3 ls\n\n",
			addr, cfg.Credentials[0].AccessKey, cfg.Credentials[0].SecretKey, cfg.Credentials[0].AccessKey, cfg.Credentials[0].SecretKey, addr)
	}
	logger.Info("listening", zap.String("address", ln.Addr().String()), zap.String("backend", endpoint),
		zap.String("encryption_default", cfg.Encryption.Default), zap.String("key_id", kms.DefaultKeyID()))

	srv := &http.Server{
		Handler: handler,
		// Slow clients may take long to send a large body, so there are no
		// whole-request timeouts; only idle phases are bounded.
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          zap.NewStdLog(logger.Named("http")),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", zap.Duration("grace", shutdownGrace))
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/keys"
)

// backendProbe is the "backend" readiness check: one ListBuckets. Any
// answer of the store counts as reachable (AccessDenied too: the proxy's
// credentials may lack that permission), except a rejection of the
// credentials themselves, which would fail every request.
func backendProbe(c *backend.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.ListBuckets(ctx)
		var be *backend.Error
		switch {
		case err == nil:
			return nil
		case errors.As(err, &be) && be.Status != 0:
			switch be.Code {
			case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
				return fmt.Errorf("the store rejects the proxy's credentials (%s)", be.Code)
			}
			return nil
		}
		return err
	}
}

// pinger is implemented by KMS providers that can check, cheaply and
// without a cryptographic operation, that the service is reachable.
type pinger interface {
	Ping(ctx context.Context) error
}

// kmsProbe is the "kms" readiness check. The local keyring is in memory: it
// is ready while its default key exists and is enabled. A remote provider is
// probed through Ping when it has one (never with GenerateDataKey, which
// costs a KMS operation); without Ping it counts as ready.
func kmsProbe(k keys.KMS, defaultKey string) func(context.Context) error {
	switch k := k.(type) {
	case *keys.Keyring:
		return keyringProbe(k, defaultKey)
	case pinger:
		return k.Ping
	}
	return func(context.Context) error { return nil }
}

// keyringProbe checks that the keyring's default key exists and is enabled.
func keyringProbe(ring *keys.Keyring, name string) func(context.Context) error {
	return func(context.Context) error {
		for _, k := range ring.List() {
			if k.Name != name {
				continue
			}
			if k.Disabled {
				return fmt.Errorf("default key %q is disabled", name)
			}
			return nil
		}
		return fmt.Errorf("default key %q does not exist", name)
	}
}

// defaultHealthURL is what `sseproxy healthcheck` probes without an argument:
// /healthz of an admin listener on port 9090, as the container image uses.
const defaultHealthURL = "http://127.0.0.1:9090/healthz"

// healthcheck implements `sseproxy healthcheck [URL]` for container health
// checks in images without curl: it exits 0 when URL answers 200.
func healthcheck(args []string) error {
	url := defaultHealthURL
	switch len(args) {
	case 0:
	case 1:
		url = args[0]
	default:
		return errors.New("usage: sseproxy healthcheck [URL]")
	}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}

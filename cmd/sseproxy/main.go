// Command sseproxy is an S3 reverse proxy that encrypts objects on their way
// to the store behind it and decrypts them on their way back.
//
// Usage:
//
//	sseproxy serve [--config FILE]   run the proxy (no FILE: development mode)
//	sseproxy config check FILE       validate a config file, say what serve would do
//	sseproxy healthcheck [URL]       exit 0 if URL (default the admin /healthz) answers 200
//	sseproxy keys SUBCOMMAND ...     manage the local keyring; report CMK usage of a bucket
//	sseproxy rewrap --config F --bucket B   re-wrap data keys after a CMK rotation
//	sseproxy version                 print the version
//
// Signals to serve: SIGTERM or SIGINT shut it down gracefully (see
// server.shutdown_grace; a second signal aborts at once), SIGHUP reloads the
// TLS certificate files.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sseproxy/sseproxy/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage:
  sseproxy serve [--config FILE]   run the proxy; without a config file (or with an
                                   empty backend.endpoint) it runs in development mode
                                   with an embedded store and a local key file
  sseproxy config check FILE       validate a config file, print what serve would do
                                   and the configuration, secrets redacted
  sseproxy healthcheck [URL]       exit 0 if URL answers 200, else 1; for container
                                   health checks (default ` + defaultHealthURL + `)
  sseproxy keys create|import|rotate|disable|enable|list [--config FILE] [NAME]
                                   manage the local keyring (import: BYOK material)
  sseproxy keys usage --config FILE --bucket B
                                   objects and bytes per CMK id and version
  sseproxy rewrap --config FILE --bucket B [--prefix P] [--to-key K] [--dry-run]
                                   re-wrap data keys under the newest CMK version (or
                                   another CMK); only metadata changes
  sseproxy version                 print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "config":
		err = configCommand(os.Args[2:])
	case "healthcheck":
		err = healthcheck(os.Args[2:])
	case "keys":
		err = keysCommand(os.Args[2:])
	case "rewrap":
		err = rewrapCommand(os.Args[2:])
	case "version", "--version":
		fmt.Println("sseproxy", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "sseproxy: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sseproxy:", err)
		os.Exit(1)
	}
}

// configCommand implements `sseproxy config check FILE`.
func configCommand(args []string) error {
	if len(args) != 2 || args[0] != "check" {
		return errors.New("usage: sseproxy config check FILE")
	}
	cfg, err := config.Load(args[1])
	if err != nil {
		return err
	}
	fmt.Printf("# %s: valid\n", args[1])
	for _, line := range describe(cfg) {
		fmt.Printf("#   %s\n", line)
	}
	fmt.Print(cfg.Redacted())
	return nil
}

// describe says, one line per listener or dependency, what `sseproxy serve`
// would do with cfg.
func describe(cfg *config.Config) []string {
	var out []string
	scheme := "https"
	if cfg.TLS.Mode == config.TLSOff {
		scheme = "http"
	}
	out = append(out, fmt.Sprintf("S3 API: %s://%s (read_header_timeout %s, idle_timeout %s, shutdown_grace %s)",
		scheme, cfg.Server.Listen, cfg.Server.ReadHeaderTimeout, cfg.Server.IdleTimeout, cfg.Server.ShutdownGrace))
	t := cfg.TLS
	switch t.Mode {
	case config.TLSOff:
		out = append(out, "TLS: off (plain HTTP)")
	case config.TLSFiles:
		reload := "on SIGHUP"
		if t.ReloadInterval > 0 {
			reload = fmt.Sprintf("when changed (checked every %s) and on SIGHUP", t.ReloadInterval)
		}
		out = append(out, fmt.Sprintf("TLS: certificate %s, key %s, reloaded %s", t.CertFile, t.KeyFile, reload))
	case config.TLSACME:
		root := "system roots"
		if t.ACMECARoot != "" {
			root = "roots from " + t.ACMECARoot
		}
		out = append(out, fmt.Sprintf("TLS: ACME certificates for %s from %s (%s), challenges %s (HTTP-01 on local port %d, TLS-ALPN-01 on local port %d), storage %s",
			strings.Join(t.ACMEDomains, ", "), t.ACMECA, root, strings.Join(t.ACMEChallenges, ", "), t.ACMEHTTPPort, t.ACMETLSPort, t.ACMEStorage))
	}
	if t.RedirectListen != "" {
		extra := ""
		if t.Mode == config.TLSACME {
			extra = " and HTTP-01 challenges"
		}
		out = append(out, fmt.Sprintf("redirect: http://%s -> https%s", t.RedirectListen, extra))
	}
	if cfg.Admin.Listen != "" {
		out = append(out, fmt.Sprintf("admin: http://%s/healthz, /readyz, /metrics", cfg.Admin.Listen))
	} else {
		out = append(out, "admin: off")
	}
	if cfg.DevMode() {
		out = append(out, "backend: development mode (embedded store in "+cfg.Backend.DataDir+")")
	} else {
		b := cfg.Backend
		line := "backend: " + b.Endpoint + " region " + b.Region
		if b.CAFile != "" {
			line += ", CA " + b.CAFile
		}
		if b.ClientCertFile != "" {
			line += ", client certificate " + b.ClientCertFile
		}
		if b.InsecureSkipVerify {
			line += ", WARNING: certificate NOT verified (insecure_skip_verify)"
		}
		out = append(out, line)
	}
	out = append(out,
		fmt.Sprintf("clients: %d credential(s); encryption default %s", len(cfg.Credentials), cfg.Encryption.Default),
		fmt.Sprintf("kms: %s, keyring %s, default key %s", cfg.KMS.Provider, cfg.KMS.Keyring, cfg.KMS.DefaultKey),
		fmt.Sprintf("log: %s, level %s", cfg.Log.Format, cfg.Log.Level))
	return out
}

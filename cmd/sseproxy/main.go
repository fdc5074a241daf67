// Command sseproxy is an S3 reverse proxy that encrypts objects on their way
// to the store behind it and decrypts them on their way back.
//
// Usage:
//
//	sseproxy serve [--config FILE]   run the proxy (no FILE: development mode)
//	sseproxy config check FILE      validate a config file and print it, secrets redacted
//	sseproxy version                 print the version
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/sseproxy/sseproxy/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage:
  sseproxy serve [--config FILE]   run the proxy; without a config file (or with an
                                   empty backend.endpoint) it runs in development mode
                                   with an embedded store and a local key file
  sseproxy config check FILE       validate a config file and print it, secrets redacted
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
	mode := "backend " + cfg.Backend.Endpoint
	if cfg.DevMode() {
		mode = "development mode (embedded store in " + cfg.Backend.DataDir + ")"
	}
	fmt.Printf("# %s: valid; %s; %d client credential(s); encryption default %s\n%s",
		args[1], mode, len(cfg.Credentials), cfg.Encryption.Default, cfg.Redacted())
	return nil
}

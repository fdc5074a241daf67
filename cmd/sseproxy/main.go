// Command sseproxy is an S3 reverse proxy that encrypts objects on their way
// to the store behind it and decrypts them on their way back.
//
// Usage:
//
//	sseproxy serve [--config FILE]   run the proxy (no FILE: development mode)
//	sseproxy version                 print the version
package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage:
  sseproxy serve [--config FILE]   run the proxy; without a config file (or with an
                                   empty backend.endpoint) it runs in development mode
                                   with an embedded store and a local key file
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

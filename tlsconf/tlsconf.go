// Package tlsconf owns the TLS of sseproxy's client-facing listener: the
// server tls.Config (TLS 1.2 or newer, HTTP/2 offered), certificates read
// from files and reloaded when they change, certificates obtained and renewed
// from an ACME CA through certmagic, and the plain-HTTP listener's redirect
// to https.
//
// Both certificate sources hand the server a GetCertificate function, so a
// new certificate applies to the next handshake while established
// connections carry on untouched.
package tlsconf

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
)

// MinVersion is the oldest TLS version the listener accepts.
const MinVersion = tls.VersionTLS12

// Source supplies the listener's certificates. *Files and *ACME are Sources.
type Source interface {
	// TLSConfig returns the listener's configuration; each call returns a
	// new value the caller may modify.
	TLSConfig() *tls.Config
	// Ready returns nil when a usable certificate is loaded for every name
	// the source serves, and otherwise says what is missing.
	Ready(ctx context.Context) error
}

var (
	_ Source = (*Files)(nil)
	_ Source = (*ACME)(nil)
)

// serverConfig is the configuration both sources share: getCert chooses the
// certificate; protos are offered after h2 and http/1.1.
func serverConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), protos ...string) *tls.Config {
	return &tls.Config{
		MinVersion:     MinVersion,
		GetCertificate: getCert,
		// The server's order wins: h2 when the client offers it.
		NextProtos: append([]string{"h2", "http/1.1"}, protos...),
	}
}

// Redirect returns a handler that answers every request with a 308
// redirect to the same host, path and query over https on httpsPort (left
// out when it is 443). 308 keeps the method and body, unlike 301.
func Redirect(httpsPort int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "missing Host header", http.StatusBadRequest)
			return
		}
		if httpsPort != 443 {
			host = net.JoinHostPort(host, strconv.Itoa(httpsPort))
		} else if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
			host = "[" + host + "]"
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

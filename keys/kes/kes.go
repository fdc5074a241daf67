package kes

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/sseproxy/sseproxy/keys"
)

// DefaultTimeout bounds every call when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Options configures a Client. The zero value of each field is its documented default; New
// checks them all once.
type Options struct {
	// Endpoints are the KES servers, each "https://host:port" (no path). Every call tries them
	// in order, starting with the last one that answered, and moves to the next when one cannot
	// be reached, times out or answers 502, 503 or 504. Required.
	Endpoints []string

	// ClientCert and ClientKey are the paths of the PEM certificate and private key the client
	// authenticates with (mTLS). KES identifies a client by the SHA-256 of its certificate's
	// public key (see Client.Identity), so a renewed certificate for the same key keeps its
	// policy. Give either both paths or Certificate.
	ClientCert, ClientKey string
	// Certificate is the client certificate, for callers that hold it in memory. Its leaf
	// must not be a CA certificate: KES ignores those when it identifies a client.
	Certificate *tls.Certificate

	// CAFile is the path of a PEM file with the CA certificates that verify the servers'
	// certificates. RootCAs is the same as a pool. Give at most one; with neither, the system
	// roots apply.
	CAFile  string
	RootCAs *x509.CertPool

	// DefaultKey names the KES key used when a caller asks for keyID "". Empty: keyID "" fails
	// with keys.ErrNotFound.
	DefaultKey string

	// Timeout bounds each call, all endpoints and retries included (DefaultTimeout if zero).
	// With several endpoints, an endpoint that hangs gets an equal share of what is left, so
	// that the next one still has time to answer.
	Timeout time.Duration
}

// ErrNotAllowed means the KES server refused the call: the client's identity has no policy, or
// its policy does not allow the API path. The error message names the identity and the path to
// add to the identity's policy. It is not a decryption failure: the wrapped key may be fine.
var ErrNotAllowed = errors.New("kes: not authorized")

// Client is a keys.KMS backed by a KES server (or a cluster of them), reached over its REST API
// with mutual TLS. It is safe for concurrent use.
type Client struct {
	endpoints  []string // "https://host:port", validated
	defaultKey string
	timeout    time.Duration
	identity   string
	http       *http.Client
	next       atomic.Uint32 // index of the endpoint the next call tries first
}

var _ keys.KMS = (*Client)(nil)

// New returns a Client for opts. It loads the client certificate and CA file, but does not
// contact any server: a KES that is down at startup is reported by the first call.
func New(opts Options) (*Client, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("kes: no endpoints")
	}
	endpoints := make([]string, len(opts.Endpoints))
	for i, e := range opts.Endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("kes: invalid endpoint %q: want https://host:port", e)
		}
		endpoints[i] = "https://" + u.Host
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("kes: negative timeout %v", opts.Timeout)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if opts.DefaultKey != "" && !validName(opts.DefaultKey) {
		return nil, fmt.Errorf("kes: invalid default key %s: %s", quoteName(opts.DefaultKey), nameRule)
	}
	cert, err := clientCertificate(opts)
	if err != nil {
		return nil, err
	}
	roots := opts.RootCAs
	if opts.CAFile != "" {
		if roots != nil {
			return nil, errors.New("kes: both CAFile and RootCAs set; give one")
		}
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kes: CA file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kes: CA file %s holds no PEM certificate", opts.CAFile)
		}
	}
	// Dials and handshakes are bounded by the per-attempt context; these limits only stop a
	// single stage from taking the whole budget.
	transport := &http.Transport{
		Proxy:                 nil, // a KMS is reached directly, never through $HTTPS_PROXY
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert}, RootCAs: roots},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		// HTTP/1.1 only: a request that times out closes its own connection, whereas a stalled
		// HTTP/2 connection would keep taking new requests until a ping timeout noticed it.
		ForceAttemptHTTP2: false,
	}
	return &Client{
		endpoints:  endpoints,
		defaultKey: opts.DefaultKey,
		timeout:    timeout,
		identity:   identityOf(cert.Leaf),
		http:       &http.Client{Transport: transport, CheckRedirect: noRedirects},
	}, nil
}

// clientCertificate loads the client certificate from opts and parses its leaf.
func clientCertificate(opts Options) (*tls.Certificate, error) {
	var cert tls.Certificate
	switch files := opts.ClientCert != "" || opts.ClientKey != ""; {
	case files && opts.Certificate != nil:
		return nil, errors.New("kes: both ClientCert/ClientKey and Certificate set; give one")
	case files && (opts.ClientCert == "" || opts.ClientKey == ""):
		return nil, errors.New("kes: ClientCert and ClientKey must be given together")
	case files:
		var err error
		if cert, err = tls.LoadX509KeyPair(opts.ClientCert, opts.ClientKey); err != nil {
			return nil, fmt.Errorf("kes: client certificate: %w", err)
		}
	case opts.Certificate != nil:
		cert = *opts.Certificate
	default:
		return nil, errors.New("kes: no client certificate: KES authenticates clients by mTLS; set ClientCert and ClientKey")
	}
	if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
		return nil, errors.New("kes: client certificate has no certificate or no private key")
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("kes: client certificate: %w", err)
		}
		cert.Leaf = leaf
	}
	if cert.Leaf.IsCA {
		return nil, errors.New("kes: client certificate is a CA certificate; KES ignores CA certificates when it identifies a client")
	}
	return &cert, nil
}

// identityOf returns the KES identity of a client certificate: the hex SHA-256 of its
// SubjectPublicKeyInfo, as `kes identity of CERT` prints it.
func identityOf(leaf *x509.Certificate) string {
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Identity returns the client's KES identity, the value to list under "identities" in the KES
// policy that grants the proxy its keys.
func (c *Client) Identity() string { return c.identity }

// Close closes idle connections to the servers. The Client stays usable.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// GenerateDataKey asks KES for a fresh data key under the KES key keyID ("" for
// Options.DefaultKey), bound to associatedData, and returns it with a wrapped key in the
// format described in the package comment. Errors: keys.ErrNotFound (unknown key, or a name KES
// cannot hold), ErrNotAllowed, keys.ErrUnavailable, or ctx.Err() (wrapped) if ctx is done.
func (c *Client) GenerateDataKey(ctx context.Context, keyID string, associatedData []byte) (keys.DataKey, error) {
	if err := ctx.Err(); err != nil {
		return keys.DataKey{}, fmt.Errorf("kes: %w", err)
	}
	name, err := c.resolve(opGenerate, keyID)
	if err != nil {
		return keys.DataKey{}, err
	}
	if len(associatedData) > maxAssociatedData {
		return keys.DataKey{}, fmt.Errorf("kes: associated data of %d bytes exceeds %d", len(associatedData), maxAssociatedData)
	}
	body, err := json.Marshal(generateRequest{Context: associatedData})
	if err != nil {
		return keys.DataKey{}, fmt.Errorf("kes: %w", err)
	}
	var resp generateResponse
	if err := c.call(ctx, opGenerate, name, body, &resp); err != nil {
		clear(resp.Plaintext) // a malformed answer may have filled it
		return keys.DataKey{}, err
	}
	if len(resp.Plaintext) != keys.DataKeySize || len(resp.Ciphertext) == 0 || len(resp.Ciphertext) > maxKESCiphertext {
		clear(resp.Plaintext)
		return keys.DataKey{}, fmt.Errorf("kes: generate data key %q: malformed response: %d-byte key, %d-byte ciphertext",
			name, len(resp.Plaintext), len(resp.Ciphertext))
	}
	return keys.DataKey{KeyID: name, Plaintext: resp.Plaintext, Ciphertext: seal(name, resp.Ciphertext, resp.Plaintext)}, nil
}

// Decrypt unwraps ciphertext, a DataKey.Ciphertext from GenerateDataKey with the same keyID
// ("" for Options.DefaultKey) and associatedData. Errors: keys.ErrDecrypt for any ciphertext
// that does not authenticate, keys.ErrNotFound, ErrNotAllowed, keys.ErrUnavailable, or
// ctx.Err() (wrapped) if ctx is done.
func (c *Client) Decrypt(ctx context.Context, keyID string, ciphertext, associatedData []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kes: %w", err)
	}
	name, err := c.resolve(opDecrypt, keyID)
	if err != nil {
		return nil, err
	}
	kesCiphertext, ok := parseSealed(ciphertext)
	if !ok || len(associatedData) > maxAssociatedData {
		return nil, keys.ErrDecrypt
	}
	body, err := json.Marshal(decryptRequest{Ciphertext: kesCiphertext, Context: associatedData})
	if err != nil {
		return nil, fmt.Errorf("kes: %w", err)
	}
	var resp decryptResponse
	if err := c.call(ctx, opDecrypt, name, body, &resp); err != nil {
		clear(resp.Plaintext)
		return nil, err
	}
	if len(resp.Plaintext) != keys.DataKeySize || !verify(name, ciphertext, resp.Plaintext) {
		clear(resp.Plaintext)
		return nil, keys.ErrDecrypt
	}
	return resp.Plaintext, nil
}

var _ keys.Rewrapper = (*Client)(nil)

// Rewrap moves a wrapped data key to the KES key toKeyID ("" = fromKeyID)
// with the same associated data: KES has no re-wrap call, so the key is
// decrypted under fromKeyID and encrypted under toKeyID
// (/v1/key/encrypt/NAME, which the identity that runs `sseproxy rewrap`
// needs in its policy), then sealed as GenerateDataKey seals. The data key
// is cleared before Rewrap returns. KES keys have no versions, so this
// serves moving objects to another key, not rotation in place.
func (c *Client) Rewrap(ctx context.Context, fromKeyID string, ciphertext, ad []byte, toKeyID string) ([]byte, string, error) {
	dk, err := c.Decrypt(ctx, fromKeyID, ciphertext, ad)
	if err != nil {
		return nil, "", err
	}
	defer clear(dk)
	if toKeyID == "" {
		toKeyID = fromKeyID
	}
	name, err := c.resolve(opEncrypt, toKeyID)
	if err != nil {
		return nil, "", err
	}
	body, err := json.Marshal(encryptRequest{Plaintext: dk, Context: ad})
	if err != nil {
		return nil, "", fmt.Errorf("kes: %w", err)
	}
	defer clear(body)
	var resp encryptResponse
	if err := c.call(ctx, opEncrypt, name, body, &resp); err != nil {
		return nil, "", err
	}
	if len(resp.Ciphertext) == 0 || len(resp.Ciphertext) > maxKESCiphertext {
		return nil, "", fmt.Errorf("kes: encrypt data key %q: malformed response", name)
	}
	return seal(name, resp.Ciphertext, dk), name, nil
}

// CreateKey creates a new KES key named name, with key material KES generates and never
// reveals. The identity needs /v1/key/create/NAME in its policy (the proxy's does not: create
// keys with an admin or operator identity). Errors: keys.ErrExists, ErrNotAllowed,
// keys.ErrUnavailable, an invalid name, or ctx.Err() (wrapped) if ctx is done.
//
// Creating a key is not idempotent: if the first endpoint creates the key but its answer is
// lost, the next endpoint reports keys.ErrExists.
func (c *Client) CreateKey(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kes: %w", err)
	}
	if !validName(name) {
		return fmt.Errorf("kes: invalid key name %s: %s", quoteName(name), nameRule)
	}
	return c.call(ctx, opCreate, name, nil, nil)
}

// resolve maps keyID ("" for the default key) to a KES key name. A name KES cannot hold is a
// key that does not exist; it is never sent, so it cannot reach another API path.
func (c *Client) resolve(o op, keyID string) (string, error) {
	if keyID == "" {
		if c.defaultKey == "" {
			return "", fmt.Errorf("kes: %s: %w: no default KES key configured", o.name, keys.ErrNotFound)
		}
		return c.defaultKey, nil
	}
	if !validName(keyID) {
		return "", fmt.Errorf("kes: %s %s: %w: not a KES key name (%s)", o.name, quoteName(keyID), keys.ErrNotFound, nameRule)
	}
	return keyID, nil
}

// Bounds on what the client sends and accepts.
const (
	// maxAssociatedData keeps a request below KES's 1 MiB body limit once base64-encoded. The
	// proxy's associated data, "bucket/object", is at most a few KiB.
	maxAssociatedData = 512 << 10
	// maxKESCiphertext bounds a KES ciphertext: v0.23.0 produces about 100 bytes for a data key.
	maxKESCiphertext = 4 << 10
	// maxNameLen is KES's limit on key names.
	maxNameLen = 80
)

const nameRule = "want 1-80 characters from [A-Za-z0-9_-], not starting or ending with '-'"

// validName reports whether name is a key name KES v0.23.0 accepts: 1 to 80 characters from
// A-Z a-z 0-9 _ -, with no leading or trailing hyphen, and not "_" alone.
func validName(name string) bool {
	if name == "" || name == "_" || len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
		case c == '-' && i > 0 && i < len(name)-1:
		default:
			return false
		}
	}
	return true
}

// quoteName quotes a caller-supplied name for an error message, cut short so that a hostile
// name cannot flood logs.
func quoteName(name string) string {
	const max = maxNameLen + 8
	if len(name) > max {
		return fmt.Sprintf("%q...", name[:max])
	}
	return fmt.Sprintf("%q", name)
}

var _ keys.Rebinder = (*Client)(nil)

// Rebind re-wraps a data key of keyID from associated data fromAD to toAD:
// decrypt, then encrypt the same data key under keyID (/v1/key/encrypt).
func (c *Client) Rebind(ctx context.Context, keyID string, ciphertext, fromAD, toAD []byte) ([]byte, error) {
	dk, err := c.Decrypt(ctx, keyID, ciphertext, fromAD)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	name, err := c.resolve(opEncrypt, keyID)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(encryptRequest{Plaintext: dk, Context: toAD})
	if err != nil {
		return nil, fmt.Errorf("kes: %w", err)
	}
	defer clear(body)
	var resp encryptResponse
	if err := c.call(ctx, opEncrypt, name, body, &resp); err != nil {
		return nil, err
	}
	if len(resp.Ciphertext) == 0 || len(resp.Ciphertext) > maxKESCiphertext {
		return nil, fmt.Errorf("kes: encrypt data key %q: malformed response", name)
	}
	return seal(name, resp.Ciphertext, dk), nil
}

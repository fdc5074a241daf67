package vault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sseproxy/sseproxy/keys"
)

// DefaultTimeout bounds every call when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Options configures a Client. The zero value of each field is its documented default; New
// checks them all once.
type Options struct {
	// Address is the Vault or OpenBao server, "https://host:port", optionally with a path
	// prefix for a reverse proxy in front of it. Required. Use https: the token travels in
	// every request.
	Address string

	// Token is a Vault token the client uses as is: it is never renewed, so it should be a
	// periodic or long-lived token. Give exactly one of Token and AppRole.
	Token string
	// AppRole logs in with a role ID and secret ID and uses the token Vault issues, logging
	// in again before the token's TTL runs out and when Vault refuses it as invalid. The
	// secret ID must allow repeated logins (secret_id_num_uses = 0). Give exactly one of
	// Token and AppRole.
	AppRole *AppRole

	// MountPath is where the Transit secrets engine is mounted. Default "transit".
	MountPath string
	// DefaultKey names the Transit key used when a caller asks for keyID "". New checks that
	// it exists and suits sseproxy. Empty: keyID "" fails with keys.ErrNotFound.
	DefaultKey string
	// Timeout bounds each call as a whole, a re-login and its one retry included. Default
	// DefaultTimeout. A call that does not finish in time fails with keys.ErrUnavailable.
	Timeout time.Duration
	// HTTPClient sends the requests. Default: a client of its own with the settings of
	// http.DefaultTransport. The Client uses a copy that never follows redirects, whatever
	// this one's CheckRedirect says: a redirect would carry the token to another host.
	HTTPClient *http.Client
	// Namespace is the Vault Enterprise namespace (X-Vault-Namespace header) that holds the
	// Transit mount and, for AppRole, the auth mount. Default: none (the root namespace).
	Namespace string
}

// AppRole holds the credentials of a Vault AppRole.
type AppRole struct {
	RoleID   string
	SecretID string
	// MountPath is where the AppRole auth method is mounted. Default "approle".
	MountPath string
}

// String describes o without its secrets, so that logging the configuration cannot leak them.
func (o Options) String() string {
	auth := "none"
	switch {
	case o.Token != "" && o.AppRole != nil:
		auth = "token and approle"
	case o.Token != "":
		auth = "token <redacted>"
	case o.AppRole != nil:
		auth = o.AppRole.String()
	}
	return fmt.Sprintf("vault.Options{Address: %q, Auth: %s, MountPath: %q, DefaultKey: %q, Timeout: %v, Namespace: %q}",
		o.Address, auth, o.MountPath, o.DefaultKey, o.Timeout, o.Namespace)
}

// GoString is String, so that %#v does not print the secrets either.
func (o Options) GoString() string { return o.String() }

// String describes a without its secret ID.
func (a AppRole) String() string {
	return fmt.Sprintf("approle{RoleID: %q, SecretID: <redacted>, MountPath: %q}", a.RoleID, a.MountPath)
}

// GoString is String, so that %#v does not print the secret ID either.
func (a AppRole) GoString() string { return a.String() }

// ErrPermissionDenied means Vault refused the call with 403: the token is invalid or expired,
// the AppRole login was refused, or the token's policy does not allow the path. When the
// refusal concerns one key's path, the error also matches keys.ErrNotFound: Vault does not tell
// a key that does not exist from one the policy does not cover, and for the proxy both are a
// key it cannot use. It is never keys.ErrDecrypt: the wrapped key may be fine.
var ErrPermissionDenied = errors.New("vault: permission denied")

// Client is a keys.KMS backed by the Transit secrets engine of HashiCorp Vault or OpenBao,
// reached over its HTTP API. It is safe for concurrent use.
//
// A data key is 32 bytes from crypto/rand, encrypted by Transit's encrypt endpoint with the
// caller's associated data as AEAD associated data; DataKey.Ciphertext is Vault's ciphertext
// string "vault:v<version>:<base64>", which names the key version that wrapped it.
type Client struct {
	base       string // Address without a trailing slash, then "/v1/"
	mount      string // validated Transit mount path, no leading or trailing slash
	defaultKey string
	timeout    time.Duration
	hc         *http.Client
	namespace  string
	auth       *auth

	usable sync.Map // key name -> struct{}: keys checked to exist and suit sseproxy
}

var _ keys.KMS = (*Client)(nil)

// New checks o, logs in if o.AppRole is set, checks o.DefaultKey if set, and returns a Client.
// It fails with an error wrapping keys.ErrUnavailable when Vault cannot be reached,
// ErrPermissionDenied when the credentials or the policy are refused, keys.ErrNotFound when
// the default key does not exist, and a descriptive error for invalid options or a key of the
// wrong type.
func New(ctx context.Context, o Options) (*Client, error) {
	c, err := newClient(o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if _, err := c.auth.current(ctx); err != nil {
		return nil, err
	}
	if c.defaultKey != "" {
		if err := c.checkKey(ctx, c.defaultKey); err != nil {
			return nil, fmt.Errorf("vault: default key: %w", err)
		}
	}
	return c, nil
}

// newClient checks o and builds a Client without any I/O.
func newClient(o Options) (*Client, error) {
	base, err := parseAddress(o.Address)
	if err != nil {
		return nil, err
	}
	mount := o.MountPath
	if mount == "" {
		mount = "transit"
	}
	if mount, err = checkMount("MountPath", mount); err != nil {
		return nil, err
	}
	if o.DefaultKey != "" && !validName(o.DefaultKey) {
		return nil, fmt.Errorf("vault: DefaultKey %s is not a valid Transit key name", quote(o.DefaultKey))
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("vault: Timeout %v is negative", o.Timeout)
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if strings.ContainsAny(o.Namespace, "\r\n") {
		return nil, errors.New("vault: Namespace contains a line break")
	}
	c := &Client{
		base:       base,
		mount:      mount,
		defaultKey: o.DefaultKey,
		timeout:    timeout,
		hc:         noRedirects(o.HTTPClient),
		namespace:  o.Namespace,
	}
	if c.auth, err = newAuth(c, o.Token, o.AppRole); err != nil {
		return nil, err
	}
	return c, nil
}

// parseAddress checks a Vault address and returns the base URL that API paths follow.
func parseAddress(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("vault: Address is required")
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "", fmt.Errorf("vault: Address: %v", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("vault: Address %q: want http(s)://host[:port][/prefix]", addr)
	}
	return strings.TrimSuffix(u.String(), "/") + "/v1/", nil
}

// mountRE matches one segment of a mount path.
var mountRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkMount checks a mount path of one or more segments and returns it without leading or
// trailing slashes.
func checkMount(field, mount string) (string, error) {
	m := strings.Trim(mount, "/")
	for seg := range strings.SplitSeq(m, "/") {
		if !mountRE.MatchString(seg) || seg == "." || seg == ".." {
			return "", fmt.Errorf("vault: %s %q: want path segments of [A-Za-z0-9_.-]", field, mount)
		}
	}
	return m, nil
}

// noRedirects returns a copy of hc (or a new client) that never follows redirects.
func noRedirects(hc *http.Client) *http.Client {
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// nameRE is Vault's framework.GenericNameRegex, which the Transit paths use for key names:
// word characters, '-', '.' and '@', beginning and ending with a word character.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_](?:[A-Za-z0-9_.@-]*[A-Za-z0-9_])?$`)

// maxNameLen bounds a key name; Vault has no limit, but names come from S3 request headers.
const maxNameLen = 256

// validName reports whether name can name a Transit key. Names are checked before they go
// into a URL path, so that no caller-supplied name can reach another Vault path.
func validName(name string) bool { return len(name) <= maxNameLen && nameRE.MatchString(name) }

// quote quotes a caller-supplied name for an error message, cut short.
func quote(name string) string {
	if len(name) > 64 {
		return fmt.Sprintf("%q...", name[:64])
	}
	return fmt.Sprintf("%q", name)
}

// resolve maps keyID "" to the default key and checks the name.
func (c *Client) resolve(keyID string) (string, error) {
	if keyID == "" {
		if c.defaultKey == "" {
			return "", fmt.Errorf("%w: no default Vault key is configured", keys.ErrNotFound)
		}
		return c.defaultKey, nil
	}
	if !validName(keyID) {
		return "", fmt.Errorf("%w: %s is not a valid Transit key name", keys.ErrNotFound, quote(keyID))
	}
	return keyID, nil
}

// GenerateDataKey returns 32 fresh random bytes wrapped by the latest version of the Transit
// key keyID, bound to associatedData. The first call for a key name reads the key (GET
// /v1/<mount>/keys/<name>) to check that it exists and suits sseproxy; see the package
// documentation for why.
func (c *Client) GenerateDataKey(ctx context.Context, keyID string, associatedData []byte) (keys.DataKey, error) {
	if err := ctx.Err(); err != nil {
		return keys.DataKey{}, fmt.Errorf("vault: generate data key: %w", err)
	}
	name, err := c.resolve(keyID)
	if err != nil {
		return keys.DataKey{}, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if err := c.checkKey(ctx, name); err != nil {
		return keys.DataKey{}, err
	}
	dataKey := make([]byte, keys.DataKeySize)
	rand.Read(dataKey) // never fails, see crypto/rand.Read
	ct, err := c.encrypt(ctx, name, dataKey, associatedData)
	if err != nil {
		clear(dataKey)
		return keys.DataKey{}, err
	}
	return keys.DataKey{KeyID: name, Plaintext: dataKey, Ciphertext: ct}, nil
}

// Decrypt unwraps a ciphertext produced by GenerateDataKey under the Transit key keyID with the
// same associatedData. A ciphertext that is not a well-formed Transit ciphertext fails with
// keys.ErrDecrypt without a call to Vault.
func (c *Client) Decrypt(ctx context.Context, keyID string, ciphertext, associatedData []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vault: decrypt: %w", err)
	}
	name, err := c.resolve(keyID)
	if err != nil {
		return nil, err
	}
	if _, ok := parseCiphertext(ciphertext); !ok {
		return nil, keys.ErrDecrypt
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	return c.decrypt(ctx, name, ciphertext, associatedData)
}

var (
	_ keys.Rewrapper = (*Client)(nil)
	_ keys.Versioner = (*Client)(nil)
)

// Rewrap re-wraps a data key, wrapped by fromKeyID with associated data ad, under the latest
// version of toKeyID ("" = fromKeyID), for rotation: the object's data is not touched, only its
// wrapped key changes. It returns the new ciphertext and the resolved name of toKeyID.
//
// It decrypts and encrypts again with the same associated data, so the token needs decrypt on
// fromKeyID and encrypt on toKeyID, and the data key passes through this process (and is
// cleared). It does not use Transit's rewrap endpoint: that endpoint takes no associated data
// (builtin/logical/transit/path_rewrap.go), so it cannot open these ciphertexts. Errors are
// those of Decrypt and GenerateDataKey.
func (c *Client) Rewrap(ctx context.Context, fromKeyID string, ciphertext, ad []byte, toKeyID string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("vault: rewrap: %w", err)
	}
	from, err := c.resolve(fromKeyID)
	if err != nil {
		return nil, "", err
	}
	to := from
	if toKeyID != "" {
		if to, err = c.resolve(toKeyID); err != nil {
			return nil, "", err
		}
	}
	if _, ok := parseCiphertext(ciphertext); !ok {
		return nil, "", keys.ErrDecrypt
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if to != from {
		if err := c.checkKey(ctx, to); err != nil {
			return nil, "", err
		}
	}
	dataKey, err := c.decrypt(ctx, from, ciphertext, ad)
	if err != nil {
		return nil, "", err
	}
	defer clear(dataKey)
	ct, err := c.encrypt(ctx, to, dataKey, ad)
	if err != nil {
		return nil, "", err
	}
	return ct, to, nil
}

// WrappedVersion returns the Transit key version in ciphertext ("2" for "vault:v2:..."), or ok
// false if ciphertext is not a well-formed Transit ciphertext.
func (c *Client) WrappedVersion(ciphertext []byte) (version string, ok bool) {
	v, ok := parseCiphertext(ciphertext)
	if !ok {
		return "", false
	}
	return strconv.Itoa(v), true
}

// CurrentVersion returns the latest version of the Transit key keyID ("" for the default key),
// the one GenerateDataKey and Rewrap wrap with.
func (c *Client) CurrentVersion(ctx context.Context, keyID string) (string, error) {
	latest, _, err := c.KeyVersions(ctx, keyID)
	if err != nil {
		return "", err
	}
	return strconv.Itoa(latest), nil
}

// KeyVersions reads the Transit key name ("" for the default key) and returns its latest
// version and its min_decryption_version: ciphertexts of older versions no longer decrypt.
func (c *Client) KeyVersions(ctx context.Context, name string) (latest, minDecryption int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, fmt.Errorf("vault: read key: %w", err)
	}
	name, err = c.resolve(name)
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	k, err := c.readKey(ctx, name)
	if err != nil {
		return 0, 0, err
	}
	return k.LatestVersion, k.MinDecryptionVersion, nil
}

// aeadTypes are the Transit key types that take associated data (Vault's
// KeyType.AssociatedDataSupported, plus OpenBao's xchacha20-poly1305).
var aeadTypes = map[string]bool{
	"aes128-gcm96":       true,
	"aes256-gcm96":       true,
	"chacha20-poly1305":  true,
	"xchacha20-poly1305": true,
}

// checkKey makes sure, once per key name, that the key exists, is not soft-deleted (OpenBao),
// takes associated data and is not derived. Only success is remembered.
func (c *Client) checkKey(ctx context.Context, name string) error {
	if _, ok := c.usable.Load(name); ok {
		return nil
	}
	k, err := c.readKey(ctx, name)
	if err != nil {
		return err
	}
	switch {
	case k.SoftDeleted:
		return fmt.Errorf("%w: Vault key %s is soft-deleted", keys.ErrDisabled, quote(name))
	case !aeadTypes[k.Type]:
		return fmt.Errorf("vault: key %s has type %q; sseproxy needs an AEAD key type (aes256-gcm96)", quote(name), k.Type)
	case k.Derived:
		return fmt.Errorf("vault: key %s is a derived key; sseproxy needs a key created without derived=true", quote(name))
	}
	c.usable.Store(name, struct{}{})
	return nil
}

// encrypt wraps dataKey under the latest version of key name, bound to ad, and returns the
// Transit ciphertext after checking its form.
func (c *Client) encrypt(ctx context.Context, name string, dataKey, ad []byte) ([]byte, error) {
	body := jsonBody(field{"plaintext", dataKey, true}, field{"associated_data", ad, true})
	defer clear(body)
	var out struct {
		Ciphertext string `json:"ciphertext"`
	}
	if err := c.call(ctx, opEncrypt, name, body, &out); err != nil {
		if errors.Is(err, keys.ErrNotFound) {
			c.usable.Delete(name)
		}
		return nil, err
	}
	ct := []byte(out.Ciphertext)
	if _, ok := parseCiphertext(ct); !ok {
		return nil, fmt.Errorf("%w: vault: encrypt with key %s: malformed ciphertext in the answer", keys.ErrUnavailable, quote(name))
	}
	return ct, nil
}

// decrypt unwraps a checked ciphertext under key name with ad.
func (c *Client) decrypt(ctx context.Context, name string, ciphertext, ad []byte) ([]byte, error) {
	body := jsonBody(field{"ciphertext", ciphertext, false}, field{"associated_data", ad, true})
	var out struct {
		Plaintext secretString `json:"plaintext"`
	}
	defer func() { clear(out.Plaintext) }()
	if err := c.call(ctx, opDecrypt, name, body, &out); err != nil {
		return nil, err
	}
	if len(out.Plaintext) == 0 {
		return nil, fmt.Errorf("%w: vault: decrypt with key %s: answer without plaintext", keys.ErrUnavailable, quote(name))
	}
	dataKey := make([]byte, keys.DataKeySize)
	n, err := base64.StdEncoding.Strict().Decode(dataKey, out.Plaintext)
	if err != nil || n != keys.DataKeySize || base64.StdEncoding.EncodedLen(n) != len(out.Plaintext) {
		clear(dataKey)
		return nil, keys.ErrDecrypt // it decrypted, but it is not one of our data keys
	}
	return dataKey, nil
}

// transitKey is the part of a Transit "read key" answer that the client uses.
type transitKey struct {
	Type                 string `json:"type"`
	Derived              bool   `json:"derived"`
	LatestVersion        int    `json:"latest_version"`
	MinDecryptionVersion int    `json:"min_decryption_version"`
	SoftDeleted          bool   `json:"soft_deleted"` // OpenBao
}

// readKey reads key name.
func (c *Client) readKey(ctx context.Context, name string) (transitKey, error) {
	var k transitKey
	if err := c.call(ctx, opReadKey, name, nil, &k); err != nil {
		return transitKey{}, err
	}
	if k.LatestVersion < 1 {
		return transitKey{}, fmt.Errorf("%w: vault: read key %s: malformed answer", keys.ErrUnavailable, quote(name))
	}
	return k, nil
}

var _ keys.Rebinder = (*Client)(nil)

// Rebind re-wraps a data key of keyID from associated data fromAD to toAD:
// decrypt, then encrypt under the key's latest version (Transit's rewrap
// takes no associated data). The data key is cleared before Rebind returns.
func (c *Client) Rebind(ctx context.Context, keyID string, ciphertext, fromAD, toAD []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vault: rebind: %w", err)
	}
	name, err := c.resolve(keyID)
	if err != nil {
		return nil, err
	}
	if _, ok := parseCiphertext(ciphertext); !ok {
		return nil, keys.ErrDecrypt
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	dataKey, err := c.decrypt(ctx, name, ciphertext, fromAD)
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	return c.encrypt(ctx, name, dataKey, toAD)
}

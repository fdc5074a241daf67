// Package config owns sseproxy's configuration: the TOML file, the
// environment variables that override its secrets, the defaults, and the one
// place where all of it is validated.
//
// # Sources and precedence
//
// A Config starts as [Default]. The TOML file (see config.example.toml at the
// repository root for every key, its meaning and its default) is decoded over
// it, then the environment overrides it, then [Config.Validate] runs once.
// Decoding is strict: a key the Config does not define, or one spelled with
// different letter case, is an error naming the key. A key set to an empty
// string is not "unset": it replaces the default and usually fails validation.
// Durations are strings such as "30s", "2m" or "1h30m" (Go's
// time.ParseDuration).
//
// # Environment
//
// These variables keep secrets out of the file. A variable that is unset or
// empty changes nothing.
//
//	SSEPROXY_BACKEND_ENDPOINT    overrides backend.endpoint
//	SSEPROXY_BACKEND_ACCESS_KEY  overrides backend.access_key
//	SSEPROXY_BACKEND_SECRET_KEY  overrides backend.secret_key
//	SSEPROXY_ACCESS_KEY          with SSEPROXY_SECRET_KEY, one client
//	SSEPROXY_SECRET_KEY          credential: appended to [[credentials]], or
//	                             replacing the secret of the entry with the
//	                             same access key. Set both or neither.
//
// # Development mode
//
// An empty backend.endpoint selects development mode: the proxy stores
// objects in an embedded store under backend.data_dir. Only then may the
// configuration list no client credential; the caller is expected to add one
// from [GenerateCredential] and show it to the developer. With a real backend
// at least one credential is required, so a production proxy can never start
// open or with a credential nobody knows.
//
// # Secrets
//
// Config never prints secrets: [Config.Redacted] (also used by String) masks
// every secret key, so a configuration can be logged or shown by
// `sseproxy config check`.
package config

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the proxy's whole configuration. Build one with [Load], [Parse]
// or [Default]; a Config changed by hand must pass [Config.Validate] again.
type Config struct {
	// Server is the client-facing S3 listener.
	Server Server `toml:"server"`
	// Backend is the object store that receives the encrypted objects.
	Backend Backend `toml:"backend"`
	// Credentials are the access keys clients sign requests with.
	// Default: none (allowed only in development mode).
	Credentials []Credential `toml:"credentials"`
	// Encryption chooses what happens to objects stored without an explicit
	// encryption request.
	Encryption Encryption `toml:"encryption"`
	// KMS chooses where the key-encryption keys live.
	KMS KMS `toml:"kms"`
	// Log configures the process log.
	Log Log `toml:"log"`
	// TLS configures the client-facing listener's TLS.
	TLS TLS `toml:"tls"`
	// Admin configures the operator listener: health, readiness, metrics.
	Admin Admin `toml:"admin"`
}

// Server configures the client-facing S3 listener.
type Server struct {
	// Listen is the host:port the proxy listens on; an empty host means all
	// interfaces and port 0 picks a free port. Default "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// Domains are base domains for virtual-hosted-style requests: a request
	// whose Host is <bucket>.<domain> (compared case-insensitively, port
	// ignored) addresses <bucket>. Any other Host is served path-style.
	// Default: none, i.e. path-style only.
	Domains []string `toml:"domains"`
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's headers. Bodies have no time limit, so slow clients can
	// upload large objects. Default 30s.
	ReadHeaderTimeout time.Duration `toml:"read_header_timeout"`
	// IdleTimeout closes a keep-alive connection idle for this long.
	// Default 2m.
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// ShutdownGrace is how long requests in flight may run after SIGTERM or
	// SIGINT; the connections still open then are closed. It applies to
	// every listener. 0 closes them at once. Default 30s.
	ShutdownGrace time.Duration `toml:"shutdown_grace"`
}

// Backend configures the object store behind the proxy.
type Backend struct {
	// Endpoint is the store's base URL, "http://host:port" or
	// "https://host[:port]", without path or query. Empty selects development
	// mode: an embedded store under DataDir. Default "".
	// Environment: SSEPROXY_BACKEND_ENDPOINT.
	Endpoint string `toml:"endpoint"`
	// Region is the region the proxy signs backend requests for.
	// Default "us-east-1".
	Region string `toml:"region"`
	// AccessKey is the proxy's own access key at the backend; required when
	// Endpoint is set. Default "". Environment: SSEPROXY_BACKEND_ACCESS_KEY.
	AccessKey string `toml:"access_key"`
	// SecretKey is the secret for AccessKey; required when Endpoint is set.
	// Default "". Environment: SSEPROXY_BACKEND_SECRET_KEY.
	SecretKey string `toml:"secret_key"`
	// DataDir is where the embedded development store keeps its data; unused
	// when Endpoint is set. Default "./sseproxy-data".
	DataDir string `toml:"data_dir"`
	// CAFile is a PEM bundle of CA certificates trusted for an https
	// Endpoint, in addition to the system roots. Default "".
	CAFile string `toml:"ca_file"`
	// ClientCertFile and ClientKeyFile are a PEM certificate and key the
	// proxy presents to an https Endpoint that asks for one (mutual TLS);
	// set both or neither. Read once at start. Default "".
	ClientCertFile string `toml:"client_cert_file"`
	ClientKeyFile  string `toml:"client_key_file"` // see ClientCertFile
	// InsecureSkipVerify accepts any certificate from an https Endpoint,
	// leaving the connection open to interception; the proxy logs a warning
	// at start. For tests only. Default false.
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
}

// Credential is one client access key and its secret.
type Credential struct {
	// AccessKey identifies the client: 3 to 128 printable ASCII characters
	// without space, '/' or ','.
	AccessKey string `toml:"access_key"`
	// SecretKey signs the client's requests: at least 8 characters.
	SecretKey string `toml:"secret_key"`
	// Buckets limits the credential to these buckets (others answer 403
	// AccessDenied, and ListBuckets hides them). Default: all buckets.
	Buckets []string `toml:"buckets"`
	// Keys limits the CMK ids the credential may encrypt with (aws:kms
	// key ids, bucket rules it sets). Default: all keys.
	Keys []string `toml:"keys"`
}

// Encryption configures server-side encryption.
type Encryption struct {
	// Default applies to objects written without an encryption header when
	// their bucket has no rule: "AES256" encrypts them under the default
	// key (SSE-S3), "aws:kms" (or "KMS", the OSS name) under the default key
	// as SSE-KMS, "none" stores them as sent. Default "AES256".
	Default string `toml:"default"`
	// Buckets are fixed per-bucket defaults, by bucket name
	// ([encryption.buckets.NAME]). A rule set with PutBucketEncryption
	// (stored with the bucket in the backend) takes precedence.
	// Default: none.
	Buckets map[string]BucketRule `toml:"buckets"`
}

// BucketRule is one bucket's default encryption.
type BucketRule struct {
	// Default is "AES256", "aws:kms" (or "KMS") or "none".
	Default string `toml:"default"`
	// KeyID is the CMK of an aws:kms rule; "" = kms.default_key.
	KeyID string `toml:"key_id"`
}

// KMS configures the key management service that wraps data keys.
type KMS struct {
	// Provider names the KMS implementation; only "local" (a keyring file)
	// exists today. Default "local".
	Provider string `toml:"provider"`
	// Keyring is the local provider's key file. Default "./sseproxy-keys.json".
	Keyring string `toml:"keyring"`
	// DefaultKey names the CMK that wraps new data keys when a request
	// names none (AES256, and aws:kms without a key id): a keyring key
	// name, an AWS key id/ARN/alias, a Vault or KES key name.
	// Default "default".
	DefaultKey string `toml:"default_key"`
	// Timeout bounds each KMS call; a KMS that does not answer in time fails
	// the request with 503 and nothing is written. Default "10s".
	Timeout time.Duration `toml:"timeout"`
	// CacheSize bounds the unwrapped data keys kept in memory so repeated
	// reads of an object cost no KMS call. Default 10000.
	CacheSize int `toml:"cache_size"`
	// CacheTTL is how long an unwrapped key is reused. Default "5m".
	CacheTTL time.Duration `toml:"cache_ttl"`
	// CacheOff disables the cache: every read calls the KMS. Default false.
	CacheOff bool `toml:"cache_off"`
	// AWS configures provider "aws" (the AWS KMS API).
	AWS AWSKMS `toml:"aws"`
	// Vault configures provider "vault" (HashiCorp Vault / OpenBao Transit).
	Vault VaultKMS `toml:"vault"`
	// KES configures provider "kes" (MinIO KES, mTLS).
	KES KESKMS `toml:"kes"`
}

// AWSKMS configures the AWS KMS provider.
type AWSKMS struct {
	// Endpoint overrides the AWS endpoint (e.g. a local-kms URL). Default "".
	Endpoint string `toml:"endpoint"`
	// Region of the KMS. Default "us-east-1".
	Region string `toml:"region"`
	// AccessKey and SecretKey are static credentials; empty = the AWS SDK's
	// default chain (environment, instance role, ...). Default "".
	// Environment: SSEPROXY_KMS_AWS_ACCESS_KEY, SSEPROXY_KMS_AWS_SECRET_KEY.
	AccessKey string `toml:"access_key"`
	SecretKey string `toml:"secret_key"`
}

// VaultKMS configures the Vault/OpenBao Transit provider.
type VaultKMS struct {
	// Address is the Vault URL, e.g. "https://vault:8200". Required.
	Address string `toml:"address"`
	// Token authenticates with a Vault token. Environment: SSEPROXY_KMS_VAULT_TOKEN.
	Token string `toml:"token"`
	// RoleID and SecretID authenticate with AppRole instead of a token.
	// Environment: SSEPROXY_KMS_VAULT_SECRET_ID.
	RoleID   string `toml:"role_id"`
	SecretID string `toml:"secret_id"`
	// Mount is the Transit mount path. Default "transit".
	Mount string `toml:"mount"`
	// Namespace is the Vault Enterprise/OpenBao namespace. Default "".
	Namespace string `toml:"namespace"`
}

// KESKMS configures the MinIO KES provider.
type KESKMS struct {
	// Endpoints are KES server URLs (https), tried in order. Required.
	Endpoints []string `toml:"endpoints"`
	// ClientCert and ClientKey are the PEM files of the proxy's mTLS identity.
	ClientCert string `toml:"client_cert"`
	ClientKey  string `toml:"client_key"`
	// CAFile verifies the KES server; "" = the system roots.
	CAFile string `toml:"ca_file"`
}

// Log configures the process log.
type Log struct {
	// Level is the least severe level written: "debug", "info", "warn" or
	// "error". Default "info".
	Level string `toml:"level"`
	// Format is "json" (one object per line) or "console" (human-readable).
	// Default "json".
	Format string `toml:"format"`
}

// TLS configures TLS on the client-facing listener (server.listen).
type TLS struct {
	// Mode is "off" (plain HTTP), "files" (CertFile and KeyFile) or "acme"
	// (certificates for ACMEDomains obtained and renewed automatically).
	// TLS is 1.2 or newer; HTTP/2 is offered. Default "off".
	Mode string `toml:"mode"`
	// CertFile and KeyFile are the PEM certificate chain and private key of
	// mode "files". They are reloaded, without dropping connections, when
	// either file changes (checked every ReloadInterval) and on SIGHUP; a
	// pair that fails to load is logged and the previous one kept.
	// Default "".
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"` // see CertFile
	// ReloadInterval is how often mode "files" checks the files for changes;
	// 0 reloads them on SIGHUP only. Default 5s.
	ReloadInterval time.Duration `toml:"reload_interval"`
	// RedirectListen is a host:port where plain HTTP requests are redirected
	// (308) to https; in mode "acme" it also answers HTTP-01 challenges.
	// Requires mode "files" or "acme". Default "" (none).
	RedirectListen string `toml:"redirect_listen"`
	// ACMEDomains are the DNS names mode "acme" obtains a certificate for.
	// Default: none.
	ACMEDomains []string `toml:"acme_domains"`
	// ACMEEmail is the contact address of the ACME account. Default "".
	ACMEEmail string `toml:"acme_email"`
	// ACMECA is the ACME directory URL of the certificate authority; mode
	// "acme" accepts its subscriber agreement.
	// Default "https://acme-v02.api.letsencrypt.org/directory".
	ACMECA string `toml:"acme_ca"`
	// ACMECARoot is a PEM file of root certificates trusted for talking to
	// ACMECA (a private ACME server), in place of the system roots.
	// Default "" (system roots).
	ACMECARoot string `toml:"acme_ca_root"`
	// ACMEStorage is the directory holding ACME accounts, certificates and
	// keys. Keep it on a persistent volume: without it every restart
	// orders new certificates and may hit the CA's rate limits.
	// Default "./sseproxy-acme".
	ACMEStorage string `toml:"acme_storage"`
	// ACMEChallenges are the challenge types offered to the CA:
	// "http-01" (port 80) and "tls-alpn-01" (port 443). Default both.
	ACMEChallenges []string `toml:"acme_challenges"`
	// ACMEHTTPPort is the local port the CA's HTTP-01 requests (sent to port
	// 80) arrive at. When RedirectListen is on this port it answers them;
	// otherwise a listener is opened on it while a challenge is pending.
	// Default 80.
	ACMEHTTPPort int `toml:"acme_http_port"`
	// ACMETLSPort is the local port the CA's TLS-ALPN-01 connections (sent
	// to port 443) arrive at. When server.listen is on this port it answers
	// them; otherwise a listener is opened on it while a challenge is
	// pending. Default 443.
	ACMETLSPort int `toml:"acme_tls_port"`
	// ACMERenewInterval is how often mode "acme" checks its certificates
	// for renewal; certmagic renews in the last third of a certificate's
	// lifetime (or when the CA's renewal info says so). Default 10m
	// (certmagic.DefaultRenewCheckInterval).
	ACMERenewInterval time.Duration `toml:"acme_renew_interval"`
}

// Admin configures the operator listener. It serves /healthz (the process
// is alive), /readyz (backend, KMS and certificates are usable) and /metrics
// (Prometheus), apart from the S3 path space and without authentication.
type Admin struct {
	// Listen is its host:port, e.g. "127.0.0.1:9090", or "0.0.0.0:9090" for
	// container probes; "" turns it off. Default "" (off): the endpoints are
	// unauthenticated, and a fixed default port would collide between two
	// proxies on one host (and with Prometheus's own 9090).
	Listen string `toml:"listen"`
	// Pprof serves Go's profiler under /debug/pprof/ on the admin listener,
	// for performance work (it reveals the process's internals and costs
	// CPU while a profile runs). Default false.
	Pprof bool `toml:"pprof"`
}

// Values accepted by the enumerated settings.
const (
	EncryptionAES256 = "AES256"  // encryption.default: encrypt
	EncryptionNone   = "none"    // encryption.default: store as sent
	EncryptionKMS    = "aws:kms" // encryption.default: SSE-KMS under kms.default_key
	EncryptionKMSOSS = "KMS"     // encryption.default: the OSS spelling of aws:kms

	ProviderLocal = "local" // kms.provider: keyring file
	ProviderAWS   = "aws"   // kms.provider: AWS KMS API
	ProviderVault = "vault" // kms.provider: Vault/OpenBao Transit
	ProviderKES   = "kes"   // kms.provider: MinIO KES

	LevelDebug = "debug" // log.level
	LevelInfo  = "info"  // log.level
	LevelWarn  = "warn"  // log.level
	LevelError = "error" // log.level

	FormatJSON    = "json"    // log.format
	FormatConsole = "console" // log.format

	TLSOff   = "off"   // tls.mode: plain HTTP
	TLSFiles = "files" // tls.mode: certificate and key files
	TLSACME  = "acme"  // tls.mode: certificates from an ACME CA

	ChallengeHTTP01    = "http-01"     // tls.acme_challenges
	ChallengeTLSALPN01 = "tls-alpn-01" // tls.acme_challenges
)

// Defaults of the settings that have one.
const (
	DefaultListen     = "127.0.0.1:8080"
	DefaultRegion     = "us-east-1"
	DefaultDataDir    = "./sseproxy-data"
	DefaultEncryption = EncryptionAES256
	DefaultProvider   = ProviderLocal
	DefaultKeyring    = "./sseproxy-keys.json"
	DefaultKeyName    = "default"
	// DefaultKMSTimeout bounds each KMS call.
	DefaultKMSTimeout = 10 * time.Second
	// DefaultKMSCacheSize bounds the unwrapped data keys kept.
	DefaultKMSCacheSize = 10000
	// DefaultKMSCacheTTL is how long an unwrapped key is reused.
	DefaultKMSCacheTTL = 5 * time.Minute
	// DefaultVaultMount is the Transit mount path.
	DefaultVaultMount = "transit"
	DefaultLevel      = LevelInfo
	DefaultFormat     = FormatJSON

	DefaultReadHeaderTimeout = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownGrace     = 30 * time.Second
	DefaultTLSMode           = TLSOff
	DefaultReloadInterval    = 5 * time.Second
	DefaultACMECA            = "https://acme-v02.api.letsencrypt.org/directory"
	DefaultACMEStorage       = "./sseproxy-acme"
	DefaultACMEHTTPPort      = 80
	DefaultACMETLSPort       = 443
	// DefaultACMERenewInterval is certmagic.DefaultRenewCheckInterval.
	DefaultACMERenewInterval = 10 * time.Minute
)

// DefaultACMEChallenges returns the default of tls.acme_challenges.
func DefaultACMEChallenges() []string { return []string{ChallengeHTTP01, ChallengeTLSALPN01} }

// Environment variables that override the file.
const (
	EnvBackendEndpoint  = "SSEPROXY_BACKEND_ENDPOINT"
	EnvBackendAccessKey = "SSEPROXY_BACKEND_ACCESS_KEY"
	EnvBackendSecretKey = "SSEPROXY_BACKEND_SECRET_KEY"
	EnvAccessKey        = "SSEPROXY_ACCESS_KEY"
	EnvSecretKey        = "SSEPROXY_SECRET_KEY"
	EnvKMSAWSAccessKey  = "SSEPROXY_KMS_AWS_ACCESS_KEY"
	EnvKMSAWSSecretKey  = "SSEPROXY_KMS_AWS_SECRET_KEY"
	EnvKMSVaultToken    = "SSEPROXY_KMS_VAULT_TOKEN"
	EnvKMSVaultSecretID = "SSEPROXY_KMS_VAULT_SECRET_ID"
)

// redactedMask replaces secrets in [Config.Redacted].
const redactedMask = "REDACTED"

// Default returns a Config holding every default: development mode, no
// credentials. It is valid as it is.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen:            DefaultListen,
			ReadHeaderTimeout: DefaultReadHeaderTimeout,
			IdleTimeout:       DefaultIdleTimeout,
			ShutdownGrace:     DefaultShutdownGrace,
		},
		Backend:    Backend{Region: DefaultRegion, DataDir: DefaultDataDir},
		Encryption: Encryption{Default: DefaultEncryption},
		KMS: KMS{Provider: DefaultProvider, Keyring: DefaultKeyring, DefaultKey: DefaultKeyName,
			Timeout: DefaultKMSTimeout, CacheSize: DefaultKMSCacheSize, CacheTTL: DefaultKMSCacheTTL,
			AWS: AWSKMS{Region: DefaultRegion}, Vault: VaultKMS{Mount: DefaultVaultMount}},
		Log: Log{Level: DefaultLevel, Format: DefaultFormat},
		TLS: TLS{
			Mode:              DefaultTLSMode,
			ReloadInterval:    DefaultReloadInterval,
			ACMECA:            DefaultACMECA,
			ACMEStorage:       DefaultACMEStorage,
			ACMEChallenges:    DefaultACMEChallenges(),
			ACMEHTTPPort:      DefaultACMEHTTPPort,
			ACMETLSPort:       DefaultACMETLSPort,
			ACMERenewInterval: DefaultACMERenewInterval,
		},
	}
}

// Load reads the TOML file at path and returns it as [Parse] does, with the
// process environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, os.LookupEnv)
}

// Parse decodes data strictly over [Default], applies the environment read
// through env (os.LookupEnv in production; nil means an empty environment)
// and validates the result. The error names every offending key.
func Parse(data []byte, env func(string) (string, bool)) (*Config, error) {
	c := Default()
	md, err := toml.Decode(string(data), c)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := checkKeys(md); err != nil {
		return nil, err
	}
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	if err := c.applyEnv(env); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// checkKeys rejects every key of the document that Config does not define.
// MetaData.Undecoded alone is not enough: the decoder also fills a field from
// a key that matches its name only case-insensitively ("Listen"), and two such
// spellings in one table would race for the field.
func checkKeys(md toml.MetaData) error {
	known := knownKeys()
	var errs []error
	var reported []string // unknown tables: their keys are not reported again
	for _, k := range md.Keys() {
		name := k.String()
		if known[wildcard(k, known)] || slices.ContainsFunc(reported, func(p string) bool { return strings.HasPrefix(name, p+".") }) {
			continue
		}
		reported = append(reported, name)
		errs = append(errs, &KeyError{Key: name, Msg: "unknown key"})
	}
	return errors.Join(errs...)
}

// wildcard spells key with "*" for the names of tables of tables
// (encryption.buckets.NAME.default -> encryption.buckets.*.default).
func wildcard(key toml.Key, known map[string]bool) string {
	parts := slices.Clone([]string(key))
	for i := 1; i < len(parts); i++ {
		if known[strings.Join(parts[:i], ".")+".*"] {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, ".")
}

// knownKeys is the set of dotted keys Config defines, read from its toml tags.
var knownKeys = sync.OnceValue(func() map[string]bool {
	keys := map[string]bool{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			key := prefix + f.Tag.Get("toml")
			keys[key] = true
			ft := f.Type
			if ft.Kind() == reflect.Map {
				// A table of tables by name: [encryption.buckets.NAME].
				keys[key+".*"] = true
				walk(key+".*.", ft.Elem())
				continue
			}
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(key+".", ft)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return keys
})

// applyEnv applies the environment overrides described in the package doc.
func (c *Config) applyEnv(env func(string) (string, bool)) error {
	get := func(name string) string {
		v, _ := env(name)
		return v
	}
	for name, field := range map[string]*string{
		EnvBackendEndpoint:  &c.Backend.Endpoint,
		EnvBackendAccessKey: &c.Backend.AccessKey,
		EnvBackendSecretKey: &c.Backend.SecretKey,
		EnvKMSAWSAccessKey:  &c.KMS.AWS.AccessKey,
		EnvKMSAWSSecretKey:  &c.KMS.AWS.SecretKey,
		EnvKMSVaultToken:    &c.KMS.Vault.Token,
		EnvKMSVaultSecretID: &c.KMS.Vault.SecretID,
	} {
		if v := get(name); v != "" {
			*field = v
		}
	}
	ak, sk := get(EnvAccessKey), get(EnvSecretKey)
	switch {
	case ak == "" && sk == "":
		return nil
	case ak == "" || sk == "":
		return fmt.Errorf("config: %s and %s must be set together", EnvAccessKey, EnvSecretKey)
	}
	for i := range c.Credentials {
		if c.Credentials[i].AccessKey == ak {
			c.Credentials[i].SecretKey = sk
			return nil
		}
	}
	c.Credentials = append(c.Credentials, Credential{AccessKey: ak, SecretKey: sk})
	return nil
}

// DevMode reports whether c selects development mode: no backend endpoint,
// objects kept by the embedded store under Backend.DataDir.
func (c *Config) DevMode() bool { return c.Backend.Endpoint == "" }

// SecretKey returns the secret of the client credential with accessKey, and
// whether there is one. The lookup is a linear scan: credential lists are
// short. It makes *Config usable wherever a credentials lookup is consumed.
func (c *Config) SecretKey(accessKey string) (string, bool) {
	for _, cr := range c.Credentials {
		if cr.AccessKey == accessKey {
			return cr.SecretKey, true
		}
	}
	return "", false
}

// GenerateCredential returns a fresh random credential that passes
// validation: a 20-character access key and a 26-character secret (130 bits)
// from crypto/rand. Development mode adds one when none is configured.
func GenerateCredential() Credential {
	return Credential{AccessKey: rand.Text()[:20], SecretKey: rand.Text()}
}

// Redacted returns c as TOML with every non-empty secret key replaced by
// "REDACTED", for logs and `sseproxy config check`.
func (c *Config) Redacted() string {
	r := *c
	r.Server.Domains = slices.Clone(c.Server.Domains)
	r.Credentials = slices.Clone(c.Credentials)
	r.TLS.ACMEDomains = slices.Clone(c.TLS.ACMEDomains)
	r.TLS.ACMEChallenges = slices.Clone(c.TLS.ACMEChallenges)
	mask := func(s *string) {
		if *s != "" {
			*s = redactedMask
		}
	}
	mask(&r.Backend.SecretKey)
	for i := range r.Credentials {
		mask(&r.Credentials[i].SecretKey)
	}
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	if err := enc.Encode(&r); err != nil {
		return "config: " + err.Error() // unreachable: Config holds only encodable values
	}
	return b.String()
}

// String returns [Config.Redacted], so formatting a *Config never prints a
// secret.
func (c *Config) String() string { return c.Redacted() }

// KeyError is a problem with one configuration key. Validation and strict
// decoding return one KeyError per problem, joined with errors.Join; find
// them with errors.As or by unwrapping.
type KeyError struct {
	// Key is the dotted TOML key, with an index for list elements:
	// "encryption.default", "credentials[1].secret_key".
	Key string
	// Msg says what is wrong with it.
	Msg string
}

// Error returns "config: <key>: <msg>".
func (e *KeyError) Error() string { return "config: " + e.Key + ": " + e.Msg }

package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Validate checks every setting and returns one [*KeyError] per problem,
// joined with errors.Join, or nil. [Load] and [Parse] call it; call it again
// only after changing a Config by hand.
func (c *Config) Validate() error {
	v := &validator{}

	v.listen("server.listen", c.Server.Listen)
	for i, d := range c.Server.Domains {
		if !isDNSName(d) {
			v.bad(fmt.Sprintf("server.domains[%d]", i), "invalid value %q (want a DNS name such as %q)", d, "s3.example.com")
		}
	}

	v.endpoint("backend.endpoint", c.Backend.Endpoint)
	if !isToken(c.Backend.Region, 64, "-_") {
		v.bad("backend.region", "invalid value %q (want letters, digits, '-' or '_', such as %q)", c.Backend.Region, DefaultRegion)
	}
	if c.Backend.Endpoint != "" {
		v.required("backend.access_key", c.Backend.AccessKey, "when backend.endpoint is set (or set "+EnvBackendAccessKey+")")
		v.required("backend.secret_key", c.Backend.SecretKey, "when backend.endpoint is set (or set "+EnvBackendSecretKey+")")
	}
	v.required("backend.data_dir", c.Backend.DataDir, "")

	v.credentials(c)

	v.oneOf("encryption.default", c.Encryption.Default, EncryptionNone, EncryptionAES256, EncryptionKMS, EncryptionKMSOSS)
	for name, rule := range c.Encryption.Buckets {
		key := "encryption.buckets." + name
		v.oneOf(key+".default", rule.Default, EncryptionNone, EncryptionAES256, EncryptionKMS, EncryptionKMSOSS)
		if rule.KeyID != "" && rule.Default != EncryptionKMS && rule.Default != EncryptionKMSOSS {
			v.bad(key+".key_id", "only valid with default = %q", EncryptionKMS)
		}
	}
	v.kms(&c.KMS)
	if !printableID(c.KMS.DefaultKey) {
		v.bad("kms.default_key", "invalid value %q (want 1 to 512 printable ASCII characters without spaces, e.g. %q or %q)", truncate(c.KMS.DefaultKey, 520), DefaultKeyName, "alias/sseproxy")
	}
	v.oneOf("log.level", c.Log.Level, LevelDebug, LevelInfo, LevelWarn, LevelError)
	v.oneOf("log.format", c.Log.Format, FormatJSON, FormatConsole)

	v.positive("server.read_header_timeout", c.Server.ReadHeaderTimeout)
	v.positive("server.idle_timeout", c.Server.IdleTimeout)
	v.notNegative("server.shutdown_grace", c.Server.ShutdownGrace)
	v.backendTLS(&c.Backend)
	v.tls(&c.TLS)
	if c.Admin.Listen != "" {
		v.listen("admin.listen", c.Admin.Listen)
	}

	return errors.Join(v.errs...)
}

// kms checks the [kms] table and its provider's settings.
func (v *validator) kms(k *KMS) {
	v.oneOf("kms.provider", k.Provider, ProviderLocal, ProviderAWS, ProviderVault, ProviderKES)
	v.positive("kms.timeout", k.Timeout)
	v.positive("kms.cache_ttl", k.CacheTTL)
	if k.CacheSize < 0 {
		v.bad("kms.cache_size", "invalid value %d (want 0 or more; cache_off = true disables the cache)", k.CacheSize)
	}
	switch k.Provider {
	case ProviderLocal:
		v.required("kms.keyring", k.Keyring, "")
	case ProviderAWS:
		v.required("kms.aws.region", k.AWS.Region, "")
		if (k.AWS.AccessKey == "") != (k.AWS.SecretKey == "") {
			v.bad("kms.aws.secret_key", "access_key and secret_key must be set together (or both left to the AWS SDK's default chain)")
		}
		if k.AWS.Endpoint != "" {
			v.endpoint("kms.aws.endpoint", k.AWS.Endpoint)
		}
	case ProviderVault:
		v.required("kms.vault.address", k.Vault.Address, `with provider "vault"`)
		if k.Vault.Token == "" && (k.Vault.RoleID == "" || k.Vault.SecretID == "") {
			v.bad("kms.vault.token", "set token (or %s), or role_id and secret_id for AppRole", EnvKMSVaultToken)
		}
	case ProviderKES:
		if len(k.KES.Endpoints) == 0 {
			v.bad("kms.kes.endpoints", `at least one https endpoint is required with provider "kes"`)
		}
		v.required("kms.kes.client_cert", k.KES.ClientCert, `with provider "kes"`)
		v.required("kms.kes.client_key", k.KES.ClientKey, `with provider "kes"`)
	}
}

// validator collects the problems of one Validate call.
type validator struct{ errs []error }

func (v *validator) bad(key, format string, args ...any) {
	v.errs = append(v.errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) required(key, value, when string) {
	if value == "" {
		v.bad(key, "%s", strings.TrimSpace("required "+when))
	}
}

// oneOf requires value to be one of want, compared exactly.
func (v *validator) oneOf(key, value string, want ...string) {
	for _, w := range want {
		if value == w {
			return
		}
	}
	quoted := make([]string, len(want))
	for i, w := range want {
		quoted[i] = strconv.Quote(w)
	}
	list := quoted[0]
	if n := len(quoted); n > 1 {
		list = strings.Join(quoted[:n-1], ", ") + " or " + quoted[n-1]
	}
	v.bad(key, "invalid value %q (want %s)", value, list)
}

// listen requires host:port with a numeric port; the host may be empty (all
// interfaces) and the port 0 (any free port).
func (v *validator) listen(key, value string) {
	_, port, err := net.SplitHostPort(value)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		v.bad(key, "invalid value %q (want host:port such as %q)", value, DefaultListen)
	}
}

// endpoint requires "" or an http(s) URL with a host, an optional numeric
// port and nothing after them. A value with '@' is never echoed: it may hold a
// password.
func (v *validator) endpoint(key, value string) {
	if value == "" {
		return
	}
	if strings.Contains(value, "@") {
		// Possibly user:password@host: do not echo it.
		v.bad(key, "invalid value (contains '@'; credentials belong in backend.access_key and backend.secret_key)")
		return
	}
	u, err := url.Parse(value)
	if err != nil {
		v.bad(key, "invalid value %q (want a URL such as %q)", value, "https://s3.example.com")
		return
	}
	_, portErr := strconv.ParseUint(u.Port(), 10, 16)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		v.bad(key, "invalid value %q (want scheme http or https)", value)
	case u.Hostname() == "":
		v.bad(key, "invalid value %q (want a host)", value)
	case u.Port() != "" && portErr != nil:
		v.bad(key, "invalid value %q (want a numeric port)", value)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		v.bad(key, "invalid value %q (want no path, query or fragment)", value)
	}
}

func (v *validator) port(key string, port int) {
	if port < 1 || port > 65535 {
		v.bad(key, "invalid value %d (want a port from 1 to 65535)", port)
	}
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.bad(key, "invalid value %q (want a positive duration such as %q)", d, "30s")
	}
}

func (v *validator) notNegative(key string, d time.Duration) {
	if d < 0 {
		v.bad(key, "invalid value %q (want a duration of 0 or more, such as %q)", d, "30s")
	}
}

// backendTLS checks the backend's TLS settings: they need an https endpoint.
func (v *validator) backendTLS(b *Backend) {
	https := strings.HasPrefix(b.Endpoint, "https://")
	for _, f := range []struct {
		key string
		set bool
	}{
		{"backend.ca_file", b.CAFile != ""},
		{"backend.client_cert_file", b.ClientCertFile != ""},
		{"backend.client_key_file", b.ClientKeyFile != ""},
		{"backend.insecure_skip_verify", b.InsecureSkipVerify},
	} {
		if f.set && !https {
			v.bad(f.key, "set, but backend.endpoint is not an https URL")
		}
	}
	if (b.ClientCertFile == "") != (b.ClientKeyFile == "") {
		v.bad("backend.client_key_file", "backend.client_cert_file and backend.client_key_file must be set together")
	}
}

// tls checks the [tls] table: the fields each mode needs, and the form of
// the others.
func (v *validator) tls(t *TLS) {
	v.oneOf("tls.mode", t.Mode, TLSOff, TLSFiles, TLSACME)
	v.notNegative("tls.reload_interval", t.ReloadInterval)
	if t.RedirectListen != "" {
		v.listen("tls.redirect_listen", t.RedirectListen)
		if t.Mode == TLSOff {
			v.bad("tls.redirect_listen", "set, but tls.mode is %q (want %q or %q)", TLSOff, TLSFiles, TLSACME)
		}
	}
	if t.Mode == TLSFiles {
		v.required("tls.cert_file", t.CertFile, "when tls.mode is \"files\"")
		v.required("tls.key_file", t.KeyFile, "when tls.mode is \"files\"")
	}
	for i, d := range t.ACMEDomains {
		if !isDNSName(d) {
			v.bad(fmt.Sprintf("tls.acme_domains[%d]", i), "invalid value %q (want a DNS name such as %q)", d, "s3.example.com")
		}
	}
	if t.ACMEEmail != "" && (!strings.Contains(t.ACMEEmail, "@") || strings.ContainsAny(t.ACMEEmail, " \t\r\n<>")) {
		v.bad("tls.acme_email", "invalid value %q (want an address such as %q)", t.ACMEEmail, "ops@example.com")
	}
	if u, err := url.Parse(t.ACMECA); err != nil || u.Scheme != "https" || u.Host == "" {
		v.bad("tls.acme_ca", "invalid value %q (want an https directory URL such as %q)", t.ACMECA, DefaultACMECA)
	}
	v.required("tls.acme_storage", t.ACMEStorage, "")
	seen := map[string]bool{}
	for i, ch := range t.ACMEChallenges {
		key := fmt.Sprintf("tls.acme_challenges[%d]", i)
		v.oneOf(key, ch, ChallengeHTTP01, ChallengeTLSALPN01)
		if seen[ch] {
			v.bad(key, "duplicate %q", ch)
		}
		seen[ch] = true
	}
	v.port("tls.acme_http_port", t.ACMEHTTPPort)
	v.port("tls.acme_tls_port", t.ACMETLSPort)
	v.positive("tls.acme_renew_interval", t.ACMERenewInterval)
	if t.Mode == TLSACME {
		if len(t.ACMEDomains) == 0 {
			v.bad("tls.acme_domains", "at least one domain is required when tls.mode is %q", TLSACME)
		}
		if len(t.ACMEChallenges) == 0 {
			v.bad("tls.acme_challenges", "at least one challenge type is required when tls.mode is %q", TLSACME)
		}
	}
}

// credentials checks each client credential and their number.
func (v *validator) credentials(c *Config) {
	seen := map[string]int{}
	for i, cr := range c.Credentials {
		key := fmt.Sprintf("credentials[%d]", i)
		if !isAccessKey(cr.AccessKey) {
			// The value is not secret, but quoting a huge one helps nobody.
			v.bad(key+".access_key", "invalid value %q (want 3 to 128 printable ASCII characters without space, '/' or ',')", truncate(cr.AccessKey, 140))
		} else if j, dup := seen[cr.AccessKey]; dup {
			v.bad(key+".access_key", "duplicate of credentials[%d].access_key %q", j, cr.AccessKey)
		} else {
			seen[cr.AccessKey] = i
		}
		for j, b := range cr.Buckets {
			if b == "" {
				v.bad(fmt.Sprintf("%s.buckets[%d]", key, j), "empty bucket name")
			}
		}
		for j, k := range cr.Keys {
			if k == "" {
				v.bad(fmt.Sprintf("%s.keys[%d]", key, j), "empty key id")
			}
		}
		if len(cr.SecretKey) < 8 {
			// Never echo a secret, not even a short one.
			v.bad(key+".secret_key", "too short (want at least 8 characters)")
		}
	}
	if len(c.Credentials) == 0 && !c.DevMode() {
		v.bad("credentials", "at least one [[credentials]] entry (or %s and %s) is required when backend.endpoint is set", EnvAccessKey, EnvSecretKey)
	}
}

// printableID reports whether s can be a CMK id: 1 to 512 printable ASCII
// bytes without spaces (keyring names, AWS ids, ARNs and aliases, Vault and
// KES key names).
func printableID(s string) bool {
	if s == "" || len(s) > 512 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// isAccessKey allows what can travel in a SigV4 Credential= field: printable
// ASCII without the separators '/' (scope) and ',' (header fields).
func isAccessKey(s string) bool {
	if len(s) < 3 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || b == '/' || b == ',' {
			return false
		}
	}
	return true
}

// isToken reports whether s is 1..max ASCII letters, digits or bytes of extra.
func isToken(s string, max int, extra string) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !isAlnum(b) && strings.IndexByte(extra, b) < 0 {
			return false
		}
	}
	return true
}

// isDNSName reports whether s is a host name: dot-separated labels of 1 to 63
// letters, digits and inner hyphens, at most 253 bytes, no trailing dot.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' || !isToken(label, 63, "-") {
			return false
		}
	}
	return true
}

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

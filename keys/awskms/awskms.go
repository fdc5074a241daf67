package awskms

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sseproxy/sseproxy/keys"
)

// DefaultTimeout bounds each KMS call when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// ContextKey is the one encryption-context key the Client sends: its value is the standard
// base64 encoding of the caller's associated data. IAM policies name it (see the package
// documentation).
const ContextKey = "sseproxy-ad"

// Limits of the AWS KMS API, checked before a request is sent.
const (
	maxKeyIDLen      = 2048 // KeyId: key id, key ARN, alias name or alias ARN
	maxCiphertextLen = 6144 // CiphertextBlob
)

// Options configures New. The zero value of each field is its documented default.
type Options struct {
	// Endpoint is the KMS endpoint URL, e.g. "http://127.0.0.1:4599" for local-kms or a VPC
	// endpoint. Default "": the SDK's resolution (AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL or the
	// shared config when credentials come from the default chain; otherwise the public AWS
	// endpoint of Region).
	Endpoint string
	// Region is the AWS region, e.g. "eu-west-1". Required with static credentials; otherwise
	// default "": the SDK's default chain (AWS_REGION, AWS_DEFAULT_REGION, the shared config).
	Region string
	// AccessKey, SecretKey and SessionToken are static credentials. AccessKey and SecretKey are
	// set together or not at all; SessionToken is optional. With static credentials the Client
	// reads no shared config or credentials file and no AWS_* environment variable.
	// Default "": the SDK's default credential chain (environment, shared files, web identity,
	// container and EC2 instance roles).
	AccessKey, SecretKey, SessionToken string
	// DefaultKeyID is the CMK used when a call gets keyID "": a key id, key ARN, alias name
	// ("alias/NAME") or alias ARN. Default "": no default key; such calls fail with
	// keys.ErrNotFound.
	DefaultKeyID string
	// Timeout bounds each call, SDK retries included. Default DefaultTimeout (5s).
	Timeout time.Duration
	// HTTPClient sends the requests. Default nil: the SDK's client, which trusts the extra
	// roots in AWS_CA_BUNDLE when credentials come from the default chain. A custom client
	// keeps its own TLS configuration: AWS_CA_BUNDLE's roots are not added to it. (The SDK can
	// add roots only to its own client; handed any other while AWS_CA_BUNDLE is set, it refuses
	// to load. So New sets the custom client after loading the configuration. With the default
	// chain AWS_CA_BUNDLE, if set, must still name a readable file: the SDK reads it anyway.)
	HTTPClient *http.Client
}

// Client is a keys.KMS backed by the AWS KMS API (or a compatible server such as local-kms).
// It is safe for concurrent use.
type Client struct {
	api          *kms.Client
	defaultKeyID string
	timeout      time.Duration
}

var _ keys.KMS = (*Client)(nil)

// New validates o and returns a Client. It sends no request: a wrong key or missing
// permission shows up on the first call. With credentials from the default chain it reads the
// SDK's environment variables and shared files, under ctx.
func New(ctx context.Context, o Options) (*Client, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	var cfg aws.Config
	if o.AccessKey != "" {
		// Built by hand rather than by config.LoadDefaultConfig, so that nothing from the
		// environment or shared files (AWS_PROFILE, AWS_CA_BUNDLE, ~/.aws/config) changes how a
		// statically configured client behaves.
		cfg = aws.Config{
			Region:      o.Region,
			Credentials: credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, o.SessionToken),
		}
	} else {
		var opts []func(*config.LoadOptions) error
		if o.Region != "" {
			opts = append(opts, config.WithRegion(o.Region))
		}
		// The custom HTTP client is set after loading, not passed in: with AWS_CA_BUNDLE set,
		// LoadDefaultConfig refuses any client but its own.
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx, opts...); err != nil {
			return nil, fmt.Errorf("awskms: loading AWS configuration: %w", err)
		}
		if cfg.Region == "" {
			return nil, errors.New("awskms: no region: set Options.Region or AWS_REGION")
		}
	}
	if o.HTTPClient != nil {
		cfg.HTTPClient = o.HTTPClient
	}
	api := kms.NewFromConfig(cfg, func(ko *kms.Options) {
		if o.Endpoint != "" {
			ko.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &Client{api: api, defaultKeyID: o.DefaultKeyID, timeout: timeout}, nil
}

// validate checks o once, for New.
func (o *Options) validate() error {
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("awskms: invalid endpoint %q: want http(s)://HOST[:PORT]", o.Endpoint)
		}
	}
	if (o.AccessKey == "") != (o.SecretKey == "") {
		return errors.New("awskms: set both AccessKey and SecretKey, or neither")
	}
	if o.SessionToken != "" && o.AccessKey == "" {
		return errors.New("awskms: SessionToken needs AccessKey and SecretKey")
	}
	if o.AccessKey != "" && o.Region == "" {
		return errors.New("awskms: Region is required with static credentials")
	}
	if len(o.DefaultKeyID) > maxKeyIDLen {
		return fmt.Errorf("awskms: DefaultKeyID is longer than %d characters", maxKeyIDLen)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("awskms: negative Timeout %v", o.Timeout)
	}
	return nil
}

// GenerateDataKey asks KMS for a fresh AES-256 data key wrapped by the CMK keyID ("" for
// Options.DefaultKeyID), with associatedData in the encryption context.
//
// DataKey.KeyID is the key id as named by the caller (or DefaultKeyID), not the key ARN KMS
// reports: see "Key names" in the package documentation. DataKey.Ciphertext is KMS's
// CiphertextBlob, which names the CMK and its rotation version itself.
func (c *Client) GenerateDataKey(ctx context.Context, keyID string, associatedData []byte) (keys.DataKey, error) {
	const op = "generate data key"
	keyID, err := c.resolve(ctx, op, keyID)
	if err != nil {
		return keys.DataKey{}, err
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.api.GenerateDataKey(callCtx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: encryptionContext(associatedData),
	})
	if err != nil {
		return keys.DataKey{}, fail(ctx, op, quote(keyID), err)
	}
	if len(out.Plaintext) != keys.DataKeySize || len(out.CiphertextBlob) == 0 {
		n := len(out.Plaintext)
		clear(out.Plaintext)
		return keys.DataKey{}, fmt.Errorf("awskms: %s %s: kms returned a %d-byte key and a %d-byte ciphertext, want %d and more than 0",
			op, quote(keyID), n, len(out.CiphertextBlob), keys.DataKeySize)
	}
	return keys.DataKey{KeyID: keyID, Plaintext: out.Plaintext, Ciphertext: out.CiphertextBlob}, nil
}

// Decrypt asks KMS to unwrap ciphertext with the CMK keyID ("" for Options.DefaultKeyID) and
// associatedData in the encryption context. The request names the CMK, so KMS refuses a
// ciphertext wrapped by any other key (IncorrectKeyException, reported as keys.ErrDecrypt).
func (c *Client) Decrypt(ctx context.Context, keyID string, ciphertext, associatedData []byte) ([]byte, error) {
	const op = "decrypt"
	keyID, err := c.resolve(ctx, op, keyID)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) == 0 || len(ciphertext) > maxCiphertextLen {
		return nil, keys.ErrDecrypt // KMS would refuse it with a ValidationException
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.api.Decrypt(callCtx, &kms.DecryptInput{
		KeyId:             aws.String(keyID),
		CiphertextBlob:    ciphertext,
		EncryptionContext: encryptionContext(associatedData),
	})
	if err != nil {
		return nil, fail(ctx, op, quote(keyID), err)
	}
	if len(out.Plaintext) != keys.DataKeySize {
		// A ciphertext of something other than a data key, made with kms:Encrypt under the
		// same CMK and context: not ours.
		clear(out.Plaintext)
		return nil, keys.ErrDecrypt
	}
	return out.Plaintext, nil
}

// ReEncrypt re-wraps a data key, inside KMS, from the CMK fromKeyID to the CMK toKeyID ("" for
// Options.DefaultKeyID, either side), keeping associatedData as the encryption context on both
// sides. The data key never leaves KMS. It returns the new ciphertext, to be stored with
// toKeyID in place of the old pair. Errors are those of Decrypt; keys.ErrNotFound and
// keys.ErrDisabled may concern either key.
//
// ReEncrypt moves wrapped keys to another CMK without touching object data: before retiring
// a CMK, or before repointing an alias (see "Key names" in the package documentation).
func (c *Client) ReEncrypt(ctx context.Context, fromKeyID string, ciphertext, associatedData []byte, toKeyID string) ([]byte, error) {
	const op = "re-encrypt"
	fromKeyID, err := c.resolve(ctx, op, fromKeyID)
	if err != nil {
		return nil, err
	}
	if toKeyID, err = c.resolve(ctx, op, toKeyID); err != nil {
		return nil, err
	}
	if len(ciphertext) == 0 || len(ciphertext) > maxCiphertextLen {
		return nil, keys.ErrDecrypt
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	encCtx := encryptionContext(associatedData)
	out, err := c.api.ReEncrypt(callCtx, &kms.ReEncryptInput{
		SourceKeyId:                  aws.String(fromKeyID),
		CiphertextBlob:               ciphertext,
		SourceEncryptionContext:      encCtx,
		DestinationKeyId:             aws.String(toKeyID),
		DestinationEncryptionContext: encCtx,
	})
	if err != nil {
		return nil, fail(ctx, op, quote(fromKeyID)+" -> "+quote(toKeyID), err)
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, fmt.Errorf("awskms: %s %s -> %s: kms returned an empty ciphertext", op, quote(fromKeyID), quote(toKeyID))
	}
	return out.CiphertextBlob, nil
}

// resolve checks ctx and returns the key to use for keyID: keyID itself, or the default key
// for "".
func (c *Client) resolve(ctx context.Context, op, keyID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("awskms: %s: %w", op, err)
	}
	if keyID == "" {
		if c.defaultKeyID == "" {
			return "", fmt.Errorf("awskms: %s: %w: no key id given and no default key configured", op, keys.ErrNotFound)
		}
		keyID = c.defaultKeyID
	}
	if len(keyID) > maxKeyIDLen {
		// No KMS key has such a name; do not send it.
		return "", fmt.Errorf("awskms: %s %s: %w", op, quote(keyID), keys.ErrNotFound)
	}
	return keyID, nil
}

// encryptionContext returns the KMS encryption context for associated data ad: the single
// pair {ContextKey: base64(ad)}. An encryption context is a map of strings, which KMS and
// CloudTrail handle as UTF-8 text, while the proxy's associated data is bytes; standard base64
// maps every byte string, nil and empty alike, to exactly one string and back.
func encryptionContext(ad []byte) map[string]string {
	return map[string]string{ContextKey: base64.StdEncoding.EncodeToString(ad)}
}

var _ keys.Rewrapper = (*Client)(nil)

// Rewrap re-wraps inside KMS (ReEncrypt) under toKeyID, or under
// fromKeyID's current key material when toKeyID is "", as keys.Rewrapper
// asks. AWS KMS rotates key material behind a key id, so "" re-wraps under
// the same key id.
func (c *Client) Rewrap(ctx context.Context, fromKeyID string, ciphertext, ad []byte, toKeyID string) ([]byte, string, error) {
	if toKeyID == "" {
		toKeyID = fromKeyID
	}
	ct, err := c.ReEncrypt(ctx, fromKeyID, ciphertext, ad, toKeyID)
	return ct, toKeyID, err
}

var _ keys.Rebinder = (*Client)(nil)

// Rebind re-wraps a data key of keyID inside KMS (ReEncrypt) from the
// encryption context of fromAD to that of toAD; the data key never leaves
// KMS.
func (c *Client) Rebind(ctx context.Context, keyID string, ciphertext, fromAD, toAD []byte) ([]byte, error) {
	const op = "rebind"
	keyID, err := c.resolve(ctx, op, keyID)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) == 0 || len(ciphertext) > maxCiphertextLen {
		return nil, keys.ErrDecrypt
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.api.ReEncrypt(callCtx, &kms.ReEncryptInput{
		SourceKeyId:                  aws.String(keyID),
		CiphertextBlob:               ciphertext,
		SourceEncryptionContext:      encryptionContext(fromAD),
		DestinationKeyId:             aws.String(keyID),
		DestinationEncryptionContext: encryptionContext(toAD),
	})
	if err != nil {
		return nil, fail(ctx, op, quote(keyID), err)
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, fmt.Errorf("awskms: %s %s: kms returned an empty ciphertext", op, quote(keyID))
	}
	return out.CiphertextBlob, nil
}

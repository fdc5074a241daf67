package awskms_test

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/keys/awskms"
)

func TestNewValidates(t *testing.T) {
	const secretKey = "very-secret-key"
	static := func(edit func(*awskms.Options)) awskms.Options {
		o := awskms.Options{Region: region, AccessKey: "AKID", SecretKey: secretKey}
		edit(&o)
		return o
	}
	for _, tc := range []struct {
		name    string
		o       awskms.Options
		wantErr bool
	}{
		{"static", static(func(o *awskms.Options) {}), false},
		{"static-session", static(func(o *awskms.Options) { o.SessionToken = "token" }), false},
		{"endpoint-http", static(func(o *awskms.Options) { o.Endpoint = "http://127.0.0.1:4599" }), false},
		{"endpoint-https", static(func(o *awskms.Options) { o.Endpoint = "https://kms.example.com" }), false},
		{"timeout", static(func(o *awskms.Options) { o.Timeout = time.Second }), false},
		{"default-key", static(func(o *awskms.Options) { o.DefaultKeyID = keyA }), false},
		{"endpoint-scheme", static(func(o *awskms.Options) { o.Endpoint = "ftp://127.0.0.1" }), true},
		{"endpoint-no-scheme", static(func(o *awskms.Options) { o.Endpoint = "127.0.0.1:4599" }), true},
		{"endpoint-no-host", static(func(o *awskms.Options) { o.Endpoint = "http://" }), true},
		{"endpoint-unparsable", static(func(o *awskms.Options) { o.Endpoint = "http://[::1" }), true},
		{"access-key-only", static(func(o *awskms.Options) { o.SecretKey = "" }), true},
		{"secret-key-only", static(func(o *awskms.Options) { o.AccessKey = "" }), true},
		{"session-token-only", awskms.Options{Region: region, SessionToken: "token"}, true},
		{"static-without-region", static(func(o *awskms.Options) { o.Region = "" }), true},
		{"negative-timeout", static(func(o *awskms.Options) { o.Timeout = -time.Second }), true},
		{"default-key-too-long", static(func(o *awskms.Options) { o.DefaultKeyID = strings.Repeat("k", 2049) }), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := awskms.New(t.Context(), tc.o)
			if (err != nil) != tc.wantErr || (err == nil) == (c == nil) {
				t.Fatalf("New(%+v) = %v, %v, want error %v", redact(tc.o), c, err, tc.wantErr)
			}
			if err != nil && (!strings.HasPrefix(err.Error(), "awskms: ") || strings.Contains(err.Error(), secretKey)) {
				t.Errorf("New(%+v) = %q, want an \"awskms: \" error without the secret key", redact(tc.o), err)
			}
		})
	}
}

// TestNewEnvironment checks which AWS_* settings New reads: none with static credentials;
// the SDK's with the default chain, where AWS_CA_BUNDLE must not break a custom HTTP client.
// Each working configuration makes a real round trip to local-kms.
func TestNewEnvironment(t *testing.T) {
	srv := startLocalKMS(t)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	tlsSrv.Close()
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	// A clean default chain: credentials from the environment only, no shared files, no IMDS.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "env-access-key", "AWS_SECRET_ACCESS_KEY": "env-secret-key", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": region, "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
		"AWS_CONFIG_FILE": missing, "AWS_SHARED_CREDENTIALS_FILE": missing,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_KMS": "",
	} {
		t.Setenv(k, v)
	}
	defaultChain := func(o *awskms.Options) { o.AccessKey, o.SecretKey, o.Region = "", "", "" }
	sdkClient := func(o *awskms.Options) { o.HTTPClient = nil }
	for _, tc := range []struct {
		name    string
		env     map[string]string
		edits   []func(*awskms.Options)
		wantErr bool
	}{
		{"static/ca-bundle", map[string]string{"AWS_CA_BUNDLE": bundle}, nil, false},
		{"static/broken-environment", map[string]string{"AWS_CA_BUNDLE": missing, "AWS_PROFILE": "missing", "AWS_REGION": "eu-north-1"}, nil, false},
		{"static/sdk-client/broken-ca-bundle", map[string]string{"AWS_CA_BUNDLE": missing}, []func(*awskms.Options){sdkClient}, false},
		{"chain/custom-client/ca-bundle", map[string]string{"AWS_CA_BUNDLE": bundle}, []func(*awskms.Options){defaultChain}, false},
		{"chain/sdk-client/ca-bundle", map[string]string{"AWS_CA_BUNDLE": bundle}, []func(*awskms.Options){defaultChain, sdkClient}, false},
		{"chain/sdk-client/no-ca-bundle", map[string]string{"AWS_CA_BUNDLE": ""}, []func(*awskms.Options){defaultChain, sdkClient}, false},
		{"chain/broken-ca-bundle", map[string]string{"AWS_CA_BUNDLE": missing}, []func(*awskms.Options){defaultChain}, true},
		{"chain/missing-profile", map[string]string{"AWS_PROFILE": "missing"}, []func(*awskms.Options){defaultChain}, true},
		{"chain/no-region", map[string]string{"AWS_REGION": ""}, []func(*awskms.Options){defaultChain}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			o := srv.Options()
			for _, edit := range tc.edits {
				edit(&o)
			}
			c, err := awskms.New(t.Context(), o)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New(%+v) = %v, want error %v", redact(o), err, tc.wantErr)
			}
			if err != nil {
				return
			}
			dk := generate(t, c, keyA, ad)
			if got, err := c.Decrypt(t.Context(), keyA, dk.Ciphertext, ad); err != nil || !bytes.Equal(got, dk.Plaintext) {
				t.Errorf("Decrypt(GenerateDataKey) = %s, %v, want the generated key", secret(got), err)
			}
		})
	}
}

package kes

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/internal/testcert"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/kmstest"
	"github.com/sseproxy/sseproxy/test/testenv"
)

// ad is the associated data the tests use, shaped like the proxy's "bucket/object".
var ad = []byte("bucket/some/object.txt")

// TestConformance runs the keys.KMS conformance suite against a real KES server, as the proxy's
// least-privilege identity.
func TestConformance(t *testing.T) {
	s := startKES(t)
	s.createKeys(t, "sseproxy-a", "sseproxy-b")
	proxy := s.client(t, s.Proxy, nil)
	kmstest.RunWithOtherKey(t, func(t *testing.T) (keys.KMS, string, string) {
		return proxy, "sseproxy-a", "sseproxy-b"
	})
	t.Run("DefaultKey", func(t *testing.T) {
		withDefault := s.client(t, s.Proxy, func(o *Options) { o.DefaultKey = "sseproxy-b" })
		kmstest.Run(t, func(t *testing.T) (keys.KMS, string) { return withDefault, "" })
	})
}

// TestErrors checks how each KES refusal reaches the caller.
func TestErrors(t *testing.T) {
	s := startKES(t)
	s.createKeys(t, "sseproxy-a", "outside-policy")
	proxy := s.client(t, s.Proxy, nil)
	stranger := s.client(t, s.Stranger, nil)
	admin := s.client(t, s.Admin, nil)
	untrusting := s.client(t, s.Proxy, func(o *Options) { o.RootCAs = testcert.NewCA(t, "untrusted CA").Pool() })
	dk, err := proxy.GenerateDataKey(t.Context(), "sseproxy-a", ad)
	if err != nil {
		t.Fatalf("GenerateDataKey(sseproxy-a) = %v", err)
	}

	for _, tc := range []struct {
		name string
		call func() error
		want error
		not  error // the error this case must not be mistaken for
	}{
		{"generate-unknown-key", func() error { return generate(proxy, "sseproxy-missing") }, keys.ErrNotFound, nil},
		{"decrypt-unknown-key", func() error { return decrypt(proxy, "sseproxy-missing", dk.Ciphertext, ad) }, keys.ErrNotFound, nil},
		{"generate-no-default-key", func() error { return generate(proxy, "") }, keys.ErrNotFound, nil},
		{"generate-invalid-name-path", func() error { return generate(proxy, "../create/sseproxy-x") }, keys.ErrNotFound, nil},
		{"generate-invalid-name-slash", func() error { return generate(proxy, "sseproxy/a") }, keys.ErrNotFound, nil},
		{"generate-invalid-name-hyphen", func() error { return generate(proxy, "sseproxy-a-") }, keys.ErrNotFound, nil},
		{"generate-invalid-name-long", func() error { return generate(proxy, strings.Repeat("a", 81)) }, keys.ErrNotFound, nil},
		{"decrypt-invalid-name", func() error { return decrypt(proxy, "a.b", dk.Ciphertext, ad) }, keys.ErrNotFound, nil},
		{"decrypt-wrong-ad", func() error { return decrypt(proxy, "sseproxy-a", dk.Ciphertext, []byte("bucket/other")) }, keys.ErrDecrypt, nil},
		{"create-existing", func() error { return admin.CreateKey(t.Context(), "sseproxy-a") }, keys.ErrExists, nil},
		{"create-invalid-name", func() error { return admin.CreateKey(t.Context(), "-x") }, nil, keys.ErrExists},
		// The proxy's policy grants generate and decrypt on its keys, nothing else.
		{"proxy-create", func() error { return proxy.CreateKey(t.Context(), "sseproxy-c") }, ErrNotAllowed, nil},
		{"proxy-generate-outside-policy", func() error { return generate(proxy, "outside-policy") }, ErrNotAllowed, keys.ErrNotFound},
		// KES checks the policy before it looks the key up: no existence oracle.
		{"proxy-generate-unknown-outside-policy", func() error { return generate(proxy, "missing") }, ErrNotAllowed, keys.ErrNotFound},
		{"stranger-generate", func() error { return generate(stranger, "sseproxy-a") }, ErrNotAllowed, nil},
		{"stranger-decrypt", func() error { return decrypt(stranger, "sseproxy-a", dk.Ciphertext, ad) }, ErrNotAllowed, keys.ErrDecrypt},
		{"stranger-create", func() error { return stranger.CreateKey(t.Context(), "sseproxy-c") }, ErrNotAllowed, nil},
		// A server certificate the client does not trust makes KES unreachable, loudly.
		{"untrusted-server-certificate", func() error { return generate(untrusting, "sseproxy-a") }, keys.ErrUnavailable, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || (tc.not != nil && errors.Is(err, tc.not)) {
				t.Errorf("error = %v, want %v (and not %v)", err, tc.want, tc.not)
			}
		})
	}

	t.Run("permission-error-names-identity-and-path", func(t *testing.T) {
		err := generate(stranger, "sseproxy-a")
		for _, want := range []string{s.Stranger.identity, "/v1/key/generate/sseproxy-a"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("GenerateDataKey as stranger = %v, want an error naming %s", err, want)
			}
		}
	})
	t.Run("decrypt-error-is-opaque", func(t *testing.T) {
		if err := decrypt(proxy, "sseproxy-a", dk.Ciphertext, nil); err != keys.ErrDecrypt {
			t.Errorf("Decrypt(wrong ad) = %#v, want keys.ErrDecrypt itself, unwrapped", err)
		}
	})
	t.Run("default-key-resolved", func(t *testing.T) {
		c := s.client(t, s.Proxy, func(o *Options) { o.DefaultKey = "sseproxy-a" })
		got, err := c.GenerateDataKey(t.Context(), "", ad)
		if err != nil || got.KeyID != "sseproxy-a" {
			t.Fatalf("GenerateDataKey(\"\") with DefaultKey sseproxy-a = %q, %v, want KeyID sseproxy-a", got.KeyID, err)
		}
		if _, err := proxy.Decrypt(t.Context(), got.KeyID, got.Ciphertext, ad); err != nil {
			t.Errorf("Decrypt(resolved KeyID) by a client without default = %v", err)
		}
	})
}

func generate(c *Client, keyID string) error {
	_, err := c.GenerateDataKey(context.Background(), keyID, ad)
	return err
}

func decrypt(c *Client, keyID string, ct, ad []byte) error {
	_, err := c.Decrypt(context.Background(), keyID, ct, ad)
	return err
}

// TestIdentityMatchesKES checks Client.Identity against `kes identity of CERT`.
func TestIdentityMatchesKES(t *testing.T) {
	bin := testenv.Binary(t, "kes")
	cert := issue(t, testcert.NewCA(t, "test CA"), "client")
	certFile, keyFile := cert.write(t, t.TempDir(), "client")
	c, err := New(Options{Endpoints: []string{"https://127.0.0.1:7373"}, ClientCert: certFile, ClientKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "identity", "of", certFile).Output()
	if err != nil {
		t.Fatalf("kes identity of %s: %v", certFile, err)
	}
	if got, want := c.Identity(), strings.TrimSpace(string(out)); got != want || got != cert.identity {
		t.Errorf("Identity() = %s, want %s (kes identity of) = %s (SHA-256 of the SPKI)", got, want, cert.identity)
	}
}

// TestKESCiphertextIsMalleable documents why the client seals KES ciphertexts (doc.go): KES
// v0.23.0 ignores the key ID inside its own ciphertext, so a bit flip there still decrypts.
// Through the Client, every single-bit flip fails with ErrDecrypt.
func TestKESCiphertextIsMalleable(t *testing.T) {
	s := startKES(t)
	s.createKeys(t, "sseproxy-a")
	proxy := s.client(t, s.Proxy, nil)
	dk, err := proxy.GenerateDataKey(t.Context(), "sseproxy-a", ad)
	if err != nil {
		t.Fatal(err)
	}
	kesCT, ok := parseSealed(dk.Ciphertext)
	if !ok {
		t.Fatalf("parseSealed(GenerateDataKey().Ciphertext) failed")
	}
	// v0.23.0 ciphertext: msgpack [alg, id, iv, nonce, bytes]; the 32 hex digits of the key ID
	// start at byte 10 (fixarray, fixstr "AES256", str8 header).
	const idByte = 20
	flipped := bytes.Clone(kesCT)
	flipped[idByte] ^= 0x01
	var raw decryptResponse
	body := []byte(`{"ciphertext":"` + b64(flipped) + `","context":"` + b64(ad) + `"}`)
	if err := proxy.call(t.Context(), opDecrypt, "sseproxy-a", body, &raw); err != nil || !bytes.Equal(raw.Plaintext, dk.Plaintext) {
		t.Errorf("KES decrypt(ciphertext with byte %d of the key ID flipped) = %v, want the data key, as v0.23.0 does."+
			" If a newer KES rejects it, drop this check and update doc.go: the seal stays, belt and braces", idByte, err)
	}
	clear(raw.Plaintext)

	var accepted int
	for i := range dk.Ciphertext {
		ct := bytes.Clone(dk.Ciphertext)
		ct[i] ^= 0x01
		if got, err := proxy.Decrypt(t.Context(), "sseproxy-a", ct, ad); !errors.Is(err, keys.ErrDecrypt) || got != nil {
			t.Errorf("Decrypt(wrapped key with byte %d flipped) = %v, want ErrDecrypt", i, err)
			accepted++
		}
	}
	if accepted > 0 {
		t.Errorf("%d of %d single-byte tamperings were not rejected", accepted, len(dk.Ciphertext))
	}
}

// TestUnavailable checks that a KES that is down, or hangs, fails calls with ErrUnavailable
// within the timeout.
func TestUnavailable(t *testing.T) {
	s := startKES(t)
	s.createKeys(t, "sseproxy-a")
	const timeout = time.Second
	proxy := s.client(t, s.Proxy, func(o *Options) { o.Timeout = timeout })
	dk, err := proxy.GenerateDataKey(t.Context(), "sseproxy-a", ad)
	if err != nil {
		t.Fatal(err)
	}
	hang := hangingListener(t)
	hanging := s.client(t, s.Proxy, func(o *Options) { o.Endpoints = []string{"https://" + hang.Addr().String()}; o.Timeout = timeout })
	s.Kill()

	for _, tc := range []struct {
		name string
		c    *Client
	}{
		{"killed", proxy},
		{"hanging", hanging},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, call := range []struct {
				name string
				do   func() error
			}{
				{"GenerateDataKey", func() error { return generate(tc.c, "sseproxy-a") }},
				{"Decrypt", func() error { return decrypt(tc.c, "sseproxy-a", dk.Ciphertext, ad) }},
				{"CreateKey", func() error { return tc.c.CreateKey(t.Context(), "sseproxy-c") }},
			} {
				start := time.Now()
				err := call.do()
				elapsed := time.Since(start)
				if !errors.Is(err, keys.ErrUnavailable) || errors.Is(err, keys.ErrDecrypt) {
					t.Errorf("%s = %v, want ErrUnavailable", call.name, err)
				}
				if elapsed > timeout+time.Second {
					t.Errorf("%s took %v, want at most the %v timeout (+1s slack)", call.name, elapsed, timeout)
				}
			}
		})
	}

	t.Run("caller-deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := hanging.GenerateDataKey(ctx, "sseproxy-a", ad)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("GenerateDataKey(ctx expiring first) = %v, want an error wrapping context.DeadlineExceeded", err)
		}
	})
}

// TestFailover checks that a dead or hanging first endpoint does not stop calls, and that later
// calls go straight to the endpoint that answered.
func TestFailover(t *testing.T) {
	s := startKES(t)
	s.createKeys(t, "sseproxy-a")
	dead := deadEndpoint(t)
	hang := hangingListener(t)
	for _, tc := range []struct {
		name  string
		first string
	}{
		{"dead", dead},
		{"hanging", "https://" + hang.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 2 * time.Second
			c := s.client(t, s.Proxy, func(o *Options) { o.Endpoints = []string{tc.first, s.Endpoint}; o.Timeout = timeout })
			before := hang.accepted.Load()
			start := time.Now()
			dk, err := c.GenerateDataKey(t.Context(), "sseproxy-a", ad)
			if err != nil {
				t.Fatalf("GenerateDataKey with endpoints [%s, live] = %v", tc.name, err)
			}
			if elapsed := time.Since(start); elapsed > timeout {
				t.Errorf("GenerateDataKey took %v, want less than the %v timeout", elapsed, timeout)
			}
			for range 5 {
				if _, err := c.Decrypt(t.Context(), "sseproxy-a", dk.Ciphertext, ad); err != nil {
					t.Fatalf("Decrypt with endpoints [%s, live] = %v", tc.name, err)
				}
			}
			if tc.name == "hanging" {
				if got := hang.accepted.Load() - before; got != 1 {
					t.Errorf("hanging endpoint got %d connections over 6 calls, want 1 (later calls start at the live one)", got)
				}
			}
		})
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// deadEndpoint returns an https endpoint on a loopback port nothing listens on.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "https://" + addr
}

// countingListener accepts connections and never answers them: a KES that hangs.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func hangingListener(t *testing.T) *countingListener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			cl.accepted.Add(1)
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return cl
}

// TestRewrap moves a wrapped key from one KES key to another through a real
// kes server (the admin identity holds /v1/key/encrypt/*).
func TestRewrap(t *testing.T) {
	s := startKES(t)
	s.createKeys(t, "sseproxy-a", "sseproxy-b")
	c := s.client(t, s.Admin, nil)
	ctx := context.Background()
	ad := []byte("bucket/object")
	dk, err := c.GenerateDataKey(ctx, "sseproxy-a", ad)
	if err != nil {
		t.Fatal(err)
	}
	moved, id, err := c.Rewrap(ctx, "sseproxy-a", dk.Ciphertext, ad, "sseproxy-b")
	if err != nil || id != "sseproxy-b" {
		t.Fatalf("Rewrap = %q, %v", id, err)
	}
	got, err := c.Decrypt(ctx, "sseproxy-b", moved, ad)
	if err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Errorf("Decrypt(rewrapped) = %v; want the original data key", err)
	}
	if _, err := c.Decrypt(ctx, "sseproxy-a", moved, ad); !errors.Is(err, keys.ErrDecrypt) {
		t.Errorf("Decrypt of the rewrapped key under the old key = %v, want ErrDecrypt", err)
	}
	if _, _, err := c.Rewrap(ctx, "sseproxy-a", dk.Ciphertext, []byte("other/object"), "sseproxy-b"); !errors.Is(err, keys.ErrDecrypt) {
		t.Errorf("Rewrap with other associated data = %v, want ErrDecrypt", err)
	}
}

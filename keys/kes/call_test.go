package kes

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sseproxy/sseproxy/internal/testcert"
	"github.com/sseproxy/sseproxy/keys"
)

// fakeKES is an httptest TLS server that answers every request with handler, requiring a client
// certificate as KES does.
func fakeKES(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// fakeClient returns a Client of the fake servers, in order.
func fakeClient(t *testing.T, servers ...*httptest.Server) *Client {
	t.Helper()
	cert := issue(t, testcert.NewCA(t, "test CA"), "client")
	roots := x509.NewCertPool()
	roots.AddCert(servers[0].Certificate()) // every httptest server has the same certificate
	opts := Options{Certificate: &cert.tls, RootCAs: roots}
	for _, s := range servers {
		opts.Endpoints = append(opts.Endpoints, s.URL)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// answer returns a handler that replies status with a JSON (or, if body does not start with
// '{', text) body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/plain")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// fixedKey is the data key the fake servers hand out.
var fixedKey = bytes.Repeat([]byte{0x42}, keys.DataKeySize)

// TestRequests checks the method, path and JSON body of each call, and that the sealed
// ciphertext round-trips through a server that behaves.
func TestRequests(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	kesCT := []byte("kes-ciphertext")
	srv := fakeKES(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/key/generate/"):
			json.NewEncoder(w).Encode(generateResponse{Plaintext: fixedKey, Ciphertext: kesCT})
		case strings.HasPrefix(r.URL.Path, "/v1/key/decrypt/"):
			json.NewEncoder(w).Encode(decryptResponse{Plaintext: fixedKey})
		}
	})
	c := fakeClient(t, srv)
	dk, err := c.GenerateDataKey(t.Context(), "sseproxy-a", []byte("b/o"))
	if err != nil {
		t.Fatalf("GenerateDataKey = %v", err)
	}
	if want := seal("sseproxy-a", kesCT, fixedKey); !bytes.Equal(dk.Ciphertext, want) || !bytes.Equal(dk.Plaintext, fixedKey) || dk.KeyID != "sseproxy-a" {
		t.Errorf("GenerateDataKey = {%q, <key>, %x}, want {sseproxy-a, fixedKey, %x}", dk.KeyID, dk.Ciphertext, want)
	}
	if got, err := c.Decrypt(t.Context(), "sseproxy-a", dk.Ciphertext, []byte("b/o")); err != nil || !bytes.Equal(got, fixedKey) {
		t.Errorf("Decrypt(GenerateDataKey) = %v, want fixedKey", err)
	}
	if _, err := c.GenerateDataKey(t.Context(), "sseproxy-a", nil); err != nil {
		t.Errorf("GenerateDataKey(nil ad) = %v", err)
	}
	if err := c.CreateKey(t.Context(), "sseproxy-c"); err != nil {
		t.Errorf("CreateKey = %v", err)
	}
	want := []string{
		`POST /v1/key/generate/sseproxy-a application/json {"context":"Yi9v"}`,
		`POST /v1/key/decrypt/sseproxy-a application/json {"ciphertext":"a2VzLWNpcGhlcnRleHQ=","context":"Yi9v"}`,
		`POST /v1/key/generate/sseproxy-a application/json {}`,
		`POST /v1/key/create/sseproxy-c  `,
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// TestMisbehavingServer checks every answer a broken or hostile server can give: none may pass
// as success, and none but KES's decryption failure may read as ErrDecrypt.
func TestMisbehavingServer(t *testing.T) {
	b64Key := b64(fixedKey)
	sealed := seal("sseproxy-a", []byte("kes-ciphertext"), fixedKey)
	type call int
	const (
		gen call = iota
		dec
		create
	)
	for _, tc := range []struct {
		name    string
		call    call
		handler http.HandlerFunc
		want    error // nil: any error that is none of the sentinels below
	}{
		{"generate-short-key", gen, answer(200, `{"plaintext":"`+b64(fixedKey[:31])+`","ciphertext":"eA=="}`), nil},
		{"generate-long-key", gen, answer(200, `{"plaintext":"`+b64(append(fixedKey, 0))+`","ciphertext":"eA=="}`), nil},
		{"generate-no-ciphertext", gen, answer(200, `{"plaintext":"`+b64Key+`"}`), nil},
		{"generate-huge-ciphertext", gen, answer(200, `{"plaintext":"`+b64Key+`","ciphertext":"`+b64(make([]byte, maxKESCiphertext+1))+`"}`), nil},
		{"generate-not-json", gen, answer(200, "ok"), nil},
		{"generate-bad-base64", gen, answer(200, `{"plaintext":"!!","ciphertext":"eA=="}`), nil},
		{"generate-huge-body", gen, answer(200, `{"x":"`+strings.Repeat("a", maxResponse)+`"}`), keys.ErrUnavailable},
		{"generate-empty-200", gen, answer(200, ""), nil},
		{"generate-400", gen, answer(400, `{"message":"invalid request body"}`), nil},
		{"generate-404", gen, answer(404, `{"message":"key does not exist"}`), keys.ErrNotFound},
		{"generate-404-text", gen, answer(404, "404 page not found"), keys.ErrNotFound},
		{"generate-403", gen, answer(403, `{"message":"not authorized: insufficient permissions"}`), ErrNotAllowed},
		{"generate-401", gen, answer(401, ""), ErrNotAllowed},
		{"generate-429", gen, answer(429, ""), keys.ErrUnavailable},
		{"generate-500", gen, answer(500, `{"message":"failed to generate encryption key"}`), keys.ErrUnavailable},
		{"generate-502", gen, answer(502, `{"message":"failed to read key"}`), keys.ErrUnavailable},
		{"generate-503", gen, answer(503, ""), keys.ErrUnavailable},
		{"generate-504", gen, answer(504, ""), keys.ErrUnavailable},
		{"generate-redirect", gen, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, nil},
		{"generate-teapot", gen, answer(418, ""), nil},
		{"generate-truncated", gen, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, `{"plaintext":"`)
		}, keys.ErrUnavailable},
		{"decrypt-wrong-key", dec, answer(200, `{"plaintext":"`+b64(bytes.Repeat([]byte{1}, 32))+`"}`), keys.ErrDecrypt},
		{"decrypt-short-key", dec, answer(200, `{"plaintext":"`+b64(fixedKey[:16])+`"}`), keys.ErrDecrypt},
		{"decrypt-400", dec, answer(400, `{"message":"decryption failed: ciphertext is not authentic"}`), keys.ErrDecrypt},
		{"decrypt-404", dec, answer(404, `{"message":"key does not exist"}`), keys.ErrNotFound},
		{"decrypt-403", dec, answer(403, `{"message":"not authorized: insufficient permissions"}`), ErrNotAllowed},
		{"decrypt-503", dec, answer(503, ""), keys.ErrUnavailable},
		{"decrypt-not-json", dec, answer(200, "ok"), nil},
		{"create-exists", create, answer(400, `{"message":"key already exists"}`), keys.ErrExists},
		{"create-exists-old-server", create, answer(400, `{"error":"key does already exist"}`), keys.ErrExists},
		{"create-400", create, answer(400, `{"message":"key name is invalid"}`), nil},
		{"create-403", create, answer(403, ""), ErrNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeClient(t, fakeKES(t, tc.handler))
			var err error
			switch tc.call {
			case gen:
				var dk keys.DataKey
				dk, err = c.GenerateDataKey(t.Context(), "sseproxy-a", ad)
				if dk.Plaintext != nil || dk.Ciphertext != nil {
					t.Errorf("GenerateDataKey returned a key with error %v", err)
				}
			case dec:
				var got []byte
				got, err = c.Decrypt(t.Context(), "sseproxy-a", sealed, ad)
				if got != nil {
					t.Errorf("Decrypt returned a key with error %v", err)
				}
			case create:
				err = c.CreateKey(t.Context(), "sseproxy-a")
			}
			if err == nil {
				t.Fatalf("call succeeded, want an error")
			}
			for _, sentinel := range []error{keys.ErrNotFound, keys.ErrDecrypt, keys.ErrUnavailable, keys.ErrExists, ErrNotAllowed} {
				if got, want := errors.Is(err, sentinel), sentinel == tc.want; got != want {
					t.Errorf("error %v: errors.Is(%v) = %v, want %v", err, sentinel, got, want)
				}
			}
		})
	}
}

// TestFailoverStatus checks which answers move a call on to the next endpoint: 502, 503 and
// 504 do; any other answer is final.
func TestFailoverStatus(t *testing.T) {
	good := fakeKES(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(generateResponse{Plaintext: fixedKey, Ciphertext: []byte("x")})
	})
	for _, tc := range []struct {
		status   int
		failOver bool
	}{
		{502, true}, {503, true}, {504, true},
		{500, false}, {400, false}, {403, false}, {404, false}, {429, false},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			c := fakeClient(t, fakeKES(t, answer(tc.status, "")), good)
			_, err := c.GenerateDataKey(t.Context(), "sseproxy-a", ad)
			if got := err == nil; got != tc.failOver {
				t.Errorf("GenerateDataKey with first endpoint answering %d = %v, want fail-over %v", tc.status, err, tc.failOver)
			}
		})
	}
}

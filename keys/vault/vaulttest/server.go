// Package vaulttest is an in-memory stand-in for HashiCorp Vault, serving over httptest the
// parts of its HTTP API that package keys/vault calls, and the Transit calls an operator makes
// around them: the Transit secrets engine (create, read, rotate and configure keys; encrypt and
// decrypt, with associated data) and AppRole login, with token checks and ACL policies.
//
// It follows Vault's documentation and source, cited at each handler:
//
//   - HTTP API overview (developer.hashicorp.com/vault/api-docs, website/content/api-docs/
//     index.mdx): "/v1/" prefix, X-Vault-Token or "Authorization: Bearer", the error body
//     {"errors": [...]} for every status >= 400, status codes.
//   - Transit API (api-docs/secret/transit): paths, request and response bodies, the
//     create/update capabilities of encrypt and its upsert of missing keys.
//   - Transit source (builtin/logical/transit/path_*.go, sdk/helper/keysutil/policy.go): error
//     messages and status codes, and how a ciphertext is parsed and checked.
//   - AppRole API (api-docs/auth/approle, "Login with AppRole").
//   - Token concepts (docs/concepts/tokens, "Error responses", Vault PR #26687): an expired or
//     revoked token gets 403 with "permission denied" and "invalid token"; a token whose
//     policy does not allow the path gets 403 "permission denied".
//
// Ciphertexts are real: "vault:v<N>:" + base64(nonce || AES-GCM(key version N, plaintext,
// associated data)), as keysutil writes them. Only aes128-gcm96 and aes256-gcm96 keys have key
// material; keys of other types exist for reads, and encrypt and decrypt refuse them as Vault
// does. Derived keys are not implemented. Namespaces are recorded (LastHeader), not enforced.
package vaulttest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a Server. The zero value of each field is its documented default.
type Options struct {
	// MountPath is where the Transit engine is mounted. Default "transit".
	MountPath string
	// AppRoleMountPath is where the AppRole auth method is mounted. Default "approle".
	AppRoleMountPath string
}

// Server is an in-memory Vault reached at URL. It is safe for concurrent use.
type Server struct {
	// URL is the server's address, for vault.Options.Address.
	URL string
	// RootToken is a token with the root policy, which allows everything.
	RootToken string

	hs           *httptest.Server
	mount        string
	approleMount string

	mu         sync.Mutex
	offset     time.Duration // added to time.Now by the fake clock
	keys       map[string]*key
	tokens     map[string]*tokenEntry
	roles      map[string]*appRole // by role ID
	logins     int
	fault      int           // if not 0, the status every request gets
	hang       chan struct{} // if not nil, requests wait until it is closed
	lastHeader http.Header
}

type tokenEntry struct {
	policy  Policy    // nil: root
	expires time.Time // zero: never
}

type appRole struct {
	secretID string
	ttl      time.Duration
	policy   Policy
}

// New starts a Server and closes it when the test ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{
		RootToken:    "hvs.root-" + randomHex(8),
		mount:        strings.Trim(o.MountPath, "/"),
		approleMount: strings.Trim(o.AppRoleMountPath, "/"),
		keys:         map[string]*key{},
		tokens:       map[string]*tokenEntry{},
		roles:        map[string]*appRole{},
	}
	if s.mount == "" {
		s.mount = "transit"
	}
	if s.approleMount == "" {
		s.approleMount = "approle"
	}
	s.tokens[s.RootToken] = &tokenEntry{}
	s.hs = httptest.NewServer(s)
	s.URL = s.hs.URL
	t.Cleanup(s.hs.Close)
	return s
}

// Close shuts the server down: later requests fail to connect.
func (s *Server) Close() { s.hs.Close() }

// AddToken issues a token with policy that never expires, and returns it.
func (s *Server) AddToken(policy Policy) string {
	tok := "hvs." + randomHex(12)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = &tokenEntry{policy: policy}
	return tok
}

// AddAppRole adds an AppRole whose logins issue tokens with policy, valid for ttl (0: forever).
func (s *Server) AddAppRole(roleID, secretID string, ttl time.Duration, policy Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[roleID] = &appRole{secretID: secretID, ttl: ttl, policy: policy}
}

// Now is the server's clock: the real time plus everything passed to Advance.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return time.Now().Add(s.offset) }

// Advance moves the server's clock forward, so that tokens expire without waiting.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// Logins counts the successful AppRole logins.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// SetFault makes every request fail with status (503: "Vault is sealed"), until SetFault(0).
func (s *Server) SetFault(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = status
}

// SetHang(true) makes every request wait, unanswered, until its client gives up or
// SetHang(false), which lets the waiting requests go on.
func (s *Server) SetHang(hang bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case hang && s.hang == nil:
		s.hang = make(chan struct{})
	case !hang && s.hang != nil:
		close(s.hang)
		s.hang = nil
	}
}

// LastHeader returns the headers of the last request.
func (s *Server) LastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastHeader.Clone()
}

// Write sends POST /v1/<path> with body and the root token, as `vault write` does, and returns
// the "data" object of the answer. It fails the test unless Vault answers 200 or 204.
func (s *Server) Write(t testing.TB, path string, body map[string]any) map[string]any {
	t.Helper()
	status, out := s.Do(t, http.MethodPost, path, s.RootToken, body)
	if status != http.StatusOK && status != http.StatusNoContent {
		t.Fatalf("vaulttest: write %s: status %d %v", path, status, out["errors"])
	}
	data, _ := out["data"].(map[string]any)
	return data
}

// Do sends one request to /v1/<path> with token (none if "") and a JSON body (none if nil), and
// returns the status and the decoded answer (nil for an empty body).
func (s *Server) Do(t testing.TB, method, path, token string, body map[string]any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+"/v1/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := s.hs.Client().Do(req)
	if err != nil {
		t.Fatalf("vaulttest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("vaulttest: %s %s: status %d, undecodable body: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// ServeHTTP answers one request, in Vault's order: the token, the route, the policy, the handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.lastHeader = r.Header.Clone()
	hang, fault := s.hang, s.fault
	s.mu.Unlock()
	if hang != nil {
		// Reading the body to its end lets the server notice when the client hangs up, which
		// ends r.Context().
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
			return
		case <-hang:
		}
	}
	if fault != 0 {
		writeErrors(w, fault, faultMessage(fault))
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		writeErrors(w, http.StatusNotFound)
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	if path == "auth/"+s.approleMount+"/login" && r.Method == http.MethodPost {
		s.login(w, body) // unauthenticated, like every login endpoint
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	tok := r.Header.Get("X-Vault-Token")
	if tok == "" {
		tok, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	entry, known := s.tokens[tok]
	switch {
	case tok == "":
		writeErrors(w, http.StatusForbidden, "permission denied")
		return
	case !known || (!entry.expires.IsZero() && !s.now().Before(entry.expires)):
		writeErrors(w, http.StatusForbidden, "permission denied", "invalid token")
		return
	}
	rest, ok := strings.CutPrefix(path, s.mount+"/")
	if !ok {
		writeErrors(w, http.StatusNotFound, "no handler for route \""+path+"\". route entry not found.")
		return
	}
	h, capability := s.route(r.Method, rest)
	if h == nil {
		writeErrors(w, http.StatusNotFound, "1 error occurred:\n\t* unsupported path\n\n")
		return
	}
	if !entry.policy.allows(path, capability) {
		writeErrors(w, http.StatusForbidden, "1 error occurred:\n\t* permission denied\n\n")
		return
	}
	h(w, body, capability)
}

// login serves POST /v1/auth/<mount>/login (api-docs/auth/approle, "Login with AppRole"). Wrong
// credentials get 400 "invalid role or secret ID", as the AppRole backend answers.
func (s *Server) login(w http.ResponseWriter, body map[string]any) {
	roleID, _ := body["role_id"].(string)
	secretID, _ := body["secret_id"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.roles[roleID]
	if !ok || secretID == "" || secretID != role.secretID {
		writeErrors(w, http.StatusBadRequest, "invalid role or secret ID")
		return
	}
	tok := "hvs." + randomHex(12)
	entry := &tokenEntry{policy: role.policy}
	if role.ttl > 0 {
		entry.expires = s.now().Add(role.ttl)
	}
	s.tokens[tok] = entry
	s.logins++
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": randomHex(8), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": nil, "wrap_info": nil, "warnings": nil,
		"auth": map[string]any{
			"client_token":   tok,
			"accessor":       randomHex(12),
			"policies":       []string{"default"},
			"token_policies": []string{"default"},
			"metadata":       map[string]any{"role_name": roleID},
			"lease_duration": int64(role.ttl / time.Second),
			"renewable":      true,
			"token_type":     "service",
			"orphan":         true,
		},
	})
}

// readBody decodes a JSON object body, as Vault does (numbers as json.Number). An empty body is
// an empty object.
func readBody(r *http.Request) (map[string]any, error) {
	body := map[string]any{}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 32<<20)) // Vault's default limit
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return body, nil
}

// faultMessage is what Vault says with a fault status.
func faultMessage(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "Vault is sealed"
	case http.StatusTooManyRequests:
		return "request path \"transit/\": rate limit quota exceeded"
	}
	return "internal error"
}

// writeData writes a 200 answer with data, in the shape of every Vault answer.
func writeData(w http.ResponseWriter, data map[string]any) {
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": randomHex(8), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": data, "wrap_info": nil, "warnings": nil, "auth": nil,
	})
}

// writeErrors writes Vault's error body, {"errors": [...]}; with no messages, {"errors": []}.
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, status, map[string]any{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

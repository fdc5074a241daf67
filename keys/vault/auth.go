package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sseproxy/sseproxy/keys"
)

// reloginAfter is how old an AppRole token must be before a plain 403 makes the client log in
// again. Vault since 1.17 says "invalid token" when a token has expired or been revoked, and
// the client logs in again at once; older servers say only "permission denied", as they do when
// the policy refuses a path. Waiting this long keeps a policy that refuses a path from costing
// a login per request: at most one a minute.
const reloginAfter = time.Minute

// token is a Vault token and, for a token from a login, when it was issued and for how long.
type token struct {
	value  string
	issued time.Time
	ttl    time.Duration // 0: no expiry
}

// stale reports whether t should be replaced before use: 90% of its TTL has passed.
func (t *token) stale(now time.Time) bool {
	return t.ttl > 0 && now.Sub(t.issued) >= t.ttl/10*9
}

// auth provides the token for each call: a fixed token, or one from an AppRole login.
type auth struct {
	c         *Client
	fixed     *token
	role      AppRole // with the mount path checked; used when fixed is nil
	loginURL  string
	now       func() time.Time
	loginSlot chan struct{} // held by the one caller logging in

	mu  sync.Mutex
	tok *token // the AppRole token, nil before the first login
}

// newAuth checks the credentials in the options.
func newAuth(c *Client, tok string, role *AppRole) (*auth, error) {
	a := &auth{c: c, now: time.Now, loginSlot: make(chan struct{}, 1)}
	switch {
	case tok != "" && role != nil:
		return nil, errors.New("vault: give Token or AppRole, not both")
	case tok != "":
		if !validHeader(tok) {
			return nil, errors.New("vault: Token contains characters not allowed in an HTTP header")
		}
		a.fixed = &token{value: tok}
		return a, nil
	case role == nil:
		return nil, errors.New("vault: Token or AppRole is required")
	}
	a.role = *role
	if a.role.RoleID == "" || a.role.SecretID == "" {
		return nil, errors.New("vault: AppRole needs RoleID and SecretID")
	}
	if a.role.MountPath == "" {
		a.role.MountPath = "approle"
	}
	mount, err := checkMount("AppRole.MountPath", a.role.MountPath)
	if err != nil {
		return nil, err
	}
	a.loginURL = c.base + "auth/" + mount + "/login"
	return a, nil
}

// validHeader reports whether s can be sent as an HTTP header value.
func validHeader(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// current returns the token to use: the fixed token, or the AppRole token, logging in first if
// there is none yet or it is stale.
func (a *auth) current(ctx context.Context) (*token, error) {
	if a.fixed != nil {
		return a.fixed, nil
	}
	a.mu.Lock()
	t := a.tok
	a.mu.Unlock()
	if t != nil && !t.stale(a.now()) {
		return t, nil
	}
	return a.login(ctx, t)
}

// shouldRelogin reports whether a 403 answered to token t calls for a new login and one retry:
// with AppRole, when Vault says the token is invalid, or when t is older than reloginAfter.
func (a *auth) shouldRelogin(t *token, msgs []string) bool {
	if a.fixed != nil {
		return false
	}
	return mentions(msgs, "invalid token") || a.now().Sub(t.issued) >= reloginAfter
}

// relogin replaces the refused token failed, unless another caller has already replaced it.
func (a *auth) relogin(ctx context.Context, failed *token) (*token, error) {
	return a.login(ctx, failed)
}

// login logs in with the AppRole, one caller at a time. A caller that waited while another
// logged in uses that login's token instead of logging in again.
func (a *auth) login(ctx context.Context, old *token) (*token, error) {
	select {
	case a.loginSlot <- struct{}{}:
	case <-ctx.Done():
		return nil, a.c.transportError(ctx, "approle login", ctx.Err())
	}
	defer func() { <-a.loginSlot }()
	a.mu.Lock()
	cur := a.tok
	a.mu.Unlock()
	if cur != nil && cur != old && !cur.stale(a.now()) {
		return cur, nil
	}
	t, err := a.loginOnce(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.tok = t
	a.mu.Unlock()
	return t, nil
}

// loginOnce calls POST /v1/auth/<mount>/login (api-docs/auth/approle, "Login with AppRole").
func (a *auth) loginOnce(ctx context.Context) (*token, error) {
	body, err := json.Marshal(struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	}{a.role.RoleID, a.role.SecretID})
	if err != nil {
		return nil, err
	}
	defer clear(body)
	var out struct {
		Auth *struct {
			ClientToken   string `json:"client_token"`
			LeaseDuration int64  `json:"lease_duration"`
		} `json:"auth"`
	}
	issued := a.now()
	status, msgs, err := a.c.roundTrip(ctx, "approle login", http.MethodPost, a.loginURL, "", body, &out)
	switch {
	case err != nil:
		return nil, err
	case status == http.StatusBadRequest || status == http.StatusForbidden:
		// Vault answers 400 "invalid role or secret ID" for wrong credentials.
		return nil, fmt.Errorf("%w: approle login with role ID %q refused%s", ErrPermissionDenied, a.role.RoleID, messages(msgs))
	case unavailable(status):
		return nil, fmt.Errorf("%w: vault: approle login: status %d%s", keys.ErrUnavailable, status, messages(msgs))
	case status/100 != 2:
		return nil, fmt.Errorf("vault: approle login: status %d%s", status, messages(msgs))
	case out.Auth == nil || out.Auth.ClientToken == "" || !validHeader(out.Auth.ClientToken) || out.Auth.LeaseDuration < 0:
		return nil, fmt.Errorf("%w: vault: approle login: answer without a usable client token", keys.ErrUnavailable)
	}
	return &token{value: out.Auth.ClientToken, issued: issued, ttl: time.Duration(out.Auth.LeaseDuration) * time.Second}, nil
}

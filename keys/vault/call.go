package vault

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sseproxy/sseproxy/keys"
)

// op is one Transit API call: its name in errors, its method and its path under the mount (the
// key name follows).
type op struct {
	name, method, path string
}

// The Transit API calls the client makes, from the Vault HTTP API documentation of the Transit
// secrets engine (api-docs/secret/transit).
var (
	opReadKey = op{"read key", http.MethodGet, "keys/"}
	opEncrypt = op{"encrypt with key", http.MethodPost, "encrypt/"}
	opDecrypt = op{"decrypt with key", http.MethodPost, "decrypt/"}
)

// maxResponse bounds a response body. Transit answers to these calls are a few hundred bytes;
// a key read lists one timestamp per key version.
const maxResponse = 1 << 20

// errCallTimeout is the cause of a call's context when the client's own Timeout runs out, as
// opposed to the caller's context ending.
var errCallTimeout = errors.New("vault: call timed out")

// withTimeout bounds a call by c.timeout.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, c.timeout, errCallTimeout)
}

// call sends body (nil for a GET) to o's path for key name with the current token and decodes
// the "data" object of a 2xx answer into out. A 403 may trigger one re-login and retry (see
// auth.shouldRelogin). Errors are classified as the package documentation describes.
func (c *Client) call(ctx context.Context, o op, name string, body []byte, out any) error {
	path := c.mount + "/" + o.path + name
	url := c.base + path
	env := struct {
		Data any `json:"data"`
	}{Data: out}
	tok, err := c.auth.current(ctx)
	if err != nil {
		return err
	}
	desc := o.name + " " + quote(name)
	status, msgs, err := c.roundTrip(ctx, desc, o.method, url, tok.value, body, &env)
	if err == nil && status == http.StatusForbidden && c.auth.shouldRelogin(tok, msgs) {
		if tok, err = c.auth.relogin(ctx, tok); err != nil {
			return err
		}
		status, msgs, err = c.roundTrip(ctx, desc, o.method, url, tok.value, body, &env)
	}
	if err != nil {
		return err
	}
	return classify(o, name, path, status, msgs)
}

// roundTrip sends one request and reads the answer; desc names the call in errors. For a 2xx
// answer it decodes the body into into; otherwise it returns Vault's error messages
// ({"errors": [...]}). err is set only when no usable answer arrived: the context ended, the
// network failed, the body was malformed.
func (c *Client) roundTrip(ctx context.Context, desc, method, url, token string, body []byte, into any) (status int, msgs []string, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("vault: %s: %v", desc, err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	if c.namespace != "" {
		req.Header.Set("X-Vault-Namespace", c.namespace)
	}
	req.Header.Set("X-Vault-Request", "true")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, c.transportError(ctx, desc, err)
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	defer clear(payload) // it may hold a data key
	if err != nil {
		return 0, nil, c.transportError(ctx, desc, err)
	}
	if len(payload) > maxResponse {
		return 0, nil, fmt.Errorf("%w: vault: %s: answer larger than %d bytes", keys.ErrUnavailable, desc, maxResponse)
	}
	if resp.StatusCode/100 == 3 {
		return 0, nil, fmt.Errorf("%w: vault: %s: redirected to %q; redirects are not followed (they would carry the token): point Address at the active node",
			keys.ErrUnavailable, desc, resp.Header.Get("Location"))
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(payload, &e) // an unparsable error body is still an error status
		return resp.StatusCode, e.Errors, nil
	}
	if err := json.Unmarshal(payload, into); err != nil {
		return 0, nil, fmt.Errorf("%w: vault: %s: malformed answer (status %d)", keys.ErrUnavailable, desc, resp.StatusCode)
	}
	return resp.StatusCode, nil, nil
}

// transportError classifies a failure to get an answer: the caller's context ended (the error
// wraps ctx.Err()), the client's own timeout ran out, or the network failed (both
// keys.ErrUnavailable).
func (c *Client) transportError(ctx context.Context, desc string, err error) error {
	if ctx.Err() != nil {
		if context.Cause(ctx) == errCallTimeout {
			return fmt.Errorf("%w: vault: %s: no answer within %v", keys.ErrUnavailable, desc, c.timeout)
		}
		return fmt.Errorf("vault: %s: %w", desc, ctx.Err())
	}
	return fmt.Errorf("%w: vault: %s: %v", keys.ErrUnavailable, desc, err)
}

// classify turns the status of a Transit call on key name, at path, into the package's errors.
func classify(o op, name, path string, status int, msgs []string) error {
	switch {
	case status/100 == 2:
		return nil
	case status == http.StatusNotFound:
		// A read of a missing key; or, for any call, a path Vault has no handler for, such as a
		// wrong MountPath.
		return fmt.Errorf("%w: vault: %s %s: status 404%s", keys.ErrNotFound, o.name, quote(name), messages(msgs))
	case status == http.StatusBadRequest && mentions(msgs, "key not found"):
		return fmt.Errorf("%w: vault: %s %s: no such Transit key", keys.ErrNotFound, o.name, quote(name))
	case status == http.StatusBadRequest && o == opDecrypt:
		return keys.ErrDecrypt // Vault's reason (bad tag, version too old...) stays out of it
	case status == http.StatusForbidden && mentions(msgs, "invalid token"):
		return fmt.Errorf("%w: %s %s: the token is invalid or expired", ErrPermissionDenied, o.name, quote(name))
	case status == http.StatusForbidden:
		return &refusedError{fmt.Sprintf("%v: %s %s: the token's policy does not allow %s, or the key does not exist",
			ErrPermissionDenied, o.name, quote(name), path)}
	case unavailable(status):
		return fmt.Errorf("%w: vault: %s %s: status %d%s", keys.ErrUnavailable, o.name, quote(name), status, messages(msgs))
	default:
		return fmt.Errorf("vault: %s %s: status %d%s", o.name, quote(name), status, messages(msgs))
	}
}

// refusedError is a 403 for a path of one key. Vault does not tell a key that does not exist
// from one the token's policy does not cover, so it matches both ErrPermissionDenied and
// keys.ErrNotFound.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }

func (e *refusedError) Is(target error) bool {
	return target == ErrPermissionDenied || target == keys.ErrNotFound
}

// unavailable reports whether status means "try again later": 5xx, 429 (rate limit, or a
// standby's health answer), 412 (Enterprise: data not yet replicated), 472 and 473
// (replication secondaries and performance standbys), after the HTTP API documentation.
func unavailable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusPreconditionFailed, 472, 473:
		return true
	}
	return status >= 500
}

// mentions reports whether one of Vault's error messages contains s.
func mentions(msgs []string, s string) bool {
	for _, m := range msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// messages formats Vault's error messages as the end of an error string: ": " and at most
// three of them, each cut short, quoted so that a hostile server cannot forge log lines; "" if
// there are none.
func messages(msgs []string) string {
	const maxMsgs, maxLen = 3, 200
	if len(msgs) == 0 {
		return ""
	}
	var parts []string
	for i, m := range msgs {
		if i == maxMsgs {
			parts = append(parts, "...")
			break
		}
		if len(m) > maxLen {
			m = m[:maxLen]
			for !utf8.ValidString(m) {
				m = m[:len(m)-1]
			}
			m += "..."
		}
		parts = append(parts, m)
	}
	return fmt.Sprintf(": %q", strings.Join(parts, "; "))
}

// field is one member of a request body, written as a JSON string: value as is (it must not
// need escaping) or, if b64, base64-encoded. An empty value is left out, which Vault reads as
// the empty string.
type field struct {
	name  string
	value []byte
	b64   bool
}

// jsonBody writes a JSON object of fields into one buffer of the exact size, so that the caller
// can clear the only copy of a secret value.
func jsonBody(fields ...field) []byte {
	size := 2 // {}
	for _, f := range fields {
		if len(f.value) > 0 {
			if size > 2 {
				size++ // ,
			}
			size += len(f.name) + 5 // "name":""
			if f.b64 {
				size += base64.StdEncoding.EncodedLen(len(f.value))
			} else {
				size += len(f.value)
			}
		}
	}
	b := make([]byte, 0, size)
	b = append(b, '{')
	for _, f := range fields {
		if len(f.value) == 0 {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, `":"`...)
		if f.b64 {
			b = base64.StdEncoding.AppendEncode(b, f.value)
		} else {
			b = append(b, f.value...)
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

// secretString is a JSON string kept in a []byte, so that it can be cleared after use; a Go
// string cannot be. It accepts only strings without escapes, which base64 never needs.
type secretString []byte

func (s *secretString) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' || bytes.IndexByte(b, '\\') >= 0 {
		return errors.New("vault: not a plain JSON string")
	}
	*s = append((*s)[:0], b[1:len(b)-1]...)
	return nil
}

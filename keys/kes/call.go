package kes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sseproxy/sseproxy/keys"
)

// op is one KES API call: its path prefix (the key name follows) and its name in errors.
type op struct {
	path, name string
}

// The KES API calls the client makes. KES v0.23.0 declares them PUT and accepts POST for
// compatibility with older clients; POST works against older and newer servers alike.
var (
	opCreate   = op{"/v1/key/create/", "create key"}
	opGenerate = op{"/v1/key/generate/", "generate data key"}
	opDecrypt  = op{"/v1/key/decrypt/", "decrypt data key"}
	opEncrypt  = op{"/v1/key/encrypt/", "encrypt data key"}
)

// Request and response bodies. encoding/json carries []byte as standard base64, as KES does.
type (
	generateRequest struct {
		Context []byte `json:"context,omitempty"`
	}
	generateResponse struct {
		Plaintext  []byte `json:"plaintext"`
		Ciphertext []byte `json:"ciphertext"`
	}
	decryptRequest struct {
		Ciphertext []byte `json:"ciphertext"`
		Context    []byte `json:"context,omitempty"`
	}
	decryptResponse struct {
		Plaintext []byte `json:"plaintext"`
	}
	encryptRequest struct {
		Plaintext []byte `json:"plaintext"`
		Context   []byte `json:"context,omitempty"`
	}
	encryptResponse struct {
		Ciphertext []byte `json:"ciphertext"`
	}
)

// maxResponse bounds a response body: a KES answer to these calls is a few hundred bytes.
const maxResponse = 64 << 10

// call sends body to o.path+name on the endpoints, in order from the one that answered last,
// until one answers, and decodes a 200 answer into out (nil: ignore the body). A network
// failure, a timeout or a 502/503/504 moves on to the next endpoint; any other answer is final.
// The whole call is bounded by c.timeout; each endpoint but the last gets an equal share of the
// time left, so that a hanging one cannot use it all.
func (c *Client) call(ctx context.Context, o op, name string, body []byte, out any) error {
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	n := len(c.endpoints)
	first := int(c.next.Load()) % n
	var failures []error
	for i := range n {
		idx := (first + i) % n
		status, payload, err := c.attempt(callCtx, n-i, c.endpoints[idx]+o.path+name, body)
		switch {
		case ctx.Err() != nil: // the caller's context, not our timeout
			clear(payload)
			return fmt.Errorf("kes: %s %q: %w", o.name, name, ctx.Err())
		case err != nil:
			failures = append(failures, err)
		case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
			failures = append(failures, fmt.Errorf("%s: %d %q", c.endpoints[idx], status, serverMessage(payload)))
		default:
			c.next.Store(uint32(idx))
			err := c.result(o, name, status, payload, out)
			clear(payload) // it may hold a data key
			return err
		}
		// Start the next call at the next endpoint, unless another call has moved on already.
		c.next.CompareAndSwap(uint32(idx), uint32((idx+1)%n))
		if callCtx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("kes: %s %q: %w: %w", o.name, name, keys.ErrUnavailable, attemptErrors(failures))
}

// attempt makes one request to url, with 1/left of the time left in ctx, and returns the status
// and the body (at most maxResponse bytes).
func (c *Client) attempt(ctx context.Context, left int, url string, body []byte) (int, []byte, error) {
	if deadline, ok := ctx.Deadline(); ok && left > 1 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Until(deadline)/time.Duration(left))
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		clear(payload)
		return 0, nil, fmt.Errorf("%s: reading response: %w", url, err)
	}
	if len(payload) > maxResponse {
		clear(payload)
		return 0, nil, fmt.Errorf("%s: response exceeds %d bytes", url, maxResponse)
	}
	return resp.StatusCode, payload, nil
}

// result turns a final answer into the call's result: out decoded from a 200, or the error that
// the status and KES's message stand for.
func (c *Client) result(o op, name string, status int, payload []byte, out any) error {
	if status == http.StatusOK {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(payload, out); err != nil {
			// The error names a JSON type or offset, never the payload's content.
			return fmt.Errorf("kes: %s %q: malformed response: %w", o.name, name, err)
		}
		return nil
	}
	msg := serverMessage(payload)
	switch {
	case o == opDecrypt && status == http.StatusBadRequest:
		// KES answers 400 "decryption failed: ciphertext is not authentic" for any ciphertext
		// that does not open; the client checked the name and built the body itself.
		return keys.ErrDecrypt
	case o == opCreate && status == http.StatusBadRequest && (msg == "key already exists" || msg == "key does already exist"):
		return fmt.Errorf("kes: %s %q: %w", o.name, name, keys.ErrExists)
	case status == http.StatusNotFound:
		return fmt.Errorf("kes: %s %q: %w (KES: %q)", o.name, name, keys.ErrNotFound, msg)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%w: KES identity %s may not call %s%s; allow it in the identity's policy (KES: %q)",
			ErrNotAllowed, c.identity, o.path, name, msg)
	case status == http.StatusTooManyRequests || status >= 500:
		return fmt.Errorf("kes: %s %q: %w: %d %q", o.name, name, keys.ErrUnavailable, status, msg)
	default:
		return fmt.Errorf("kes: %s %q: unexpected answer %d %q", o.name, name, status, msg)
	}
}

// serverMessage extracts KES's error message from an error body ({"message": "..."}, or
// {"error": "..."} from older servers, or plain text), cut short for a log line.
func serverMessage(payload []byte) string {
	var body struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	msg := strings.TrimSpace(string(payload))
	if json.Unmarshal(payload, &body) == nil {
		msg = body.Message
		if msg == "" {
			msg = body.Error
		}
	}
	const max = 200
	if len(msg) > max {
		msg = msg[:max] + "..."
	}
	return msg
}

// attemptErrors is the failures of one call, one per endpoint tried.
type attemptErrors []error

func (e attemptErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e attemptErrors) Unwrap() []error { return e }

package awskms_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/awskms"
)

// calls returns the provider's three operations as functions of ctx, on dk.
func calls(c *awskms.Client, dk keys.DataKey) []struct {
	name string
	call func(ctx context.Context) error
} {
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"GenerateDataKey", func(ctx context.Context) error {
			_, err := c.GenerateDataKey(ctx, keyA, ad)
			return err
		}},
		{"Decrypt", func(ctx context.Context) error {
			_, err := c.Decrypt(ctx, keyA, dk.Ciphertext, ad)
			return err
		}},
		{"ReEncrypt", func(ctx context.Context) error {
			_, err := c.ReEncrypt(ctx, keyA, dk.Ciphertext, ad, keyB)
			return err
		}},
	}
}

// TestKMSStopped kills local-kms under a working client: every call fails with ErrUnavailable
// within Options.Timeout.
func TestKMSStopped(t *testing.T) {
	srv := startLocalKMS(t)
	const timeout = 2 * time.Second
	c := srv.Client(t, func(o *awskms.Options) { o.Timeout = timeout })
	dk := generate(t, c, keyA, ad)
	srv.Kill()
	for _, tc := range calls(c, dk) {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := tc.call(t.Context())
			elapsed := time.Since(start)
			if !errors.Is(err, keys.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s with KMS stopped = %v, want ErrUnavailable (and not DeadlineExceeded)", tc.name, err)
			}
			if elapsed > timeout+time.Second {
				t.Errorf("%s with KMS stopped took %v, want at most Timeout %v (+1s)", tc.name, elapsed, timeout)
			}
		})
	}
}

// TestKMSSilent runs against a server that accepts connections and never answers: the
// per-call timeout gives ErrUnavailable; the caller's own deadline gives its ctx error.
func TestKMSSilent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn // never answered, closed at the end
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	dk := keys.DataKey{KeyID: keyA, Ciphertext: randomBytes(150)}
	for _, tc := range []struct {
		name           string
		timeout        time.Duration
		callerDeadline time.Duration // 0: none
		want           error
	}{
		{"per-call-timeout", 300 * time.Millisecond, 0, keys.ErrUnavailable},
		{"caller-deadline", 5 * time.Second, 300 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := awskms.New(t.Context(), awskms.Options{
				Endpoint: "http://" + l.Addr().String(), Region: region,
				AccessKey: "k", SecretKey: "s", Timeout: tc.timeout,
			})
			if err != nil {
				t.Fatal(err)
			}
			limit := tc.timeout
			if tc.callerDeadline > 0 {
				limit = min(limit, tc.callerDeadline)
			}
			for _, call := range calls(c, dk) {
				ctx := t.Context()
				if tc.callerDeadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.callerDeadline)
					defer cancel()
				}
				start := time.Now()
				err := call.call(ctx)
				elapsed := time.Since(start)
				if !errors.Is(err, tc.want) {
					t.Errorf("%s = %v, want %v", call.name, err, tc.want)
				}
				if tc.want == context.DeadlineExceeded && errors.Is(err, keys.ErrUnavailable) {
					t.Errorf("%s = %v, want the caller's deadline, not ErrUnavailable", call.name, err)
				}
				if elapsed < limit || elapsed > limit+time.Second {
					t.Errorf("%s took %v, want about %v", call.name, elapsed, limit)
				}
			}
		})
	}
}

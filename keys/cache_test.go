package keys_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/kmstest"
)

// countingKMS counts Decrypt calls and can be made slow.
type countingKMS struct {
	keys.KMS
	decrypts atomic.Int64
	delay    time.Duration
}

func (c *countingKMS) Decrypt(ctx context.Context, keyID string, ct, ad []byte) ([]byte, error) {
	c.decrypts.Add(1)
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return c.KMS.Decrypt(ctx, keyID, ct, ad)
}

func openTestKeyring(t *testing.T) *keys.Keyring {
	t.Helper()
	k, err := keys.OpenKeyring(keys.KeyringOptions{Path: filepath.Join(t.TempDir(), "k.json"), CreateIfMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCachedConformance(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) (keys.KMS, string) {
		k := openTestKeyring(t)
		return keys.NewCache(k, keys.CacheOptions{}), k.DefaultKeyID()
	})
}

func TestCachedCounts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		opts      keys.CacheOptions
		remember  bool // Remember the generated key before reading it
		reads     int
		wantCalls int64
	}{
		{"warm reads cost nothing", keys.CacheOptions{}, false, 5, 1},
		{"off switch", keys.CacheOptions{Off: true}, false, 5, 5},
		{"expired entries refetch", keys.CacheOptions{TTL: time.Nanosecond}, false, 3, 3},
		{"a remembered key costs no call", keys.CacheOptions{}, true, 5, 0},
		{"remember with the cache off", keys.CacheOptions{Off: true}, true, 2, 2},
		{"a remembered key expires", keys.CacheOptions{TTL: time.Nanosecond}, true, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &countingKMS{KMS: openTestKeyring(t)}
			c := keys.NewCache(inner, tt.opts)
			dk, err := c.GenerateDataKey(ctx, "", []byte("ad"))
			if err != nil {
				t.Fatal(err)
			}
			want := append([]byte(nil), dk.Plaintext...)
			if tt.remember {
				c.Remember(dk.KeyID, dk.Ciphertext, dk.Plaintext, []byte("ad"))
				clear(dk.Plaintext) // callers clear their keys: the cache must keep its copy
			}
			for i := 0; i < tt.reads; i++ {
				got, err := c.Decrypt(ctx, dk.KeyID, dk.Ciphertext, []byte("ad"))
				if err != nil || string(got) != string(want) {
					t.Fatalf("Decrypt = %v; want the data key", err)
				}
				clear(got) // callers may clear what they get: the cache must keep its copy
			}
			if n := inner.decrypts.Load(); n != tt.wantCalls {
				t.Errorf("KMS Decrypt calls = %d, want %d", n, tt.wantCalls)
			}
			if _, err := c.Decrypt(ctx, dk.KeyID, dk.Ciphertext, []byte("other ad")); !errors.Is(err, keys.ErrDecrypt) {
				t.Errorf("Decrypt with other associated data = %v, want ErrDecrypt (cache keyed by ad)", err)
			}
		})
	}
}

func TestCachedBoundsAndTimeout(t *testing.T) {
	ctx := context.Background()
	inner := &countingKMS{KMS: openTestKeyring(t)}
	c := keys.NewCache(inner, keys.CacheOptions{Size: 2})
	var dks []keys.DataKey
	for i := 0; i < 3; i++ {
		dk, err := c.GenerateDataKey(ctx, "", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		dks = append(dks, dk)
		if _, err := c.Decrypt(ctx, dk.KeyID, dk.Ciphertext, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Decrypt(ctx, dks[0].KeyID, dks[0].Ciphertext, []byte{0}); err != nil {
		t.Fatal(err)
	}
	if n := inner.decrypts.Load(); n != 4 {
		t.Errorf("KMS calls = %d, want 4: the oldest of 3 keys is evicted from a cache of 2", n)
	}
	slow := keys.NewCache(&countingKMS{KMS: openTestKeyring(t), delay: time.Minute}, keys.CacheOptions{Timeout: 20 * time.Millisecond})
	dk, err := slow.GenerateDataKey(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := slow.Decrypt(ctx, dk.KeyID, dk.Ciphertext, nil); !errors.Is(err, keys.ErrUnavailable) {
		t.Errorf("Decrypt on a KMS that does not answer = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Decrypt took %v despite a 20ms timeout", d)
	}
}

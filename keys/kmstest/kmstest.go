// Package kmstest is the conformance suite for keys.KMS providers: every provider's tests call
// Run (or RunWithOtherKey) so that all of them honour the same contract, the one documented on
// keys.KMS. Run the suite with -race: it exercises concurrent use.
//
// The suite calls newKMS once per subtest; newKMS should give each call a KMS holding at least
// the returned key, enabled, and register its own cleanup with t.Cleanup.
package kmstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/keys"
)

// Run runs the conformance suite against the KMS newKMS returns and its key keyID ("" for the
// provider's default key). The subtest that needs a second key is skipped; providers that can
// create two keys should call RunWithOtherKey instead.
func Run(t *testing.T, newKMS func(t *testing.T) (kms keys.KMS, keyID string)) {
	t.Helper()
	run(t, func(t *testing.T) (keys.KMS, string, string) {
		kms, keyID := newKMS(t)
		return kms, keyID, ""
	})
}

// RunWithOtherKey is Run for a KMS holding two distinct, enabled keys, keyID and otherKeyID. It
// also checks that a ciphertext wrapped by one key does not decrypt under the other.
func RunWithOtherKey(t *testing.T, newKMS func(t *testing.T) (kms keys.KMS, keyID, otherKeyID string)) {
	t.Helper()
	run(t, newKMS)
}

type factory = func(t *testing.T) (kms keys.KMS, keyID, otherKeyID string)

func run(t *testing.T, newKMS factory) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, newKMS factory)
	}{
		{"GenerateDataKey", testGenerate},
		{"Rebind", testRebind},
		{"RoundTrip", testRoundTrip},
		{"AssociatedDataMismatch", testADMismatch},
		{"Tampered", testTampered},
		{"WrongKeyID", testWrongKeyID},
		{"UnknownKey", testUnknownKey},
		{"CancelledContext", testCancelled},
		{"CallerOwnsSlices", testCallerOwnsSlices},
		{"Concurrent", testConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, newKMS) })
	}
}

// ad is the associated data most subtests use, shaped like the proxy's "bucket/object".
var ad = []byte("kmstest-bucket/some/object.txt")

// secret describes a returned key in a failure message without printing it: the suite may run
// against a real KMS.
func secret(key []byte) string {
	if key == nil {
		return "nil"
	}
	return fmt.Sprintf("<%d-byte key>", len(key))
}

// generate calls GenerateDataKey and fails the test on error.
func generate(t *testing.T, kms keys.KMS, keyID string, ad []byte) keys.DataKey {
	t.Helper()
	dk, err := kms.GenerateDataKey(t.Context(), keyID, ad)
	if err != nil {
		t.Fatalf("GenerateDataKey(%q, %q) = %v", keyID, ad, err)
	}
	return dk
}

func testGenerate(t *testing.T, newKMS factory) {
	kms, keyID, _ := newKMS(t)
	const n = 8
	seen := map[string]bool{}
	for range n {
		dk := generate(t, kms, keyID, ad)
		if len(dk.Plaintext) != keys.DataKeySize {
			t.Errorf("GenerateDataKey(%q): len(Plaintext) = %d, want %d", keyID, len(dk.Plaintext), keys.DataKeySize)
		}
		if dk.KeyID == "" {
			t.Errorf("GenerateDataKey(%q): KeyID = \"\", want the resolved key name", keyID)
		}
		if len(dk.Ciphertext) == 0 || bytes.Contains(dk.Ciphertext, dk.Plaintext) {
			t.Errorf("GenerateDataKey(%q): Ciphertext is empty or contains Plaintext", keyID)
		}
		if bytes.Equal(dk.Plaintext, make([]byte, len(dk.Plaintext))) {
			t.Errorf("GenerateDataKey(%q): Plaintext is all zero", keyID)
		}
		for _, b := range [][]byte{dk.Plaintext, dk.Ciphertext} {
			if seen[string(b)] {
				t.Errorf("GenerateDataKey(%q) repeated a plaintext or ciphertext in %d calls", keyID, n)
			}
			seen[string(b)] = true
		}
	}
}

func testRoundTrip(t *testing.T, newKMS factory) {
	kms, keyID, _ := newKMS(t)
	large := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for _, tc := range []struct {
		name          string
		genAD, decAD  []byte
		useResolvedID bool
	}{
		{"object", ad, ad, true},
		{"nil", nil, nil, true},
		{"nil-then-empty", nil, []byte{}, true},
		{"empty-then-nil", []byte{}, nil, true},
		{"binary", []byte{0, 1, 0, 255, 0}, []byte{0, 1, 0, 255, 0}, true},
		{"64KiB", large, large, true},
		{"requested-keyID", ad, ad, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dk := generate(t, kms, keyID, tc.genAD)
			id := dk.KeyID
			if !tc.useResolvedID {
				id = keyID
			}
			got, err := kms.Decrypt(t.Context(), id, dk.Ciphertext, tc.decAD)
			if err != nil || !bytes.Equal(got, dk.Plaintext) {
				t.Errorf("Decrypt(%q, GenerateDataKey(%q)) = %s, %v, want the generated key", id, keyID, secret(got), err)
			}
		})
	}
}

func testADMismatch(t *testing.T, newKMS factory) {
	kms, keyID, _ := newKMS(t)
	dk := generate(t, kms, keyID, ad)
	flipped := bytes.Clone(ad)
	flipped[len(flipped)/2] ^= 0x01
	for _, tc := range []struct {
		name string
		ad   []byte
	}{
		{"other-object", []byte("kmstest-bucket/other/object.txt")},
		{"nil", nil},
		{"empty", []byte{}},
		{"prefix", ad[:len(ad)-1]},
		{"extended", append(bytes.Clone(ad), 0)},
		{"bit-flip", flipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kms.Decrypt(t.Context(), dk.KeyID, dk.Ciphertext, tc.ad)
			if !errors.Is(err, keys.ErrDecrypt) || got != nil {
				t.Errorf("Decrypt(ad %q) = %s, %v, want nil, ErrDecrypt", tc.ad, secret(got), err)
			}
		})
	}
	// A failed attempt must not disturb the genuine one.
	if got, err := kms.Decrypt(t.Context(), dk.KeyID, dk.Ciphertext, ad); err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Errorf("Decrypt(genuine) after failures = %s, %v, want the generated key", secret(got), err)
	}
}

// tamperings returns named corruptions of ct: single bit flips at several positions, then
// truncations and extensions.
func tamperings(ct []byte) []struct {
	name string
	ct   []byte
} {
	var out []struct {
		name string
		ct   []byte
	}
	add := func(name string, b []byte) {
		out = append(out, struct {
			name string
			ct   []byte
		}{name, b})
	}
	n := len(ct)
	done := map[int]bool{}
	for _, i := range []int{0, 1, 2, 3, 4, 5, 8, 16, 24, 32, n / 4, n / 2, 3 * n / 4, n - 17, n - 16, n - 2, n - 1} {
		if i < 0 || i >= n || done[i] {
			continue
		}
		done[i] = true
		for _, bit := range []uint{0, 7} {
			b := bytes.Clone(ct)
			b[i] ^= 1 << bit
			add(fmt.Sprintf("flip-byte-%d-bit-%d", i, bit), b)
		}
	}
	add("nil", nil)
	add("empty", []byte{})
	add("first-byte", ct[:1])
	add("truncate-half", bytes.Clone(ct[:n/2]))
	add("truncate-1", bytes.Clone(ct[:n-1]))
	add("truncate-tag", bytes.Clone(ct[:max(n-16, 0)]))
	add("extend-0", append(bytes.Clone(ct), 0))
	add("extend-self", append(bytes.Clone(ct), ct...))
	add("zeros", make([]byte, n))
	return out
}

func testTampered(t *testing.T, newKMS factory) {
	kms, keyID, _ := newKMS(t)
	dk := generate(t, kms, keyID, ad)
	for _, tc := range tamperings(dk.Ciphertext) {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kms.Decrypt(t.Context(), dk.KeyID, tc.ct, ad)
			if !errors.Is(err, keys.ErrDecrypt) || got != nil {
				t.Errorf("Decrypt(%s) = %s, %v, want nil, ErrDecrypt", tc.name, secret(got), err)
			}
		})
	}
}

func testWrongKeyID(t *testing.T, newKMS factory) {
	kms, keyID, otherKeyID := newKMS(t)
	if otherKeyID == "" {
		t.Skip("needs a second key: call kmstest.RunWithOtherKey")
	}
	dk := generate(t, kms, keyID, ad)
	other := generate(t, kms, otherKeyID, ad)
	if dk.KeyID == other.KeyID {
		t.Fatalf("keyID %q and otherKeyID %q resolve to the same key %q", keyID, otherKeyID, dk.KeyID)
	}
	for _, tc := range []struct {
		name, keyID string
		ct          []byte
	}{
		{"key-under-other", other.KeyID, dk.Ciphertext},
		{"other-under-key", dk.KeyID, other.Ciphertext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kms.Decrypt(t.Context(), tc.keyID, tc.ct, ad)
			if !errors.Is(err, keys.ErrDecrypt) || got != nil {
				t.Errorf("Decrypt(%q, ciphertext of another key) = %s, %v, want nil, ErrDecrypt", tc.keyID, secret(got), err)
			}
		})
	}
}

func testUnknownKey(t *testing.T, newKMS factory) {
	kms, keyID, _ := newKMS(t)
	unknown := "kmstest-unknown-" + rand.Text()[:16]
	t.Run("GenerateDataKey", func(t *testing.T) {
		dk, err := kms.GenerateDataKey(t.Context(), unknown, ad)
		if !errors.Is(err, keys.ErrNotFound) || dk.Plaintext != nil {
			t.Errorf("GenerateDataKey(%q) = %v, want ErrNotFound", unknown, err)
		}
	})
	t.Run("Decrypt", func(t *testing.T) {
		dk := generate(t, kms, keyID, ad)
		got, err := kms.Decrypt(t.Context(), unknown, dk.Ciphertext, ad)
		if !(errors.Is(err, keys.ErrNotFound) || errors.Is(err, keys.ErrDecrypt)) || got != nil {
			t.Errorf("Decrypt(%q) = %s, %v, want nil, ErrNotFound or ErrDecrypt", unknown, secret(got), err)
		}
	})
}

func testCancelled(t *testing.T, newKMS factory) {
	kms, keyID, _ := newKMS(t)
	dk := generate(t, kms, keyID, ad)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"canceled", cancelled, context.Canceled},
		{"deadline-exceeded", expired, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := kms.GenerateDataKey(tc.ctx, keyID, ad); !errors.Is(err, tc.want) || got.Plaintext != nil {
				t.Errorf("GenerateDataKey(%s ctx) = %v, want an error wrapping %v", tc.name, err, tc.want)
			}
			if got, err := kms.Decrypt(tc.ctx, dk.KeyID, dk.Ciphertext, ad); !errors.Is(err, tc.want) || got != nil {
				t.Errorf("Decrypt(%s ctx) = %s, %v, want nil and an error wrapping %v", tc.name, secret(got), err, tc.want)
			}
		})
	}
}

// testCallerOwnsSlices checks that the caller may clear what it gets back (the proxy clears
// every plaintext key) without affecting the KMS.
func testCallerOwnsSlices(t *testing.T, newKMS factory) {
	kms, keyID, _ := newKMS(t)
	dk := generate(t, kms, keyID, ad)
	want := bytes.Clone(dk.Plaintext)
	clear(dk.Plaintext)
	for i := range 2 {
		got, err := kms.Decrypt(t.Context(), dk.KeyID, dk.Ciphertext, ad)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Decrypt #%d after clearing earlier results = %s, %v, want the generated key", i+1, secret(got), err)
		}
		clear(got)
	}
}

func testConcurrent(t *testing.T, newKMS factory) {
	kms, keyID, otherKeyID := newKMS(t)
	const goroutines, perGoroutine = 16, 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	for g := range goroutines {
		wg.Go(func() {
			id := keyID
			if otherKeyID != "" && g%2 == 1 {
				id = otherKeyID
			}
			for i := range perGoroutine {
				objAD := fmt.Appendf(nil, "bucket/object-%d-%d", g, i)
				dk, err := kms.GenerateDataKey(t.Context(), id, objAD)
				if err != nil {
					t.Errorf("goroutine %d: GenerateDataKey(%q) = %v", g, id, err)
					return
				}
				mu.Lock()
				dup := seen[string(dk.Plaintext)]
				seen[string(dk.Plaintext)] = true
				mu.Unlock()
				if dup {
					t.Errorf("goroutine %d: GenerateDataKey returned a data key seen before", g)
				}
				got, err := kms.Decrypt(t.Context(), dk.KeyID, dk.Ciphertext, objAD)
				if err != nil || !bytes.Equal(got, dk.Plaintext) {
					t.Errorf("goroutine %d: Decrypt(GenerateDataKey) = %s, %v, want the generated key", g, secret(got), err)
				}
				if _, err := kms.Decrypt(t.Context(), dk.KeyID, dk.Ciphertext, ad); !errors.Is(err, keys.ErrDecrypt) {
					t.Errorf("goroutine %d: Decrypt(other ad) = %v, want ErrDecrypt", g, err)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != goroutines*perGoroutine && !t.Failed() {
		t.Errorf("got %d distinct data keys, want %d", len(seen), goroutines*perGoroutine)
	}
}

// testRebind checks keys.Rebinder, for providers that implement it: the
// same data key, bound to the new associated data only.
func testRebind(t *testing.T, newKMS factory) {
	kms, keyID, _ := newKMS(t)
	rb, ok := kms.(keys.Rebinder)
	if !ok {
		t.Skip("provider does not implement keys.Rebinder")
	}
	ctx := context.Background()
	from, to := []byte("bucket/old-name"), []byte("bucket/new-name")
	dk, err := kms.GenerateDataKey(ctx, keyID, from)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := rb.Rebind(ctx, dk.KeyID, dk.Ciphertext, from, to)
	if err != nil {
		t.Fatalf("Rebind = %v", err)
	}
	got, err := kms.Decrypt(ctx, dk.KeyID, moved, to)
	if err != nil || !bytes.Equal(got, dk.Plaintext) {
		t.Errorf("Decrypt(Rebind(...), new ad) = %v; want the same data key", err)
	}
	if _, err := kms.Decrypt(ctx, dk.KeyID, moved, from); !errors.Is(err, keys.ErrDecrypt) {
		t.Errorf("Decrypt(Rebind(...), old ad) = %v, want ErrDecrypt", err)
	}
	if _, err := rb.Rebind(ctx, dk.KeyID, dk.Ciphertext, []byte("bucket/other"), to); !errors.Is(err, keys.ErrDecrypt) {
		t.Errorf("Rebind from the wrong associated data = %v, want ErrDecrypt", err)
	}
}

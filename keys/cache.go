package keys

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// CacheOptions configures NewCache. The zero value is the default.
type CacheOptions struct {
	// Size bounds the unwrapped data keys kept; default 10000 (about
	// 1 MiB). Off disables the cache: every Decrypt calls the KMS.
	Size int
	Off  bool
	// TTL is how long an unwrapped key is reused; default 5 minutes. A key
	// disabled or rotated out at the KMS stays usable for reads this long.
	TTL time.Duration
	// Timeout bounds each KMS call; default 10 seconds. A call that does not
	// answer in time fails with ErrUnavailable.
	Timeout time.Duration
}

// Cached wraps a KMS: it bounds every call in time and remembers unwrapped
// data keys, so repeated reads of one object cost no KMS call. Keys are
// cached by (key ID, wrapped key, associated data); GenerateDataKey is never
// cached, but a caller that knows it will unwrap a key it just generated can
// [Cached.Remember] it. It is safe for concurrent use.
//
// The cache holds plaintext data keys in memory for TTL: that is the price
// of not calling the KMS on every read. Process memory is already trusted
// with every key in flight.
type Cached struct {
	kms KMS
	o   CacheOptions

	mu    sync.Mutex
	order *list.List // of *cacheEntry, most recent first
	byID  map[[32]byte]*list.Element
}

type cacheEntry struct {
	id      [32]byte
	key     []byte
	expires time.Time
}

var _ KMS = (*Cached)(nil)

// NewCache wraps k.
func NewCache(k KMS, o CacheOptions) *Cached {
	if o.Size <= 0 {
		o.Size = 10000
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return &Cached{kms: k, o: o, order: list.New(), byID: map[[32]byte]*list.Element{}}
}

// call runs f under the call timeout; a timeout becomes ErrUnavailable.
func (c *Cached) call(ctx context.Context, f func(ctx context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	err := f(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) && !errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%w: no answer within %v", ErrUnavailable, c.o.Timeout)
	}
	return err
}

// GenerateDataKey calls the KMS under the call timeout.
func (c *Cached) GenerateDataKey(ctx context.Context, keyID string, ad []byte) (DataKey, error) {
	var dk DataKey
	err := c.call(ctx, func(ctx context.Context) (err error) {
		dk, err = c.kms.GenerateDataKey(ctx, keyID, ad)
		return err
	})
	return dk, err
}

// Decrypt returns a cached key or calls the KMS and caches its answer. The
// caller owns (and may clear) the returned slice.
func (c *Cached) Decrypt(ctx context.Context, keyID string, ciphertext, ad []byte) ([]byte, error) {
	if c.o.Off {
		var key []byte
		err := c.call(ctx, func(ctx context.Context) (err error) {
			key, err = c.kms.Decrypt(ctx, keyID, ciphertext, ad)
			return err
		})
		return key, err
	}
	id := cacheID(keyID, ciphertext, ad)
	if key, ok := c.lookup(id); ok {
		return key, nil
	}
	var key []byte
	err := c.call(ctx, func(ctx context.Context) (err error) {
		key, err = c.kms.Decrypt(ctx, keyID, ciphertext, ad)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.store(id, key)
	return key, nil
}

// Remember caches plaintext as the unwrapped form of ciphertext, a data key
// the caller has just generated under keyID for ad, so that a Decrypt of it
// with the same arguments costs no KMS call. A multipart upload uses it: its
// parts unwrap the key its create generated. It does nothing when the cache
// is off; the cache keeps its own copy of plaintext.
func (c *Cached) Remember(keyID string, ciphertext, plaintext, ad []byte) {
	if c.o.Off {
		return
	}
	c.store(cacheID(keyID, ciphertext, ad), plaintext)
}

func cacheID(keyID string, ciphertext, ad []byte) [32]byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(keyID), ciphertext, ad} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var id [32]byte
	h.Sum(id[:0])
	return id
}

func (c *Cached) lookup(id [32]byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if time.Now().After(e.expires) {
		c.remove(el)
		return nil, false
	}
	c.order.MoveToFront(el)
	return append([]byte(nil), e.key...), true
}

func (c *Cached) store(id [32]byte, key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		c.remove(el)
	}
	c.byID[id] = c.order.PushFront(&cacheEntry{id: id, key: append([]byte(nil), key...), expires: time.Now().Add(c.o.TTL)})
	for c.order.Len() > c.o.Size {
		c.remove(c.order.Back())
	}
}

// remove drops an entry and clears its key; the caller holds mu.
func (c *Cached) remove(el *list.Element) {
	e := c.order.Remove(el).(*cacheEntry)
	clear(e.key)
	delete(c.byID, e.id)
}

package kmsenvelope

import (
	"bytes"
	"container/list"
	"context"
	"crypto/cipher"
	"errors"
	"sync"
	"time"
)

// dataKey is a plaintext data key, ready to seal or open, with what it was
// obtained for.
type dataKey struct {
	aead      cipher.AEAD
	encrypted []byte // the CiphertextBlob KMS returned or was given
	tenantID  string
	header    []byte    // the ciphertext header up to the nonce
	fixedAD   []byte    // the additional data up to the nonce (see format.go)
	obtained  time.Time // when KMS returned it; it is not used after obtained+maxAge
}

// cache holds data keys: per tenant one for encryption, with its use
// counts, and the keys KMS decrypted, by tenant and encrypted key. One LRU
// list over both kinds bounds the entries. Concurrent misses for the same
// key are merged into one KMS call.
//
// The bounds and shredding: a data key is used at most maxAge after KMS
// returned it. Once the tenant's KMS key is disabled, Encrypt keeps
// sealing with the cached data key and Decrypt keeps opening the data keys
// it holds until their age passes; after that every call goes to KMS,
// which refuses. So a shredded tenant's data is unreadable here at most
// maxAge after the key was disabled.
type cache struct {
	maxAge      time.Duration
	maxMessages uint64
	maxBytes    uint64
	maxEntries  int

	mu      sync.Mutex
	enc     map[string]*encSlot             // by tenant ID
	dec     map[string]map[string]*decEntry // by tenant ID, then encrypted key
	pending map[decKey]*call                // decryptions in flight
	lru     list.List                       // of *encSlot and *decEntry, most recent first
}

type encSlot struct {
	tenantID string
	key      *dataKey // nil when none
	messages uint64   // sealed with key
	bytes    uint64
	elem     *list.Element // in lru while key != nil
	pending  *call         // a GenerateDataKey in flight
}

type decEntry struct {
	key  *dataKey
	elem *list.Element
}

type decKey struct{ tenantID, encrypted string }

// call is a KMS call that other callers wait for.
type call struct {
	done chan struct{}
	key  *dataKey
	err  error
}

func newCache(c config) *cache {
	return &cache{
		maxAge:      c.maxAge,
		maxMessages: c.maxMessages,
		maxBytes:    c.maxBytes,
		maxEntries:  c.maxEntries,
		enc:         make(map[string]*encSlot),
		dec:         make(map[string]map[string]*decEntry),
		pending:     make(map[decKey]*call),
	}
}

// fresh reports whether k may still be used. time.Since of a time with a
// monotonic reading reads only the monotonic clock, half the cost of
// time.Now on the hot path.
func (c *cache) fresh(k *dataKey) bool {
	return time.Since(k.obtained) < c.maxAge
}

// maxWaits bounds how often a caller waits for another's KMS call and
// looks again, so that no loop is unbounded; one that loses every round
// gets a data key of its own. Callers woken by a new key race for its
// messages, so with many callers and few messages per key a caller may
// lose several rounds in a row.
const maxWaits = 128

// sealKey returns the data key to seal n bytes for tenantID with, counting
// the message against its bounds; generate is called (by one caller for
// all those waiting) when there is none that may take it.
func (c *cache) sealKey(ctx context.Context, tenantID string, n uint64, generate func() (*dataKey, error)) (*dataKey, error) {
	if n > c.maxBytes {
		return generate() // a key of its own, never reused
	}
	for range maxWaits {
		c.mu.Lock()
		s := c.enc[tenantID]
		if s != nil && s.key != nil {
			if c.fresh(s.key) && s.messages < c.maxMessages && s.bytes+n <= c.maxBytes {
				s.messages++
				s.bytes += n
				c.lru.MoveToFront(s.elem)
				k := s.key
				c.mu.Unlock()
				return k, nil
			}
			c.dropSeal(s)
			s = c.enc[tenantID] // nil unless a call is in flight
		}
		if s == nil {
			s = &encSlot{tenantID: tenantID}
			c.enc[tenantID] = s
		}
		if p := s.pending; p != nil {
			c.mu.Unlock()
			if err := wait(ctx, p); err != nil {
				return nil, err
			}
			continue
		}
		p := &call{done: make(chan struct{})}
		s.pending = p
		c.mu.Unlock()

		k, err := generate()

		c.mu.Lock()
		s.pending = nil
		if err == nil {
			if s.key != nil { // cannot happen while pending; keep the bounds exact anyway
				c.dropSeal(s)
			}
			s.key, s.messages, s.bytes = k, 1, n
			s.elem = c.lru.PushFront(s)
			c.evict()
		} else if s.key == nil {
			delete(c.enc, tenantID)
		}
		p.key, p.err = k, err
		close(p.done)
		c.mu.Unlock()
		return k, err
	}
	return generate() // others kept winning: a key of its own
}

// dropSeal forgets s's key; c.mu is held.
func (c *cache) dropSeal(s *encSlot) {
	if s.key == nil {
		return
	}
	c.lru.Remove(s.elem)
	s.key, s.elem, s.messages, s.bytes = nil, nil, 0, 0
	if s.pending == nil && c.enc[s.tenantID] == s {
		delete(c.enc, s.tenantID)
	}
}

// openKey returns the data key of encrypted for tenantID: a cached one (a
// decrypted key, or the tenant's current sealing key) or the one decrypt
// returns, called by one caller for all those waiting.
func (c *cache) openKey(ctx context.Context, tenantID string, encrypted []byte, decrypt func() (*dataKey, error)) (*dataKey, error) {
	for range maxWaits {
		c.mu.Lock()
		if e := c.dec[tenantID][string(encrypted)]; e != nil {
			if c.fresh(e.key) {
				c.lru.MoveToFront(e.elem)
				k := e.key
				c.mu.Unlock()
				return k, nil
			}
			c.dropOpen(e)
		}
		if s := c.enc[tenantID]; s != nil && s.key != nil && c.fresh(s.key) && bytes.Equal(s.key.encrypted, encrypted) {
			k := s.key
			c.mu.Unlock()
			return k, nil
		}
		dk := decKey{tenantID, string(encrypted)}
		if p := c.pending[dk]; p != nil {
			c.mu.Unlock()
			if err := wait(ctx, p); err != nil {
				return nil, err
			}
			continue
		}
		p := &call{done: make(chan struct{})}
		c.pending[dk] = p
		c.mu.Unlock()

		k, err := decrypt()

		c.mu.Lock()
		delete(c.pending, dk)
		if err == nil {
			m := c.dec[tenantID]
			if m == nil {
				m = make(map[string]*decEntry)
				c.dec[tenantID] = m
			}
			if old := m[dk.encrypted]; old != nil {
				c.dropOpen(old)
				if m = c.dec[tenantID]; m == nil {
					m = make(map[string]*decEntry)
					c.dec[tenantID] = m
				}
			}
			e := &decEntry{key: k}
			e.elem = c.lru.PushFront(e)
			m[dk.encrypted] = e
			c.evict()
		}
		p.key, p.err = k, err
		close(p.done)
		c.mu.Unlock()
		return k, err
	}
	return decrypt()
}

// dropOpen forgets a decrypted key; c.mu is held.
func (c *cache) dropOpen(e *decEntry) {
	c.lru.Remove(e.elem)
	m := c.dec[e.key.tenantID]
	delete(m, string(e.key.encrypted))
	if len(m) == 0 {
		delete(c.dec, e.key.tenantID)
	}
}

// evict drops the least recently used keys beyond maxEntries; c.mu is
// held.
func (c *cache) evict() {
	for c.lru.Len() > c.maxEntries {
		switch v := c.lru.Back().Value.(type) {
		case *encSlot:
			c.dropSeal(v)
		case *decEntry:
			c.dropOpen(v)
		}
	}
}

// wait waits for p and returns nil when the caller should look in the cache
// again (p succeeded, or failed because its own caller's context ended),
// or the error it shares with p.
func wait(ctx context.Context, p *call) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.err != nil && !errors.Is(p.err, context.Canceled) && !errors.Is(p.err, context.DeadlineExceeded) {
		return p.err
	}
	return nil
}

// stats is what the cache holds, for tests.
type stats struct{ entries, sealKeys, openKeys int }

func (c *cache) stats() stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := stats{entries: c.lru.Len()}
	for _, s := range c.enc {
		if s.key != nil {
			st.sealKeys++
		}
	}
	for _, m := range c.dec {
		st.openKeys += len(m)
	}
	return st
}

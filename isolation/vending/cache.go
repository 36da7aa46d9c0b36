package vending

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tenantkit/tenantkit/internal/shardmap"
	"github.com/tenantkit/tenantkit/isolation"
)

// entryKey identifies a cache entry. The role and the policy are functions
// of the tenant's placement, which is itself a function of the tenant and
// tier; every session of an entry is therefore keyed by role, tenant and
// policy.
type entryKey struct {
	id, tier, source string
}

// entry is one tenant's resolved placement and its sessions. Fields after
// ready are written once, by the goroutine that created the entry, before
// ready is closed, and only read after.
type entry struct {
	key  entryKey
	ref  atomic.Bool // CLOCK reference bit
	slot int         // index in shard.ring; guarded by shard.mu

	ready     chan struct{}
	placement isolation.Placement
	sessions  [isolation.NumResources]*session
	err       error
}

// shard is one part of the bounded cache: a map for lookups and a ring of
// the same entries for CLOCK eviction.
type shard struct {
	// 72 bytes of fields on 64-bit platforms, padded to two 64-byte lines
	// (TestShardSize; shardmap.MakeShards panics on a size that is not
	// whole lines), so that no shard's fields share a line with its
	// neighbour's lock. The padding comes first, as Go pads a struct that
	// ends in a field of size zero.
	_ [(shardmap.LineSize - unsafe.Sizeof(shardState{})%shardmap.LineSize) % shardmap.LineSize]byte
	shardState
}

// shardState is the fields of a shard.
type shardState struct {
	mu   sync.RWMutex
	m    map[entryKey]*entry
	ring []*entry
	hand int
	cap  int
}

// cache is the vendor's bounded per-tenant cache. Entries are sharded by
// tenant id alone, so that removeTenant locks one shard.
type cache struct {
	shards shardmap.Shards[string, shard]
}

const maxShards = 16

// newCache returns a cache of capacity entries (at least 1) over
// min(maxShards, capacity) shards.
func newCache(capacity int) *cache { return newCacheShards(capacity, min(maxShards, capacity)) }

// newCacheShards returns a cache of capacity entries over n shards, n
// rounded down to a power of two and at most capacity. The capacity is split
// over the shards, the first ones taking one more when it does not divide.
func newCacheShards(capacity, n int) *cache {
	c := &cache{}
	c.shards = shardmap.MakeShards[string](n, func(_ int, s *shard) {
		s.m = make(map[entryKey]*entry)
	})
	n = c.shards.Len()
	for i := range n {
		s := c.shards.At(i)
		s.cap = capacity / n
		if i < capacity%n {
			s.cap++
		}
	}
	return c
}

func (c *cache) shard(id string) *shard { return c.shards.Of(id) }

// get returns the entry for k, or nil.
func (s *shard) get(k entryKey) *entry {
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	if e != nil && !e.ref.Load() {
		e.ref.Store(true)
	}
	return e
}

// getOrCreate returns the entry for k, creating it (not ready) if absent.
// created reports whether the caller must fill it. Only one caller creates
// a given entry, so concurrent first requests share its resolution and its
// credential caches.
func (s *shard) getOrCreate(k entryKey) (e *entry, created bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[k]; e != nil {
		return e, false
	}
	e = &entry{key: k, ready: make(chan struct{})}
	if len(s.ring) < s.cap {
		e.slot = len(s.ring)
		s.ring = append(s.ring, e)
	} else {
		// CLOCK: skip (and clear) recently used entries, evict the first
		// that was not. Terminates within two turns of the ring.
		for {
			victim := s.ring[s.hand]
			if victim.ref.Load() {
				victim.ref.Store(false)
				s.hand = (s.hand + 1) % len(s.ring)
				continue
			}
			delete(s.m, victim.key)
			e.slot = s.hand
			s.ring[s.hand] = e
			s.hand = (s.hand + 1) % len(s.ring)
			break
		}
	}
	s.m[k] = e
	return e, true
}

// remove drops e if it is still cached.
func (s *shard) remove(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(e)
}

func (s *shard) removeLocked(e *entry) {
	if s.m[e.key] != e {
		return
	}
	delete(s.m, e.key)
	last := s.ring[len(s.ring)-1]
	s.ring[e.slot] = last
	last.slot = e.slot
	s.ring[len(s.ring)-1] = nil
	s.ring = s.ring[:len(s.ring)-1]
	if s.hand >= len(s.ring) {
		s.hand = 0
	}
}

// removeTenant drops every entry of tenant id.
func (c *cache) removeTenant(id string) {
	s := c.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.m {
		if k.id == id {
			s.removeLocked(e)
		}
	}
}

func (c *cache) len() int {
	n := 0
	for i := range c.shards.Len() {
		s := c.shards.At(i)
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

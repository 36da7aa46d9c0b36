package authn

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/tenantkit/tenantkit/tenant"
)

// cacheShards spreads a cache over independent locks so that concurrent
// requests rarely contend. A power of two keeps the shard pick a mask.
const cacheShards = 32

// expiring is a cache value that knows when it stops being servable.
type expiring interface{ expiry() time.Time }

// boundedCache is a sharded map with a size bound. When a shard is full, an
// insert first drops the shard's expired values and, if none, one value at
// random (Go map order is random), which keeps the bound with O(1)
// bookkeeping and no LRU list to update on every read.
type boundedCache[K comparable, V expiring] struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard[K, V]
}

type cacheShard[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func newBoundedCache[K comparable, V expiring](size int) *boundedCache[K, V] {
	c := &boundedCache[K, V]{seed: maphash.MakeSeed(), perShard: (size + cacheShards - 1) / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[K]V)
	}
	return c
}

func (c *boundedCache[K, V]) shard(k K) *cacheShard[K, V] {
	return &c.shards[maphash.Comparable(c.seed, k)&(cacheShards-1)]
}

// get returns the value for k if it has not expired at now.
func (c *boundedCache[K, V]) get(k K, now time.Time) (V, bool) {
	s := c.shard(k)
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	if !ok || !now.Before(v.expiry()) {
		var zero V
		return zero, false
	}
	return v, true
}

func (c *boundedCache[K, V]) put(k K, v V, now time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.perShard {
		evicted := false
		for old, ov := range s.m {
			if !now.Before(ov.expiry()) {
				delete(s.m, old)
				evicted = true
			}
		}
		if !evicted {
			for old := range s.m {
				delete(s.m, old)
				break
			}
		}
	}
	s.m[k] = v
}

// remove deletes k if it still maps to v.
func (c *boundedCache[K, V]) remove(k K, v V) {
	s := c.shard(k)
	s.mu.Lock()
	if cur, ok := s.m[k]; ok && any(cur) == any(v) {
		delete(s.m, k)
	}
	s.mu.Unlock()
}

// deleteFunc deletes every value for which drop returns true.
func (c *boundedCache[K, V]) deleteFunc(drop func(V) bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, v := range s.m {
			if drop(v) {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
}

func (c *boundedCache[K, V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// tokenCache maps a whole token string to the Tenant it proved, before the
// WithCheck hook (whose verdict may change at any time and is never cached). Keying by
// the whole token (not by kid, subject or a hash prefix) means an entry can
// only be hit by presenting exactly the bytes that were verified.
type tokenCache struct {
	c *boundedCache[string, *cacheEntry]
}

type cacheEntry struct {
	tenant tenant.Tenant
	exp    time.Time  // the token's exp; the entry is never served at or after it
	keys   *keySet    // the issuer's key set at verification time
	key    *publicKey // the key that verified the signature
}

func (e *cacheEntry) expiry() time.Time { return e.exp }

func newTokenCache(size int) *tokenCache {
	return &tokenCache{c: newBoundedCache[string, *cacheEntry](size)}
}

// get returns the tenant for token and the ID of the key that verified it,
// if it was verified, has not expired and that key is still published by
// its issuer. The entry holds no WithCheck verdict: the check runs on every
// request.
func (tc *tokenCache) get(token string, now time.Time) (tenant.Tenant, string, bool) {
	e, ok := tc.c.get(token, now)
	if !ok {
		return tenant.Tenant{}, "", false
	}
	if !e.keys.holds(e.key) {
		tc.c.remove(token, e)
		return tenant.Tenant{}, "", false
	}
	return e.tenant, e.key.kid, true
}

func (tc *tokenCache) put(token string, e *cacheEntry, now time.Time) { tc.c.put(token, e, now) }

// dropKey removes every entry verified by kid of the given key set. get
// already refuses such entries; dropping them frees their memory at once.
func (tc *tokenCache) dropKey(ks *keySet, kid string) {
	tc.c.deleteFunc(func(e *cacheEntry) bool { return e.keys == ks && e.key.kid == kid })
}

func (tc *tokenCache) len() int { return tc.c.len() }

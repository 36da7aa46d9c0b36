package tenant

import (
	"hash/maphash"
	"sync"
	"time"
)

// cacheShards spreads the verified-token cache over independent locks so
// that concurrent requests rarely contend. A power of two keeps the shard
// pick a mask.
const cacheShards = 32

// tokenCache maps a whole token string to the Tenant it proved. Keying by
// the whole token (not by kid, subject or a hash prefix) means an entry can
// only be hit by presenting exactly the bytes that were verified.
type tokenCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*cacheEntry
}

type cacheEntry struct {
	tenant Tenant
	exp    time.Time  // the token's exp; the entry is never served at or after it
	keys   *keySet    // the issuer's key set at verification time
	key    *publicKey // the key that verified the signature
}

func newTokenCache(size int) *tokenCache {
	per := (size + cacheShards - 1) / cacheShards
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: per}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cacheEntry)
	}
	return c
}

func (c *tokenCache) shard(token string) *cacheShard {
	return &c.shards[maphash.String(c.seed, token)&(cacheShards-1)]
}

// get returns the tenant for token if it was verified, has not expired and
// the key that verified it is still published by its issuer.
func (c *tokenCache) get(token string, now time.Time) (Tenant, bool) {
	s := c.shard(token)
	s.mu.RLock()
	e, ok := s.m[token]
	s.mu.RUnlock()
	if !ok {
		return Tenant{}, false
	}
	if !now.Before(e.exp) || !e.keys.holds(e.key) {
		s.mu.Lock()
		if s.m[token] == e {
			delete(s.m, token)
		}
		s.mu.Unlock()
		return Tenant{}, false
	}
	return e.tenant, true
}

func (c *tokenCache) put(token string, e *cacheEntry, now time.Time) {
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[token]; !ok && len(s.m) >= c.perShard {
		// Drop expired entries first; if none, drop one at random (map
		// order is random), which keeps the bound with O(1) bookkeeping.
		evicted := false
		for k, old := range s.m {
			if !now.Before(old.exp) {
				delete(s.m, k)
				evicted = true
			}
		}
		if !evicted {
			for k := range s.m {
				delete(s.m, k)
				break
			}
		}
	}
	s.m[token] = e
}

// dropKey removes every entry verified by kid of the given key set. get
// already refuses such entries; dropping them frees their memory at once.
func (c *tokenCache) dropKey(ks *keySet, kid string) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if e.keys == ks && e.key.kid == kid {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

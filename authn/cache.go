package authn

import (
	"time"

	"github.com/tenantkit/tenantkit/internal/shardmap"
	"github.com/tenantkit/tenantkit/tenant"
)

// cacheShards spreads a cache over independent locks so that concurrent
// requests rarely contend.
const cacheShards = 32

// expiring is a cache value that knows when it stops being servable.
type expiring interface {
	comparable
	expiry() time.Time
}

// boundedCache is a size-bounded map whose values are never served at or
// after their expiry. A full shard makes room by dropping its expired
// values, else one at random (see shardmap.Evicting).
type boundedCache[K comparable, V expiring] struct {
	m *shardmap.Evicting[K, V]
}

func newBoundedCache[K comparable, V expiring](size int) *boundedCache[K, V] {
	return &boundedCache[K, V]{m: shardmap.NewEvicting[K, V](size, cacheShards)}
}

// get returns the value for k if it has not expired at now.
func (c *boundedCache[K, V]) get(k K, now time.Time) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok || !now.Before(v.expiry()) {
		var zero V
		return zero, false
	}
	return v, true
}

func (c *boundedCache[K, V]) put(k K, v V, now time.Time) {
	c.m.Store(k, v, func(old V) bool { return !now.Before(old.expiry()) })
}

// remove deletes k if it still maps to v.
func (c *boundedCache[K, V]) remove(k K, v V) { c.m.CompareAndDelete(k, v) }

// deleteFunc deletes every value for which drop returns true.
func (c *boundedCache[K, V]) deleteFunc(drop func(V) bool) {
	c.m.DeleteFunc(func(_ K, v V) bool { return drop(v) })
}

func (c *boundedCache[K, V]) len() int { return c.m.Len() }

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

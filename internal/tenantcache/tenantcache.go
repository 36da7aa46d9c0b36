// Package tenantcache holds one value per tenant, built once, for hot paths
// that run on every span or log record.
package tenantcache

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/tenantkit/tenantkit/tenant"
)

// New returns a Cache that holds values for at most max tenants.
func New[V any](max int) *Cache[V] { return &Cache[V]{max: max} }

// Cache keeps one value per tenant, built from the tenant the first
// time it is asked for, for at most max tenants; past the bound Get reports
// a miss and the caller builds what it needs itself. It exists for hot paths
// that run on every span or log record: a hit is an atomic load, a map
// lookup and a tier comparison, with no lock taken and nothing allocated.
//
// Readers share the published map without locking, so it is never changed
// once published: admitting a tenant copies it under mu and publishes the
// copy. That makes an admission cost O(entries), which is acceptable because
// admissions stop at the bound and are rare well before it.
//
// An entry belongs to a tenant ID and remembers the tier its value was built
// for. When a tenant shows up with another tier, its value is rebuilt and
// swapped into the entry in place rather than by copying the map: after a
// tier change, requests with tokens issued before and after it alternate
// until the old tokens expire, and each switch must stay cheap.
//
// The zero Cache admits nothing; use New.
type Cache[V any] struct {
	max     int
	mu      sync.Mutex // serialises admissions
	entries atomic.Pointer[map[string]*tenantSlot[V]]
}

// tenantSlot holds the current value of one admitted tenant.
type tenantSlot[V any] struct {
	cur atomic.Pointer[tierValue[V]]
}

// tierValue is a value and the tier it was built for.
type tierValue[V any] struct {
	tier string
	v    V
}

// Get returns the value of t, building it with mk when t has no entry yet
// (if the bound allows one) or when its entry was built for another tier.
// ok is false when t is not admitted and the cache is full. t is a pointer
// only to save the hit path a copy of the Tenant.
func (c *Cache[V]) Get(t *tenant.Tenant, mk func(tenant.Tenant) V) (v V, ok bool) {
	m := c.entries.Load()
	if m != nil {
		if s := (*m)[t.ID()]; s != nil {
			return s.value(t, mk), true
		}
		if len(*m) >= c.max {
			return v, false
		}
	}
	return c.admit(t, mk)
}

// value returns the slot's value if it was built for t's tier, and
// otherwise replaces it with one built for that tier. Concurrent rebuilds
// for different tiers may overwrite each other; every reader checks the
// tier, so a lost update only costs another rebuild.
func (s *tenantSlot[V]) value(t *tenant.Tenant, mk func(tenant.Tenant) V) V {
	if cur := s.cur.Load(); cur != nil && cur.tier == t.Tier() {
		return cur.v
	}
	tv := &tierValue[V]{tier: t.Tier(), v: mk(*t)}
	s.cur.Store(tv)
	return tv.v
}

// admit adds an entry for t if there is room.
func (c *Cache[V]) admit(t *tenant.Tenant, mk func(tenant.Tenant) V) (v V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next map[string]*tenantSlot[V]
	if m := c.entries.Load(); m != nil {
		// Another goroutine may have admitted t while we waited.
		if s := (*m)[t.ID()]; s != nil {
			return s.value(t, mk), true
		}
		if len(*m) >= c.max {
			return v, false
		}
		next = maps.Clone(*m)
	} else {
		if c.max <= 0 {
			return v, false
		}
		next = make(map[string]*tenantSlot[V], 1)
	}
	s := new(tenantSlot[V])
	v = s.value(t, mk)
	next[t.ID()] = s
	c.entries.Store(&next)
	return v, true
}

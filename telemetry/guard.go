package telemetry

import (
	"hash/maphash"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/tenantkit/tenantkit/tenant"
)

// boundedMap maps tenant IDs to per-tenant values and holds at most max of
// them. It is the cardinality guard of the metrics and the usage table: the
// first max tenants seen are admitted and keep their entry for the map's
// life; later tenants get no entry and the caller folds them into the
// overflow entry. Nothing is evicted, because an admitted metric series
// keeps being exported by the SDK anyway; the usage table starts a new map
// each period.
//
// Lookups of admitted tenants take one read lock of one of 16 shards and do
// not allocate.
type boundedMap[V any] struct {
	max    int64
	n      atomic.Int64 // entries admitted, over all shards
	seed   maphash.Seed
	shards [boundedShards]boundedShard[V]
}

const boundedShards = 16

type boundedShard[V any] struct {
	mu sync.RWMutex
	m  map[string]*V
	_  [64 - 24 - 8]byte // RWMutex and map header: 64 bytes, one cache line each
}

func newBoundedMap[V any](max int) *boundedMap[V] {
	b := &boundedMap[V]{max: int64(max), seed: maphash.MakeSeed()}
	for i := range b.shards {
		b.shards[i].m = make(map[string]*V)
	}
	return b
}

// get returns the entry of id, creating it with mk if there is room. It
// returns nil when id is not admitted and the map is full. When valid is not
// nil and says an admitted entry is stale, get replaces it with a new one
// from mk in the same slot.
func (b *boundedMap[V]) get(id string, valid func(*V) bool, mk func() *V) *V {
	s := &b.shards[maphash.String(b.seed, id)%boundedShards]
	s.mu.RLock()
	v := s.m[id]
	s.mu.RUnlock()
	if v != nil && (valid == nil || valid(v)) {
		return v
	}
	if v == nil && b.n.Load() >= b.max {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.m[id]; v != nil {
		if valid == nil || valid(v) {
			return v
		}
		v = mk()
		s.m[id] = v
		return v
	}
	// Reserve a slot before creating, so that concurrent admissions in
	// other shards never take the count past max.
	if b.n.Add(1) > b.max {
		b.n.Add(-1)
		return nil
	}
	v = mk()
	s.m[id] = v
	return v
}

// len returns the number of admitted entries.
func (b *boundedMap[V]) len() int { return int(b.n.Load()) }

// each calls f for every admitted entry, in no particular order.
func (b *boundedMap[V]) each(f func(id string, v *V)) {
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.RLock()
		for id, v := range s.m {
			f(id, v)
		}
		s.mu.RUnlock()
	}
}

// tenantCache keeps one value per tenant, built from the tenant the first
// time it is asked for, for at most max tenants; past the bound get reports
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
// The zero tenantCache admits nothing; set max before first use.
type tenantCache[V any] struct {
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

// get returns the value of t, building it with mk when t has no entry yet
// (if the bound allows one) or when its entry was built for another tier.
// ok is false when t is not admitted and the cache is full. t is a pointer
// only to save the hit path a copy of the Tenant.
func (c *tenantCache[V]) get(t *tenant.Tenant, mk func(tenant.Tenant) V) (v V, ok bool) {
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
func (c *tenantCache[V]) admit(t *tenant.Tenant, mk func(tenant.Tenant) V) (v V, ok bool) {
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

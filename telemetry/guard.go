package telemetry

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
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

package telemetry

import "github.com/tenantkit/tenantkit/internal/shardmap"

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
	m *shardmap.Bounded[string, *V]
}

const boundedShards = 16

func newBoundedMap[V any](max int) *boundedMap[V] {
	return &boundedMap[V]{m: shardmap.NewBounded[string, *V](max, boundedShards)}
}

// get returns the entry of id, creating it with mk if there is room. It
// returns nil when id is not admitted and the map is full. When valid is not
// nil and says an admitted entry is stale, get replaces it with a new one
// from mk in the same slot.
func (b *boundedMap[V]) get(id string, valid func(*V) bool, mk func() *V) *V {
	v, _ := b.m.LoadOrCreate(id, valid, mk)
	return v
}

// len returns the number of admitted entries.
func (b *boundedMap[V]) len() int { return b.m.Len() }

// each calls f for every admitted entry, in no particular order.
func (b *boundedMap[V]) each(f func(id string, v *V)) { b.m.Range(f) }

// Package shardmap holds the sharding of the library: [Shards] splits keys
// over a power-of-two number of shards, of the caller's type padded to whole
// cache lines, picked by a seeded hash of the key. On it are built the two
// maps of the package: [Evicting] is bounded per shard and evicts; [Bounded]
// admits keys up to a bound and never evicts. Callers whose shards carry
// their own state and eviction policy (ratelimit's Local and InFlight, the
// STS credential cache's CLOCK) use Shards directly.
//
//	m := shardmap.NewEvicting[string, *entry](1000, 32)
//	m.Store(k, e, func(e *entry) bool { return !now.Before(e.exp) })
//	e, ok := m.Load(k)
package shardmap

import (
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"unsafe"
)

// LineSize is the cache line the shards are padded to a multiple of. A
// shard type pads its fields with
//
//	_ [(LineSize - unsafe.Sizeof(fields{})%LineSize) % LineSize]byte
//
// so that it is whole lines on every platform (the fields' size differs
// between 32-bit and 64-bit ones), as its first field: Go pads a struct
// that ends in a field of size zero.
const LineSize = 64

// Shards is the sharding that every sharded map of the library uses: a
// power-of-two number of shards of the caller's type S, picked by a seeded
// hash of a key of type K. S holds its own lock, map and policy state
// ([Evicting] and [Bounded] are built on it; a caller whose shards need more
// state than a map, or a lock held over a whole decision, uses it directly).
// Shards only places keys: it takes no lock itself and is safe for concurrent
// use, since it never changes after [MakeShards].
type Shards[K comparable, S any] struct {
	seed maphash.Seed
	mask uint64
	s    []S
}

// MakeShards returns n shards of type S, n rounded down to a power of two (at
// least 1), each zero and then passed to init with its index when init is not
// nil.
//
// It panics unless the size of S is a multiple of [LineSize]. The slice of
// shards is one allocation, in a size class that is a multiple of 64 bytes
// and so on a line boundary (which the runtime does not promise, but its
// allocator gives), so S padded to whole lines keeps the lock of each shard
// on lines no other shard writes to.
func MakeShards[K comparable, S any](n int, init func(i int, s *S)) Shards[K, S] {
	var zero S
	if size := unsafe.Sizeof(zero); size%LineSize != 0 {
		panic(fmt.Sprintf("shardmap: a shard of type %T is %d bytes, not a multiple of %d", zero, size, LineSize))
	}
	p := 1
	for p*2 <= n {
		p *= 2
	}
	s := Shards[K, S]{seed: maphash.MakeSeed(), mask: uint64(p - 1), s: make([]S, p)}
	if init != nil {
		for i := range s.s {
			init(i, &s.s[i])
		}
	}
	return s
}

// Of returns the shard of k.
func (s *Shards[K, S]) Of(k K) *S { return &s.s[s.Index(k)] }

// Parts returns the seed and the shards, for a caller that picks a shard on
// every operation of a hot path: Go does not inline a generic type's
// methods into a caller through the type's shape, so such a caller hashes
// with maphash.Comparable and the seed and indexes the shards itself (their
// number is a power of two: the hash's low bits, masked by len-1, pick the
// shard as Index does), and can index a table of its own within the shard
// by the hash's high bits.
func (s *Shards[K, S]) Parts() (maphash.Seed, []S) { return s.seed, s.s }

// Index returns the index of the shard of k, as [Shards.At] takes it.
func (s *Shards[K, S]) Index(k K) int { return int(maphash.Comparable(s.seed, k) & s.mask) }

// At returns shard i, for 0 <= i < [Shards.Len].
func (s *Shards[K, S]) At(i int) *S { return &s.s[i] }

// Len returns the number of shards.
func (s *Shards[K, S]) Len() int { return len(s.s) }

// shard is one shard of [Evicting] and [Bounded]: a lock and the keys it
// guards. The RWMutex and the map (one pointer, whatever K and V are) take
// 32 bytes on 64-bit platforms; the padding fills the rest of a 64-byte
// line, so that no two shards' locks share a line (MakeShards checks the
// size; SizeofShard is for the users' tests).
type shard[K comparable, V any] struct {
	_  [(LineSize - shardFields%LineSize) % LineSize]byte
	mu sync.RWMutex
	m  map[K]V
}

// shardFields is the size of a shard's fields but its padding: the size of
// a type with parameters is not a constant to Go, but a map is one pointer
// whatever its types, and an RWMutex needs no padding after it.
const shardFields = unsafe.Sizeof(sync.RWMutex{}) + unsafe.Sizeof(map[int]int(nil))

// SizeofShard returns the size in bytes of one shard of an [Evicting] or
// [Bounded] map of K to V, for tests that check the padding.
func SizeofShard[K comparable, V any]() uintptr { return unsafe.Sizeof(shard[K, V]{}) }

// shards is the sharding of Evicting and Bounded.
type shards[K comparable, V any] struct {
	Shards[K, shard[K, V]]
}

// makeShards returns n shards, n rounded down to a power of two (at least 1).
func makeShards[K comparable, V any](n int) shards[K, V] {
	return shards[K, V]{MakeShards[K](n, func(_ int, s *shard[K, V]) { s.m = make(map[K]V) })}
}

// load returns the value of k.
func (s *shards[K, V]) load(k K) (V, bool) {
	sh := s.Of(k)
	sh.mu.RLock()
	v, ok := sh.m[k]
	sh.mu.RUnlock()
	return v, ok
}

// Evicting is a sharded map that holds at most about size entries: each
// shard holds at most size/shards (rounded up). It is safe for concurrent use.
type Evicting[K comparable, V comparable] struct {
	shards[K, V]
	perShard int
}

// NewEvicting returns an empty map bounded at size entries over shards
// shards (rounded down to a power of two).
func NewEvicting[K comparable, V comparable](size, shards int) *Evicting[K, V] {
	m := &Evicting[K, V]{shards: makeShards[K, V](shards)}
	n := m.Shards.Len()
	m.perShard = max(1, (size+n-1)/n)
	return m
}

// Load returns the value of k, if any.
func (m *Evicting[K, V]) Load(k K) (V, bool) { return m.load(k) }

// Store sets the value of k. When k is new and its shard is full, Store
// first deletes the shard's values for which stale reports true and, if
// there were none, one value chosen at random.
func (m *Evicting[K, V]) Store(k K, v V, stale func(V) bool) {
	sh := m.Of(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[k]; !ok && len(sh.m) >= m.perShard {
		// Go map order is random: the bound costs O(1) bookkeeping and
		// no LRU list to update on every read.
		n := len(sh.m)
		for old, ov := range sh.m {
			if stale(ov) {
				delete(sh.m, old)
			}
		}
		if len(sh.m) == n {
			for old := range sh.m {
				delete(sh.m, old)
				break
			}
		}
	}
	sh.m[k] = v
}

// CompareAndDelete deletes k if its value is old.
func (m *Evicting[K, V]) CompareAndDelete(k K, old V) {
	sh := m.Of(k)
	sh.mu.Lock()
	if cur, ok := sh.m[k]; ok && cur == old {
		delete(sh.m, k)
	}
	sh.mu.Unlock()
}

// DeleteFunc deletes every entry for which del returns true.
func (m *Evicting[K, V]) DeleteFunc(del func(K, V) bool) {
	for i := range m.Shards.Len() {
		sh := m.At(i)
		sh.mu.Lock()
		for k, v := range sh.m {
			if del(k, v) {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// Len returns the number of entries.
func (m *Evicting[K, V]) Len() int {
	n := 0
	for i := range m.Shards.Len() {
		sh := m.At(i)
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// Bounded is a sharded map that admits at most max keys, the first ones
// stored, and never evicts. It is safe for concurrent use.
type Bounded[K comparable, V any] struct {
	shards[K, V]
	max int64
	n   atomic.Int64 // keys admitted, over all shards
}

// NewBounded returns an empty map that admits max keys over shards shards
// (rounded down to a power of two).
func NewBounded[K comparable, V any](max, shards int) *Bounded[K, V] {
	return &Bounded[K, V]{shards: makeShards[K, V](shards), max: int64(max)}
}

// Load returns the value of k, if k was admitted.
func (m *Bounded[K, V]) Load(k K) (V, bool) { return m.load(k) }

// LoadOrCreate returns the value of k, admitting k with the value mk
// returns if there is room; ok is false when k is not admitted and the map
// is full. When valid is not nil and reports false for the value of k,
// LoadOrCreate replaces it with one from mk.
func (m *Bounded[K, V]) LoadOrCreate(k K, valid func(V) bool, mk func() V) (v V, ok bool) {
	sh := m.Of(k)
	sh.mu.RLock()
	v, ok = sh.m[k]
	sh.mu.RUnlock()
	if ok && (valid == nil || valid(v)) {
		return v, true
	}
	if !ok && m.n.Load() >= m.max {
		return v, false
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if v, ok = sh.m[k]; ok {
		if valid == nil || valid(v) {
			return v, true
		}
		v = mk()
		sh.m[k] = v
		return v, true
	}
	// Reserve a slot before creating, so that concurrent admissions in
	// other shards never take the count past max.
	if m.n.Add(1) > m.max {
		m.n.Add(-1)
		return v, false
	}
	v = mk()
	sh.m[k] = v
	return v, true
}

// Len returns the number of keys admitted.
func (m *Bounded[K, V]) Len() int { return int(m.n.Load()) }

// Range calls f for every entry, in no particular order. f must not use m.
func (m *Bounded[K, V]) Range(f func(K, V)) {
	for i := range m.Shards.Len() {
		sh := m.At(i)
		sh.mu.RLock()
		for k, v := range sh.m {
			f(k, v)
		}
		sh.mu.RUnlock()
	}
}

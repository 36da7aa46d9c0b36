package redislimit

import (
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantkit/tenantkit/ratelimit"
)

// The quota memory of a Limiter's FallbackLocal plans: memSets sets of
// memWays entries (8,192 in all, about 450 KB, made when the first such
// plan is used). A key's entry is taken back only when eight other keys
// of its set were seen after it.
const (
	memWays = 8
	memSets = 1024
)

// quotaMemory remembers, per tenant key and quota kind, the last quota
// state Redis reported, so that a fallback to the in-process limiter starts
// from what was spent instead of from zero; and what the fallback allowed,
// so that Redis counts it once it answers again.
type quotaMemory struct {
	seed maphash.Seed
	sets [memSets]memSet
}

type memSet struct {
	next atomic.Uint32 // round-robin victim when every way is taken
	ways [memWays]memEntry
}

type memEntry struct {
	tag     atomic.Uint64 // hash of key and quota kind; 0 when empty; written under mu
	mu      sync.Mutex
	used    int64 // count Redis last reported, this request included
	end     int64 // its period end, unix s
	seeded  int64 // outage generation (plus one) the local count was last seeded in
	debt    int64 // cost allowed locally in period debtEnd, not yet in Redis
	debtEnd int64
}

// lookup returns the set of key under pa's quota kind, its tag, and its
// entry, or nil when it has none.
func (m *quotaMemory) lookup(key string, pa *planArgs) (*memSet, uint64, *memEntry) {
	tag := maphash.String(m.seed, key) ^ pa.kindHash
	if tag == 0 {
		tag = 1
	}
	s := &m.sets[(tag>>32)%memSets]
	for i := range s.ways {
		if s.ways[i].tag.Load() == tag {
			return s, tag, &s.ways[i]
		}
	}
	return s, tag, nil
}

// claim gives an entry of s to tag: an empty one, or the next in turn.
func (s *memSet) claim(tag uint64) *memEntry {
	for i := range s.ways {
		e := &s.ways[i]
		if e.tag.Load() == 0 && e.mu.TryLock() {
			if e.tag.Load() == 0 {
				e.reset(tag)
				e.mu.Unlock()
				return e
			}
			e.mu.Unlock()
		}
	}
	e := &s.ways[s.next.Add(1)%memWays]
	e.mu.Lock()
	e.reset(tag)
	e.mu.Unlock()
	return e
}

// reset gives the entry to tag; e.mu is held.
func (e *memEntry) reset(tag uint64) {
	e.tag.Store(tag)
	e.used, e.end, e.seeded, e.debt, e.debtEnd = 0, 0, 0, 0, 0
}

// takeDebt returns the cost allowed locally for tag in the period ending
// at end (unix s) and clears it, or 0. It never waits.
func (e *memEntry) takeDebt(tag uint64, end int64) int64 {
	if !e.mu.TryLock() {
		return 0
	}
	var d int64
	if e.tag.Load() == tag && e.debt > 0 && e.debtEnd == end {
		d, e.debt = e.debt, 0
	}
	e.mu.Unlock()
	return d
}

// giveBack returns debt that did not reach Redis.
func (e *memEntry) giveBack(tag uint64, end, debt int64) {
	e.mu.Lock()
	if e.tag.Load() == tag && (e.debt == 0 || e.debtEnd == end) {
		e.debt += debt
		e.debtEnd = end
	}
	e.mu.Unlock()
}

// record keeps the quota state of a shared reply. It never waits: when
// another caller updates the entry, its state is as recent.
func (e *memEntry) record(tag uint64, used, end int64) {
	if !e.mu.TryLock() {
		return
	}
	if e.tag.Load() != tag {
		e.reset(tag)
	}
	if end > e.end || (end == e.end && used > e.used) {
		e.used, e.end = used, end
	}
	e.mu.Unlock()
}

// owe adds cost allowed locally in the period ending at end to the debt
// that the next shared decision for the key hands to Redis.
func (e *memEntry) owe(tag uint64, cost, end int64) {
	e.mu.Lock()
	if e.tag.Load() != tag {
		e.reset(tag)
	}
	if e.debtEnd != end {
		e.debt, e.debtEnd = 0, end
	}
	e.debt += cost
	e.mu.Unlock()
}

// seedLocal raises the local count of key under the fallback plan fp to
// the share of the count Redis last reported, once per outage generation.
func (l *Limiter) seedLocal(e *memEntry, tag uint64, key string, fp *ratelimit.Plan, share float64) {
	gen := l.outages.Load() + 1 // never the zero of a fresh entry
	e.mu.Lock()
	if e.tag.Load() != tag || e.seeded == gen || e.used <= 0 {
		e.mu.Unlock()
		return
	}
	e.seeded = gen
	used, end := e.used, e.end
	e.mu.Unlock()
	// N replicas with share 1/N: each one's local limit is floor(L/N), so
	// seeding ceil(used/N) leaves each at most (L-used)/N.
	scaled := int64(math.Ceil(float64(used)*share - 1e-9))
	_ = rl.SeedQuota(l.local, key, fp, scaled, time.Unix(end, 0))
}

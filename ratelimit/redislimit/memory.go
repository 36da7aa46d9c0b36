package redislimit

import (
	"hash/maphash"
	"math"
	"sync"
	"time"

	"github.com/tenantkit/tenantkit/ratelimit"
)

// memSize is the number of quota states a Limiter remembers for its
// FallbackLocal plans (a direct-mapped table: a key whose slot another key
// took is remembered as having spent nothing).
const memSize = 1 << 12

// quotaMemory remembers, per tenant key and quota kind, the last quota
// state Redis reported, so that a fallback to the in-process limiter starts
// from what was spent instead of from zero; and what the fallback allowed,
// so that Redis counts it once it answers again.
type quotaMemory struct {
	seed    maphash.Seed
	entries [memSize]memEntry
}

type memEntry struct {
	mu      sync.Mutex
	tag     uint64 // hash of key and quota kind; 0 when empty
	used    int64  // count Redis last reported, this request included
	end     int64  // its period end, unix s
	seeded  int64  // outage generation the local count was last seeded in
	debt    int64  // cost allowed locally in period debtEnd, not yet in Redis
	debtEnd int64
}

func (m *quotaMemory) entry(key string, pa *planArgs) (*memEntry, uint64) {
	tag := maphash.String(m.seed, key) ^ pa.kindHash
	if tag == 0 {
		tag = 1
	}
	return &m.entries[tag&(memSize-1)], tag
}

// takeDebt returns the cost allowed locally for this key in the period
// ending at end (unix s) and clears it, or 0. It never waits.
func (e *memEntry) takeDebt(tag uint64, end int64) int64 {
	if !e.mu.TryLock() {
		return 0
	}
	var d int64
	if e.tag == tag && e.debt > 0 && e.debtEnd == end {
		d, e.debt = e.debt, 0
	}
	e.mu.Unlock()
	return d
}

// giveBack returns debt that did not reach Redis.
func (e *memEntry) giveBack(tag uint64, end, debt int64) {
	e.mu.Lock()
	if e.tag == tag && (e.debt == 0 || e.debtEnd == end) {
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
	if e.tag != tag {
		e.claim(tag)
	}
	if end > e.end || (end == e.end && used > e.used) {
		e.used, e.end = used, end
	}
	e.mu.Unlock()
}

// seedLocal raises the local count of key under the fallback plan fp to
// the share of the count Redis last reported, once per outage generation.
func (l *Limiter) seedLocal(e *memEntry, tag uint64, key string, fp *ratelimit.Plan, share float64) {
	gen := l.outages.Load()
	e.mu.Lock()
	if e.tag != tag || e.seeded == gen || e.used <= 0 {
		e.mu.Unlock()
		return
	}
	e.seeded = gen
	used, end := e.used, e.end
	e.mu.Unlock()
	// N replicas with share 1/N: each one's local limit is floor(L/N), so
	// seeding ceil(used/N) leaves each at most (L-used)/N.
	scaled := int64(math.Ceil(float64(used)*share - 1e-9))
	_ = l.local.SeedQuota(key, fp, scaled, time.Unix(end, 0))
}

// owe adds cost allowed locally in the period ending at end to the debt
// that the next shared decision for the key hands to Redis.
func (e *memEntry) owe(tag uint64, cost, end int64) {
	e.mu.Lock()
	if e.tag != tag {
		e.claim(tag)
	}
	if e.debtEnd != end {
		e.debt, e.debtEnd = 0, end
	}
	e.debt += cost
	e.mu.Unlock()
}

// claim gives the entry to another key; e.mu is held.
func (e *memEntry) claim(tag uint64) {
	e.tag, e.used, e.end, e.seeded, e.debt, e.debtEnd = tag, 0, 0, 0, 0, 0
}

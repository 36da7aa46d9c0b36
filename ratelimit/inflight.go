package ratelimit

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

// InFlight counts the requests of each key in progress in this process. It
// is the in-flight cap of backends whose rate and quota live elsewhere (the
// Redis limiter): a slot belongs to the process serving the request, so a
// shared counter would leak the slots of a replica that dies. [Local] keeps
// its counts in its buckets and does not need one.
//
// Memory is bounded by the number of requests in flight: keys whose count
// is back to zero are dropped when the map grows.
type InFlight struct {
	// shards first: an InFlight is allocated in a size class that is a
	// multiple of 64 bytes, so in practice each shard has a line to itself.
	shards [64]inflightShard
	seed   maphash.Seed
}

type inflightShard struct {
	mu      sync.Mutex
	m       map[string]*atomic.Int32
	sweepAt int
	// Mutex, map and sweepAt: 24 bytes padded to 64 (TestShardSizes), so
	// that two shards' locks never share a cache line.
	_ [64 - 8 - 8 - 8]byte
}

// NewInFlight returns an empty tracker.
func NewInFlight() *InFlight {
	f := &InFlight{seed: maphash.MakeSeed()}
	for i := range f.shards {
		f.shards[i].sweepAt = minSweepAt
	}
	return f
}

// Acquire takes one of the limit slots of key. It reports false, holding
// nothing, when all are taken. An acquired Slot must be released once.
func (f *InFlight) Acquire(key string, limit int) (Slot, bool) {
	s := &f.shards[maphash.String(f.seed, key)%uint64(len(f.shards))]
	s.mu.Lock()
	c := s.m[key]
	if c == nil {
		if s.m == nil {
			s.m = make(map[string]*atomic.Int32)
		}
		if len(s.m) >= s.sweepAt {
			for k, n := range s.m {
				// Release decrements without the lock, but a count at zero
				// can only rise under the lock, so this is safe.
				if n.Load() <= 0 {
					delete(s.m, k)
				}
			}
			s.sweepAt = max(2*len(s.m), minSweepAt)
		}
		c = new(atomic.Int32)
		s.m[strings.Clone(key)] = c
	}
	if int(c.Load()) >= limit {
		s.mu.Unlock()
		return Slot{}, false
	}
	c.Add(1)
	s.mu.Unlock()
	return Slot{n: c}, true
}

// Count returns the requests of key in flight.
func (f *InFlight) Count(key string) int {
	s := &f.shards[maphash.String(f.seed, key)%uint64(len(f.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.m[key]; c != nil {
		return int(c.Load())
	}
	return 0
}

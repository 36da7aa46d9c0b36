package ratelimit

import (
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tenantkit/tenantkit/internal/shardmap"
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
	shards shardmap.Shards[string, inflightShard]
}

// inflightShards is the number of shards of an InFlight.
const inflightShards = 64

type inflightShard struct {
	// The state takes 24 bytes on 64-bit platforms; the padding fills the
	// rest of a 64-byte line (TestShardSizes; shardmap.MakeShards panics on
	// a size that is not whole lines), so that two shards' locks never
	// share a line. It comes first, as Go pads a struct that ends in a
	// field of size zero.
	_ [(shardmap.LineSize - unsafe.Sizeof(inflightState{})%shardmap.LineSize) % shardmap.LineSize]byte
	inflightState
}

// inflightState is the fields of an inflightShard.
type inflightState struct {
	mu      sync.Mutex
	m       map[string]*atomic.Int32
	sweepAt int
}

// NewInFlight returns an empty tracker.
func NewInFlight() *InFlight {
	return &InFlight{shards: shardmap.MakeShards[string](inflightShards, func(_ int, s *inflightShard) {
		s.sweepAt = minSweepAt
	})}
}

// Acquire takes one of the limit slots of key. It reports false, holding
// nothing, when all are taken. An acquired Slot must be released once.
func (f *InFlight) Acquire(key string, limit int) (Slot, bool) {
	s := f.shards.Of(key)
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
	s := f.shards.Of(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.m[key]; c != nil {
		return int(c.Load())
	}
	return 0
}

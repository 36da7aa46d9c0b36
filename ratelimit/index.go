package ratelimit

import (
	"math/bits"
	"math/rand/v2"
)

// index is the key table of one shard of a [Local]: open addressing over a
// power-of-two array of slots, probed linearly from the top bits of the
// key's seeded hash (the shard was picked by its low bits). A slot holds
// the hash, the bucket and the key, whose bytes for a short key are the
// bucket's own (bucket.mapKey). A lookup so reads one line of slots and the
// bucket's line, where a Go map reads its table, a group's control word, a
// slot, the key's bytes and then the bucket; and the hash that picked the
// shard is not computed again.
//
// A deleted slot becomes a tombstone (probes go on past it, inserts reuse
// it); the array is rebuilt when live keys and tombstones fill three
// quarters of it, and when a sweep leaves it a quarter full. The shard's
// lock guards it.
type index struct {
	slots []slot
	live  int32 // slots holding a bucket
	used  int32 // live slots and tombstones
	shift uint8 // 64 - log2(len(slots))
}

// slot is one entry of an index: b is nil for a free slot, whose hash is 0
// when it was never used and tombstone when it held a deleted key.
type slot struct {
	hash uint64
	b    *bucket
	key  string
}

const tombstone = 1

// start returns the first slot to probe for hash h.
func (x *index) start(h uint64) int { return int(h >> x.shift) }

// get returns the bucket of key, whose hash is h, or nil.
func (x *index) get(h uint64, key string) *bucket {
	if x.live == 0 {
		return nil
	}
	mask := len(x.slots) - 1
	for i := x.start(h); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.b == nil {
			if s.hash != tombstone {
				return nil // a never-used slot ends every probe
			}
			continue
		}
		if s.hash == h && s.key == key {
			return s.b
		}
	}
}

// put adds key, whose hash is h and which the index does not hold, with
// its bucket.
func (x *index) put(h uint64, key string, b *bucket) {
	if int(x.used+1)*4 > len(x.slots)*3 {
		x.rebuild(int(x.live) + 1)
	}
	mask := len(x.slots) - 1
	for i := x.start(h); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.b == nil {
			if s.hash != tombstone {
				x.used++
			}
			*s = slot{hash: h, b: b, key: key}
			x.live++
			return
		}
	}
}

// removeAt deletes the key of slot i.
func (x *index) removeAt(i int) {
	x.slots[i] = slot{hash: tombstone}
	x.live--
}

// rebuild moves the live keys to a new array sized for n keys at most half
// full, leaving no tombstones; for n = 0 it frees the array.
func (x *index) rebuild(n int) {
	old := x.slots
	if n == 0 {
		*x = index{}
		return
	}
	size := 8
	for size < 2*n {
		size *= 2
	}
	x.slots = make([]slot, size)
	x.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	x.live, x.used = 0, 0
	for i := range old {
		if s := &old[i]; s.b != nil {
			x.put(s.hash, s.key, s.b)
		}
	}
}

// randomStart returns a slot index to begin a sampling walk at.
func (x *index) randomStart() int { return rand.IntN(len(x.slots)) }

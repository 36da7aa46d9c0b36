package ratelimit

import "math/rand/v2"

// index is the key table of one shard of a [Local]: open addressing over a
// power-of-two array of 16-byte slots, probed linearly from the top bits of
// the key's seeded hash (the shard was picked by its low bits). A slot holds
// the hash, with the key's length in its low byte, and the bucket, which
// holds the key's bytes (bucket.setKey). Four slots share a cache line, so
// that a probe seldom leaves the line it started on, and a lookup reads that
// line and the bucket's, which the decision reads anyway; a Go map reads its
// table, a group's control word, a slot, the key's bytes and then the
// bucket, and hashes the key again.
//
// A deleted slot becomes a tombstone (probes go on past it, inserts reuse
// it); the array is rebuilt when live keys and tombstones fill three
// quarters of it, and when a sweep leaves it a quarter full. The shard's
// lock guards it.
type index struct {
	slots []slot
	live  int32 // slots holding a bucket
	used  int32 // live slots and tombstones
}

// slot is one entry of an index: meta is the key's hash with its low byte
// replaced by the key's length (longKey for a longer one), and b the
// bucket. b is nil for a free slot, whose meta is 0 when it was never used
// and tombstone when it held a deleted key. The low byte of the hash is
// free because it is the same for every key of a shard of 256 (and nearly
// so of fewer): it picked the shard.
type slot struct {
	meta uint64
	b    *bucket
}

const tombstone = 1

// longKey is the length a slot records for a key of 255 bytes or more.
const longKey = 0xff

// metaOf returns the slot meta of a key of n bytes whose hash is h.
func metaOf(h uint64, n int) uint64 { return h&^0xff | uint64(min(n, longKey)) }

// start returns the first slot to probe for hash h: bits from 32 up, which
// neither the shard's choice (the low bits) nor a shift held in the index
// depend on.
func (x *index) start(h uint64) int { return int(h>>32) & (len(x.slots) - 1) }

// get returns the bucket of key, whose hash is h, or nil.
func (x *index) get(h uint64, key string) *bucket {
	slots := x.slots
	if len(slots) == 0 {
		return nil
	}
	if len(key) > inlineKey {
		return x.getLong(h, key)
	}
	// A short key is compared with the bucket's inline bytes as one
	// 16-byte array, zero past the key as they are (newBucket), which
	// the compiler does in two loads and no call to memequal.
	var k [inlineKey]byte
	copy(k[:], key)
	m := metaOf(h, len(key))
	for i := h >> 32; ; i++ {
		s := &slots[i&uint64(len(slots)-1)]
		// A live slot's meta is never 0 (its low byte is the key's length,
		// at least 1) and a tombstone's bucket is nil. The meta holds the
		// length, so equal arrays mean equal keys.
		if s.meta == m && s.b != nil && s.b.key == k {
			return s.b
		}
		if s.meta == 0 {
			return nil // a never-used slot ends every probe
		}
	}
}

// getLong is get for a key longer than inlineKey bytes.
func (x *index) getLong(h uint64, key string) *bucket {
	m := metaOf(h, len(key))
	for i := h >> 32; ; i++ {
		s := &x.slots[i&uint64(len(x.slots)-1)]
		if s.meta == m && s.b != nil && s.b.keyOf(len(key)) == key {
			return s.b
		}
		if s.meta == 0 {
			return nil
		}
	}
}

// put adds b, made by newBucket for a key of n bytes whose hash is h and
// which the index does not hold.
func (x *index) put(h uint64, n int, b *bucket) { x.putMeta(metaOf(h, n), b) }

// putMeta adds b under slot meta m.
func (x *index) putMeta(m uint64, b *bucket) {
	if int(x.used+1)*4 > len(x.slots)*3 {
		x.rebuild(int(x.live) + 1)
	}
	mask := len(x.slots) - 1
	for i := x.start(m); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.b == nil {
			if s.meta != tombstone {
				x.used++
			}
			*s = slot{meta: m, b: b}
			x.live++
			return
		}
	}
}

// removeAt deletes the key of slot i.
func (x *index) removeAt(i int) {
	x.slots[i] = slot{meta: tombstone}
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
	x.live, x.used = 0, 0
	for i := range old {
		if s := &old[i]; s.b != nil {
			x.putMeta(s.meta, s.b)
		}
	}
}

// randomStart returns a slot index to begin a sampling walk at.
func (x *index) randomStart() int { return rand.IntN(len(x.slots)) }

package ratelimit

import (
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestIndexMatchesMap runs random inserts, lookups, deletions and rebuilds
// on an index and on a Go map, with short and long keys, keys that differ
// only in a trailing zero byte, and hashes that collide on purpose, and
// checks that they always hold the same keys.
func TestIndexMatchesMap(t *testing.T) {
	seed := maphash.MakeSeed()
	for _, collide := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(7, 15))
		hash := func(k string) uint64 {
			if collide {
				return maphash.String(seed, k) & 0xff00000000000003 // few distinct values
			}
			return maphash.String(seed, k)
		}
		var x index
		model := map[string]*bucket{}
		key := func() string {
			k := "t" + strconv.Itoa(rng.IntN(300))
			switch rng.IntN(8) {
			case 0, 1:
				k += "-a-key-longer-than-sixteen-bytes"
			case 2:
				// Equal to k in the 16 bytes a short key is compared in:
				// only the length the slot records tells them apart.
				k += "\x00"
			}
			return k
		}
		for i := range 20_000 {
			switch r := rng.IntN(10); {
			case r < 4: // insert if absent
				k := key()
				if x.get(hash(k), k) == nil {
					b := newBucket(k)
					x.put(hash(k), len(k), b)
					model[k] = b
				}
			case r < 7: // delete one, walking from a random slot as evictOne does
				if x.live == 0 {
					continue
				}
				n := len(x.slots)
				for j, s := 0, x.randomStart(); j < n; j, s = j+1, (s+1)&(n-1) {
					if sl := &x.slots[s]; sl.b != nil {
						if model[sl.key()] != sl.b {
							t.Fatalf("step %d: slot key %q not in the model", i, sl.key())
						}
						delete(model, sl.key())
						x.removeAt(s)
						break
					}
				}
			case r < 8: // rebuild as a sweep does
				x.rebuild(int(x.live))
			default:
				k := key()
				if got, want := x.get(hash(k), k), model[k]; got != want {
					t.Fatalf("step %d: get(%q) = %p, want %p", i, k, got, want)
				}
			}
			if int(x.live) != len(model) || int(x.used)*4 > len(x.slots)*3 {
				t.Fatalf("step %d: live %d, used %d of %d slots, model %d", i, x.live, x.used, len(x.slots), len(model))
			}
		}
		for k, b := range model {
			if x.get(hash(k), k) != b {
				t.Fatalf("collide=%v: %q lost", collide, k)
			}
		}
		x.rebuild(0)
		if x.slots != nil || x.live != 0 {
			t.Fatalf("rebuild(0) left %d slots", len(x.slots))
		}
	}
}

// TestKeysOfEveryLength: keys of every length up to 300 bytes, across the
// inline limit (16) and the length a slot records exactly (254), keys that
// differ only in a trailing zero byte or in their last byte, each get a
// bucket of their own.
func TestKeysOfEveryLength(t *testing.T) {
	l := mustLocal(t, withShards(2))
	p := MustPlan(Plan{Name: "one", Rate: PerHour(1), Burst: 1})
	var keys []string
	for n := 1; n <= 300; n++ {
		base := strings.Repeat("k", n-1)
		keys = append(keys, base+"a", base+"b", base+"\x00")
	}
	for _, round := range []bool{true, false} {
		for _, k := range keys {
			if d := take(t, l, k, p, 1); d.Allowed != round {
				t.Fatalf("key of %d bytes ending %q: allowed %v in round %v", len(k), k[len(k)-1:], d.Allowed, round)
			}
		}
	}
	if l.Len() != len(keys) {
		t.Fatalf("%d keys tracked, want %d", l.Len(), len(keys))
	}
}

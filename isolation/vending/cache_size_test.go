package vending

import (
	"testing"
	"unsafe"

	"github.com/tenantkit/tenantkit/internal/shardmap"
)

// TestShardSize: the padding makes a cache shard the fewest whole cache
// lines that hold its fields (two on 64-bit platforms, one on 32-bit ones),
// so that no shard's fields share a line with its neighbour's lock.
func TestShardSize(t *testing.T) {
	const line = shardmap.LineSize
	want := (unsafe.Sizeof(shardState{}) + line - 1) / line * line
	if got := unsafe.Sizeof(shard{}); got != want {
		t.Fatalf("shard is %d bytes, want %d", got, want)
	}
	if unsafe.Sizeof(uintptr(0)) == 8 && want != 2*line {
		t.Fatalf("on a 64-bit platform a shard is %d bytes, want %d", want, 2*line)
	}
}

// The shards' capacities add up to the cache's, whatever the shard count
// is rounded to.
func TestCapacityIsSplitExactly(t *testing.T) {
	for _, capacity := range []int{1, 3, 5, 8, 15, 16, 17, 100, 1000} {
		c := newCache(capacity)
		total := 0
		for i := range c.shards.Len() {
			if s := c.shards.At(i); s.cap < 1 {
				t.Errorf("capacity %d: shard %d holds %d", capacity, i, s.cap)
			} else {
				total += s.cap
			}
		}
		if total != capacity {
			t.Errorf("capacity %d: shards hold %d", capacity, total)
		}
	}
}

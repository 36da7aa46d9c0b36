package vending

import (
	"testing"
	"unsafe"

	"github.com/tenantkit/tenantkit/internal/shardmap"
)

// TestShardSize: the padding makes a cache shard a whole number of cache
// lines, so that no shard's fields share a line with its neighbour's lock.
func TestShardSize(t *testing.T) {
	if got := unsafe.Sizeof(shard{}); got != 2*shardmap.LineSize {
		t.Fatalf("shard is %d bytes, want %d", got, 2*shardmap.LineSize)
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

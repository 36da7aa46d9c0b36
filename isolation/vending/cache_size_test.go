package vending

import (
	"testing"
	"unsafe"
)

// TestShardSize: the padding makes a cache shard a multiple of a cache
// line, so that no shard's fields share a line with its neighbour's lock.
func TestShardSize(t *testing.T) {
	if got := unsafe.Sizeof(shard{}); got != 128 {
		t.Fatalf("shard is %d bytes, want 128", got)
	}
}

package ratelimit

import (
	"testing"
	"unsafe"
)

// TestInFlightShardFillsACacheLine: the padding keeps neighbouring shards'
// locks on separate cache lines.
func TestInFlightShardFillsACacheLine(t *testing.T) {
	if got := unsafe.Sizeof(inflightShard{}); got != 64 {
		t.Fatalf("inflightShard is %d bytes, want 64", got)
	}
}

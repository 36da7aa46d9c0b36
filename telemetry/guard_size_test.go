package telemetry

import (
	"testing"
	"unsafe"
)

// TestBoundedShardFillsACacheLine: neighbouring shards' locks must not
// share a cache line, which the padding promises.
func TestBoundedShardFillsACacheLine(t *testing.T) {
	if got := unsafe.Sizeof(boundedShard[int]{}); got != 64 {
		t.Fatalf("boundedShard is %d bytes, want 64", got)
	}
}

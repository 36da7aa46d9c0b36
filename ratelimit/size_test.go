package ratelimit

import (
	"testing"
	"unsafe"
)

// TestShardSizes: the padding makes each shard a multiple of a cache line,
// so that neighbouring shards' locks never share one.
func TestShardSizes(t *testing.T) {
	for name, sizes := range map[string][2]uintptr{
		"shard":         {unsafe.Sizeof(shard{}), 128},
		"inflightShard": {unsafe.Sizeof(inflightShard{}), 64},
	} {
		if sizes[0] != sizes[1] {
			t.Errorf("%s is %d bytes, want %d", name, sizes[0], sizes[1])
		}
	}
}

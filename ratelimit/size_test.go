package ratelimit

import (
	"testing"
	"unsafe"

	"github.com/tenantkit/tenantkit/internal/shardmap"
)

// TestShardSizes: the padding makes each shard a whole number of cache
// lines, so that neighbouring shards' locks never share one.
func TestShardSizes(t *testing.T) {
	for name, sizes := range map[string][2]uintptr{
		"shard":         {unsafe.Sizeof(shard{}), shardmap.LineSize},
		"inflightShard": {unsafe.Sizeof(inflightShard{}), shardmap.LineSize},
	} {
		if sizes[0] != sizes[1] {
			t.Errorf("%s is %d bytes, want %d", name, sizes[0], sizes[1])
		}
	}
}

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
		"shard":         {unsafe.Sizeof(shard{}), 2 * shardmap.LineSize},
		"inflightShard": {unsafe.Sizeof(inflightShard{}), shardmap.LineSize},
	} {
		if sizes[0] != sizes[1] {
			t.Errorf("%s is %d bytes, want %d", name, sizes[0], sizes[1])
		}
	}
}

// TestShardHotLine: the fields every decision reads share the shard's
// first cache line.
func TestShardHotLine(t *testing.T) {
	var s shard
	if end := unsafe.Offsetof(s.off) + unsafe.Sizeof(s.off); end > shardmap.LineSize {
		t.Errorf("the hot fields end at byte %d of the shard", end)
	}
}

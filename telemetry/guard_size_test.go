package telemetry

import (
	"testing"

	"github.com/tenantkit/tenantkit/internal/shardmap"
)

// TestBoundedShardsAreCacheLines: the guards' shards are a multiple of a
// cache line, so that neighbouring locks never share one.
func TestBoundedShardsAreCacheLines(t *testing.T) {
	for name, got := range map[string]uintptr{
		"series": shardmap.SizeofShard[string, *series](),
		"usage":  shardmap.SizeofShard[string, *usageRow](),
	} {
		if got%shardmap.LineSize != 0 {
			t.Errorf("%s guard shard is %d bytes, not a multiple of %d", name, got, shardmap.LineSize)
		}
	}
}

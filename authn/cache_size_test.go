package authn

import (
	"testing"

	"github.com/tenantkit/tenantkit/internal/shardmap"
)

// TestCacheShardsAreCacheLines: the token and mint caches' shards are a
// multiple of a cache line, so that neighbouring locks never share one.
func TestCacheShardsAreCacheLines(t *testing.T) {
	for name, got := range map[string]uintptr{
		"token": shardmap.SizeofShard[string, *cacheEntry](),
		"mint":  shardmap.SizeofShard[mintKey, *mintEntry](),
	} {
		if got%shardmap.LineSize != 0 {
			t.Errorf("%s cache shard is %d bytes, not a multiple of %d", name, got, shardmap.LineSize)
		}
	}
}

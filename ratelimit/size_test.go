package ratelimit

import (
	"runtime"
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

// TestDefaultShards: 256 shards, 8 when one P makes every decision, fewer
// when the key bound would leave a shard under 16 keys.
func TestDefaultShards(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range []struct {
		procs, maxKeys, want int
	}{
		{2, DefaultMaxKeys, 256},
		{1, DefaultMaxKeys, 8},
		{2, 1024, 64},
		{1, 64, 4},
		{4, 1, 1},
	} {
		runtime.GOMAXPROCS(c.procs)
		l := mustLocal(t, WithMaxKeys(c.maxKeys))
		if got := len(l.shards); got != c.want {
			t.Errorf("GOMAXPROCS %d, WithMaxKeys(%d): %d shards, want %d", c.procs, c.maxKeys, got, c.want)
		}
	}
}

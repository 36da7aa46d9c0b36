package ratelimit

import "testing"

// mustLocal is NewLocal for tests whose options are valid.
func mustLocal(tb testing.TB, opts ...Option) *Local {
	tb.Helper()
	l, err := NewLocal(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// bucketOf returns the bucket of key, nil if the limiter holds none.
func (l *Local) bucketOf(key string) *bucket {
	s, h := l.shardOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idx.get(h, key)
}

// shardIndex returns the index of key's shard.
func (l *Local) shardIndex(key string) int {
	s, _ := l.shardOf(key)
	for i := range l.shards {
		if &l.shards[i] == s {
			return i
		}
	}
	panic("no shard")
}

// key returns the key of a live slot.
func (s *slot) key() string { return s.b.keyOf(int(s.meta & 0xff)) }

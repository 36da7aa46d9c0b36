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
	s, h := l.shards.OfHash(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idx.get(h, key)
}

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

package ratelimit

import (
	"fmt"
	"time"
)

// DefaultMaxKeys is the default bound on the keys a [Local] limiter tracks.
const DefaultMaxKeys = 1 << 20

// DefaultUntenantedMaxKeys is the key bound of the in-process limiter that
// the httpmw and grpcmw rate-limit middleware give requests without a
// tenant when no limiter is set for them: they never share the tenants'
// limiter and its bound.
const DefaultUntenantedMaxKeys = 1 << 16

// DefaultSweepInterval is how often, by default, each shard of a [Local]
// limiter drops its idle buckets.
const DefaultSweepInterval = time.Minute

// Option configures a [Local] limiter.
type Option func(*config)

type config struct {
	err           error // the first invalid option
	now           func() time.Time
	injected      bool
	maxKeys       int
	sweepInterval time.Duration
	shards        int
}

func newConfig(opts []Option) config {
	c := config{
		now:           time.Now,
		maxKeys:       DefaultMaxKeys,
		sweepInterval: DefaultSweepInterval,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	return c
}

// fail records the first invalid option; the constructor returns it.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithClock makes the limiter read time from now instead of time.Now, for
// tests. The limiter reads it under the key's lock, and never lets a key's
// time go backwards even if now does.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.fail("WithClock(nil)")
			return
		}
		c.now, c.injected = now, true
	}
}

// WithMaxKeys bounds the number of keys the limiter tracks (default
// [DefaultMaxKeys]). Idle keys are dropped first, then the least recently
// used key whose only state is its rate bucket (it comes back with a full
// bucket: lenient by at most one burst). A key holding quota spent in a
// period that has not ended, or with requests in flight, is never dropped;
// when every key holds spent quota, a new key is refused with [ErrCapacity].
// Size it above the number of keys that spend quota in one period.
func WithMaxKeys(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithMaxKeys(%d): the bound must be at least 1", n)
			return
		}
		c.maxKeys = n
	}
}

// WithSweepInterval sets how often each shard drops idle buckets (default
// [DefaultSweepInterval]). A bucket is idle when dropping it changes no
// future decision: its rate bucket has refilled, its quota is unspent or its
// period is over, and it has nothing in flight. Sweeps also run when a shard
// grows, and on [Local.Sweep].
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithSweepInterval(%v): the interval must be positive", d)
			return
		}
		c.sweepInterval = d
	}
}

// withShards sets the shard count (a power of two), for tests.
func withShards(n int) Option {
	return func(c *config) { c.shards = n }
}

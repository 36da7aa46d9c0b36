package directory

import (
	"fmt"
	"time"
)

// Defaults of a [Cache].
const (
	// DefaultTTL is how long an answer is used without asking again: the
	// bound on how late a suspension or a tier change takes effect when no
	// invalidation arrives.
	DefaultTTL = 10 * time.Second
	// DefaultMaxStale is how long past its TTL an answer is still served
	// while the directory cannot answer.
	DefaultMaxStale = 5 * time.Minute
	// DefaultNegativeTTL is how long "unknown tenant" is remembered.
	DefaultNegativeTTL = 2 * time.Second
	// DefaultCacheSize bounds the number of tenants cached.
	DefaultCacheSize = 100_000
	// DefaultLookupTimeout bounds one lookup in the underlying directory.
	DefaultLookupTimeout = 2 * time.Second

	// MaxTTL is the longest TTL WithTTL accepts.
	MaxTTL = time.Hour
)

// retryInterval bounds how often a tenant's entry is looked up again while
// the directory fails and a stale answer is served: at most once a second
// (or once a TTL, if shorter) instead of on every request.
const retryInterval = time.Second

// Option configures a [Cache].
type Option func(*config)

type config struct {
	ttl, maxStale, negTTL, lookupTimeout time.Duration
	size                                 int
	now                                  func() time.Time
	injected                             bool // now is WithClock's, not time.Now
	admitUnknown                         bool
	err                                  error
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

func newConfig(opts []Option) config {
	c := config{ttl: DefaultTTL, maxStale: DefaultMaxStale, negTTL: DefaultNegativeTTL,
		lookupTimeout: DefaultLookupTimeout, size: DefaultCacheSize, now: time.Now}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	return c
}

// WithTTL sets how long an answer is used before the directory is asked
// again (default [DefaultTTL], at most [MaxTTL]). It bounds the lag of a
// suspension or tier change without an invalidation.
func WithTTL(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 || d > MaxTTL {
			c.fail("WithTTL(%v): want more than 0 and at most %v", d, MaxTTL)
			return
		}
		c.ttl = d
	}
}

// WithMaxStale sets how long past its TTL an answer is served while the
// directory fails (default [DefaultMaxStale]); 0 serves nothing stale.
func WithMaxStale(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("WithMaxStale(%v): negative", d)
			return
		}
		c.maxStale = d
	}
}

// WithNegativeTTL sets how long an unknown tenant is remembered as unknown
// (default [DefaultNegativeTTL]); 0 asks the directory every time.
func WithNegativeTTL(d time.Duration) Option {
	return func(c *config) {
		if d < 0 || d > MaxTTL {
			c.fail("WithNegativeTTL(%v): want 0 to %v", d, MaxTTL)
			return
		}
		c.negTTL = d
	}
}

// WithCacheSize bounds the number of tenants cached (default
// [DefaultCacheSize]); past it, expired entries and then random ones are
// evicted.
func WithCacheSize(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithCacheSize(%d): the bound must be at least 1", n)
			return
		}
		c.size = n
	}
}

// WithLookupTimeout bounds one lookup in the underlying directory (default
// [DefaultLookupTimeout]). A lookup runs on behalf of every caller waiting
// for the tenant, so it is not cut when one of them gives up.
func WithLookupTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithLookupTimeout(%v): want more than 0", d)
			return
		}
		c.lookupTimeout = d
	}
}

// WithClock makes the cache read time from now instead of time.Now, for
// tests. The cache then reads now on every lookup, cached or not.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.fail("WithClock(nil)")
			return
		}
		c.now, c.injected = now, true
	}
}

// WithAdmitUnknown makes [Cache.Admit] admit tenants the directory does not
// know, with their credential's tier, instead of refusing them with
// [ErrUnknownTenant]. It is for migrations, while the directory is being
// filled.
func WithAdmitUnknown() Option {
	return func(c *config) { c.admitUnknown = true }
}

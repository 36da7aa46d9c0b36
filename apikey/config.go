package apikey

import (
	"fmt"
	"time"
)

// Bounds and defaults of the verification cache.
const (
	DefaultTTL         = 10 * time.Second
	MaxTTL             = 30 * time.Second
	DefaultMaxStale    = 5 * time.Minute
	DefaultNegativeTTL = 5 * time.Second
	DefaultCacheSize   = 100_000
)

type config struct {
	prefix    string
	pepper    []byte
	ttl       time.Duration
	maxStale  time.Duration
	negTTL    time.Duration
	cacheSize int
	now       func() time.Time
	err       error // the first invalid option
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

func newConfig(opts []Option) (config, error) {
	c := config{
		prefix:    DefaultPrefix,
		ttl:       DefaultTTL,
		maxStale:  DefaultMaxStale,
		negTTL:    DefaultNegativeTTL,
		cacheSize: DefaultCacheSize,
		now:       time.Now,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	return c, c.err
}

// Option configures NewVerifier and NewManager. Options a constructor does
// not use (the cache options for NewManager) are ignored.
type Option func(*config)

// WithPrefix sets the prefix of the keys: it must match
// [a-z][a-z0-9]*(_[a-z0-9]+)* and be at most 32 bytes. The default is
// DefaultPrefix.
func WithPrefix(prefix string) Option {
	return func(c *config) {
		if !validPrefix(prefix) {
			c.fail("WithPrefix(%q): want [a-z][a-z0-9]*(_[a-z0-9]+)*, at most %d bytes", prefix, maxPrefixLen)
			return
		}
		c.prefix = prefix
	}
}

// WithPepper keys the stored hashes with pepper (HMAC-SHA-256), a secret
// the store never sees. It must be at least 32 bytes; the Manager and the
// Verifier of one store need the same pepper.
func WithPepper(pepper []byte) Option {
	return func(c *config) {
		if len(pepper) < 32 {
			c.fail("WithPepper: %d bytes, want at least 32", len(pepper))
			return
		}
		c.pepper = append([]byte(nil), pepper...)
	}
}

// WithTTL sets how long a verified key is served from the cache without
// asking the store: more than 0 and at most MaxTTL (default DefaultTTL).
func WithTTL(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 || d > MaxTTL {
			c.fail("WithTTL(%v): want (0, %v]", d, MaxTTL)
			return
		}
		c.ttl = d
	}
}

// WithMaxStale sets how long past its TTL a cached key is still served
// while the store fails (default DefaultMaxStale); 0 disables it, and more
// than an hour is invalid.
func WithMaxStale(d time.Duration) Option {
	return func(c *config) {
		if d < 0 || d > time.Hour {
			c.fail("WithMaxStale(%v): want [0, 1h]", d)
			return
		}
		c.maxStale = d
	}
}

// WithNegativeTTL sets how long an unknown key ID is remembered as unknown
// (default DefaultNegativeTTL): at least 0 (no negative caching) and at
// most MaxTTL.
func WithNegativeTTL(d time.Duration) Option {
	return func(c *config) {
		if d < 0 || d > MaxTTL {
			c.fail("WithNegativeTTL(%v): want [0, %v]", d, MaxTTL)
			return
		}
		c.negTTL = d
	}
}

// WithCacheSize bounds the number of key IDs cached (default
// DefaultCacheSize); it must be at least 1.
func WithCacheSize(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithCacheSize(%d): want at least 1", n)
			return
		}
		c.cacheSize = n
	}
}

// WithClock sets the clock (default time.Now), for tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.fail("WithClock(nil)")
			return
		}
		c.now = now
	}
}

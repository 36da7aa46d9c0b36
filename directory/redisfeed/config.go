package redisfeed

import (
	"errors"
	"fmt"
	"time"

	"github.com/tenantkit/tenantkit/tenant"
)

// Channels of the invalidation feed: one per kind of cache, so that a
// tenant ID and an API key ID never meet the same check.
const (
	// DirectoryChannel carries tenant IDs for the tenant directory's cache.
	DirectoryChannel = "tenantkit:invalidate:directory"
	// APIKeyChannel carries API key IDs for the API-key verifier's cache.
	APIKeyChannel = "tenantkit:invalidate:apikey"
)

// All is the message that invalidates every entry: [PublishAll] sends it.
// No kind of ID may be "*".
const All = "*"

// MaxIDLength bounds the length in bytes of a published ID. A longer
// message is malformed whatever the subscriber's ID check says.
const MaxIDLength = 128

// Defaults of a [Subscriber].
const (
	DefaultMinBackoff  = 50 * time.Millisecond
	DefaultMaxBackoff  = 2 * time.Second
	DefaultHealthCheck = time.Second
)

// ErrInvalidOption is wrapped by the error [NewSubscriber] returns for an
// option with an invalid value, a nil client or a nil target; the message
// names the option or parameter.
var ErrInvalidOption = errors.New("redisfeed: invalid option")

// ErrInvalidID is wrapped by the error [Publish] returns for an ID that no
// subscriber would accept: empty, longer than [MaxIDLength], [All], or
// holding a byte outside printable ASCII or a space.
var ErrInvalidID = errors.New("redisfeed: invalid ID")

// Option configures a [Subscriber].
type Option func(*config)

type config struct {
	err        error // the first invalid option
	check      func(id string) error
	onError    func(error)
	minBackoff time.Duration
	maxBackoff time.Duration
	health     time.Duration
}

func newConfig(opts []Option) config {
	c := config{
		check:      tenant.ValidateID,
		onError:    func(error) {},
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
		health:     DefaultHealthCheck,
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

// fail records the first invalid option; NewSubscriber returns it.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithIDCheck sets the check a message's ID must pass before it is
// invalidated (default [tenant.ValidateID]); a message that fails it is
// counted in [Stats].Malformed and ignored. An API-key subscriber passes
// the key ID rule.
func WithIDCheck(check func(id string) error) Option {
	return func(c *config) {
		if check == nil {
			c.fail("WithIDCheck(nil)")
			return
		}
		c.check = check
	}
}

// WithErrorHandler sets a function called with each error that ends a
// subscription (a lost connection, a refused dial, an unanswered health
// check) before the Subscriber retries. It runs on the Subscriber's
// goroutine and must not block.
func WithErrorHandler(f func(error)) Option {
	return func(c *config) {
		if f == nil {
			c.fail("WithErrorHandler(nil)")
			return
		}
		c.onError = f
	}
}

// WithBackoff sets the wait before the first retry after a lost
// subscription and its upper bound (defaults [DefaultMinBackoff] and
// [DefaultMaxBackoff]); the wait doubles with each failure in a row.
func WithBackoff(lo, hi time.Duration) Option {
	return func(c *config) {
		if lo <= 0 || hi < lo {
			c.fail("WithBackoff(%v, %v): need 0 < min <= max", lo, hi)
			return
		}
		c.minBackoff, c.maxBackoff = lo, hi
	}
}

// WithHealthCheck sets how long the subscription may stay silent before the
// Subscriber pings Redis (default [DefaultHealthCheck]); a ping unanswered
// for as long again ends the subscription, which is then made anew.
func WithHealthCheck(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithHealthCheck(%v): the interval must be positive", d)
			return
		}
		c.health = d
	}
}

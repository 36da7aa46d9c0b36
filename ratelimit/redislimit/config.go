package redislimit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tenantkit/tenantkit/ratelimit"
)

// Defaults.
const (
	DefaultPrefix        = "tk:rl:"
	DefaultQuotaMargin   = time.Hour
	DefaultRetryInterval = 500 * time.Millisecond
)

// DefaultDecisionTimeout bounds one decision's time in Redis.
const DefaultDecisionTimeout = 250 * time.Millisecond

// ErrInvalidOption is wrapped by the error [New] returns for an option
// with an invalid value or a nil client; the message names the option or
// parameter. It matches [ratelimit.ErrInvalidOption] too.
var ErrInvalidOption error = invalidOption{}

type invalidOption struct{}

func (invalidOption) Error() string { return "redislimit: invalid option" }
func (invalidOption) Unwrap() error { return ratelimit.ErrInvalidOption }

// Option configures a [Limiter].
type Option func(*config)

type config struct {
	err           error // the first invalid option
	prefix        string
	margin        time.Duration
	retryInterval time.Duration
	timeout       time.Duration
	onError       func(ctx context.Context, err error)
	localOpts     []ratelimit.Option
}

func newConfig(opts []Option) config {
	c := config{
		prefix:        DefaultPrefix,
		margin:        DefaultQuotaMargin,
		retryInterval: DefaultRetryInterval,
		timeout:       DefaultDecisionTimeout,
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

// fail records the first invalid option; New returns it.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithPrefix sets the prefix of every Redis key (default [DefaultPrefix]),
// so that services sharing a Redis keep separate limits. It may not contain
// '{' or '}'.
func WithPrefix(prefix string) Option {
	return func(c *config) {
		if strings.ContainsAny(prefix, "{}") {
			// A brace would become the key's hash tag in Redis Cluster.
			c.fail("WithPrefix(%q): a prefix may not contain '{' or '}'", prefix)
			return
		}
		c.prefix = prefix
	}
}

// WithQuotaMargin sets how long a quota counter outlives its period
// (default [DefaultQuotaMargin], rounded to seconds). Counts are stamped
// with their period, so the margin never carries usage into the next
// period; it keeps the count when a failover lands on a node whose clock
// is slightly behind.
func WithQuotaMargin(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("WithQuotaMargin(%v): the margin may not be negative", d)
			return
		}
		c.margin = d
	}
}

// WithRetryInterval sets how long the limiter applies the failure policy
// without asking a Redis node after a node fault (a transport error, a
// timeout, or a node that is loading, read-only or down), before one
// request probes it again (default [DefaultRetryInterval]). Fail-closed
// decisions tell clients to retry after this interval, at least one second.
func WithRetryInterval(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithRetryInterval(%v): the interval must be positive", d)
			return
		}
		c.retryInterval = d
	}
}

// WithDecisionTimeout bounds how long one decision may wait for Redis
// (default [DefaultDecisionTimeout]); past it, the plan's failure policy
// applies. The bound holds whatever the client's own timeouts and retries
// are; a caller's earlier deadline still wins.
func WithDecisionTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithDecisionTimeout(%v): the timeout must be positive", d)
			return
		}
		c.timeout = d
	}
}

// WithErrorHandler sets a function called with every Redis failure, for
// example to count it. It runs on the request's goroutine and must be
// quick; f may not be nil. Decisions made while a node is skipped after a
// fault are not reported again; they carry Decision.Degraded.
func WithErrorHandler(f func(ctx context.Context, err error)) Option {
	return func(c *config) {
		if f == nil {
			c.fail("WithErrorHandler(nil)")
			return
		}
		c.onError = f
	}
}

// WithLocalOptions configures the in-process limiter used by plans that
// fall back to local limiting (ratelimit.FallbackLocal). [New] reports an
// invalid one as an error naming WithLocalOptions.
func WithLocalOptions(opts ...ratelimit.Option) Option {
	return func(c *config) { c.localOpts = append(c.localOpts, opts...) }
}

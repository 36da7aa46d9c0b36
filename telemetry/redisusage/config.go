package redisusage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/telemetry"
)

// Defaults.
const (
	// DefaultPrefix is the prefix of every Redis key.
	DefaultPrefix = "tk:usage:"
	// DefaultInterval is how often a [Flusher] sends its usage to Redis.
	DefaultInterval = 5 * time.Second
	// DefaultFlushTimeout bounds one flush, its retries included.
	DefaultFlushTimeout = 2 * time.Second
	// DefaultRetention is how long a period's usage stays in Redis after
	// the period ends, before it expires.
	DefaultRetention = 35 * 24 * time.Hour
	// DefaultMaxTenants is the fleet-wide bound on the tenants of one
	// period that get a row of their own in Redis.
	DefaultMaxTenants = 10_000
	// DefaultMaxClosedPeriods is how many closed periods a [Flusher] keeps
	// unconfirmed usage of, past the two the usage table holds.
	DefaultMaxClosedPeriods = 2
)

// maxAttempts bounds the tries of one flush.
const maxAttempts = 3

// firstBackoff is the wait before a flush's second try; it doubles.
const firstBackoff = 50 * time.Millisecond

// ErrInvalidOption is wrapped by the error [New] and [Read] return for an
// option with an invalid value, an option that does not apply, or a nil
// argument; the message names it. It matches [telemetry.ErrInvalidOption]
// too.
var ErrInvalidOption error = invalidOption{}

type invalidOption struct{}

func (invalidOption) Error() string { return "redisusage: invalid option" }
func (invalidOption) Unwrap() error { return telemetry.ErrInvalidOption }

// Option configures [New] or [Read]. Options that only make sense for a
// [Flusher] are errors given to Read.
type Option func(*config)

type config struct {
	forRead    bool
	err        error // the first invalid option
	prefix     string
	interval   time.Duration
	timeout    time.Duration
	retention  time.Duration
	maxTenants int
	maxClosed  int
	replica    string
	onError    func(ctx context.Context, err error)
	mp         metric.MeterProvider
}

func newConfig(forRead bool, opts []Option) config {
	c := config{
		forRead:    forRead,
		prefix:     DefaultPrefix,
		interval:   DefaultInterval,
		timeout:    DefaultFlushTimeout,
		retention:  DefaultRetention,
		maxTenants: DefaultMaxTenants,
		maxClosed:  DefaultMaxClosedPeriods,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	return c
}

// fail records the first invalid option.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// flusherOnly records an error when an option for New is given to Read.
func (c *config) flusherOnly(name string) bool {
	if c.forRead {
		c.fail("%s applies to New, not Read", name)
		return false
	}
	return true
}

// WithPrefix sets the prefix of every Redis key (default [DefaultPrefix]),
// so that services sharing a Redis keep separate usage. It may not contain
// '{' or '}'. Writers and readers of one usage must use the same prefix.
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

// WithMaxTenants sets the fleet-wide bound of tenants per period (default
// [DefaultMaxTenants]; n at least 1). A [Flusher] adds the usage of a
// tenant past it to [telemetry.OverflowTenantID]; [Read] refuses a period
// holding more.
func WithMaxTenants(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithMaxTenants(%d): the bound must be at least 1", n)
			return
		}
		c.maxTenants = n
	}
}

// WithInterval sets how often the Flusher sends its usage to Redis
// (default [DefaultInterval]; [New] only). A restart that skips
// [Flusher.Close] loses at most the usage of one interval. It must be
// positive and shorter than the usage table's period.
func WithInterval(d time.Duration) Option {
	return func(c *config) {
		if !c.flusherOnly("WithInterval") {
			return
		}
		if d <= 0 {
			c.fail("WithInterval(%v): the interval must be positive", d)
			return
		}
		c.interval = d
	}
}

// WithFlushTimeout bounds each periodic flush, its retries included
// (default [DefaultFlushTimeout]; [New] only). It must be positive.
func WithFlushTimeout(d time.Duration) Option {
	return func(c *config) {
		if !c.flusherOnly("WithFlushTimeout") {
			return
		}
		if d <= 0 {
			c.fail("WithFlushTimeout(%v): the timeout must be positive", d)
			return
		}
		c.timeout = d
	}
}

// WithRetention sets how long a period's usage stays in Redis after the
// period's end (default [DefaultRetention], rounded up to seconds; [New]
// only). It may not be negative.
func WithRetention(d time.Duration) Option {
	return func(c *config) {
		if !c.flusherOnly("WithRetention") {
			return
		}
		if d < 0 {
			c.fail("WithRetention(%v): the retention may not be negative", d)
			return
		}
		c.retention = d
	}
}

// WithMaxClosedPeriods sets how many closed periods that have left the
// usage table the Flusher keeps unconfirmed usage of while Redis does not
// answer (default [DefaultMaxClosedPeriods]; [New] only; n at least 0).
// Past it, the oldest period's unconfirmed usage is dropped, counted in
// [Stats].Dropped and reported as an error wrapping [ErrDropped].
func WithMaxClosedPeriods(n int) Option {
	return func(c *config) {
		if !c.flusherOnly("WithMaxClosedPeriods") {
			return
		}
		if n < 0 {
			c.fail("WithMaxClosedPeriods(%d): the bound may not be negative", n)
			return
		}
		c.maxClosed = n
	}
}

// WithReplicaID names the Flusher in Redis, where it keeps the sequence
// number of its last flush per period ([New] only). The default is a
// random ID made by New. A fixed one (a pod name) must be unique among the
// live replicas. A Flusher that takes over the ID of one that stopped
// starts its sequence numbers from its clock (in microseconds), above the
// earlier one's unless its clock is behind by more than the earlier one
// ran. It is 1 to 128 printable ASCII bytes.
func WithReplicaID(id string) Option {
	return func(c *config) {
		if !c.flusherOnly("WithReplicaID") {
			return
		}
		if id == "" || len(id) > 128 {
			c.fail("WithReplicaID: %d bytes; want 1 to 128", len(id))
			return
		}
		for i := 0; i < len(id); i++ {
			if id[i] <= ' ' || id[i] > '~' {
				c.fail("WithReplicaID: byte %d is %#x", i, id[i])
				return
			}
		}
		c.replica = id
	}
}

// WithErrorHandler sets a function called with every failed flush attempt
// and every drop (errors wrapping [ErrFlush] or [ErrDropped]); [New] only.
// It runs on the flushing goroutine and must be quick; f may not be nil.
func WithErrorHandler(f func(ctx context.Context, err error)) Option {
	return func(c *config) {
		if !c.flusherOnly("WithErrorHandler") {
			return
		}
		if f == nil {
			c.fail("WithErrorHandler(nil)")
			return
		}
		c.onError = f
	}
}

// WithMeterProvider sets the MeterProvider of the Flusher's instruments
// (see [FlushFailuresName]; [New] only). The default is the global
// provider, otel.GetMeterProvider(), as read when New runs.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if !c.flusherOnly("WithMeterProvider") {
			return
		}
		if nilarg.IsNil(mp) {
			c.fail("WithMeterProvider(nil)")
			return
		}
		c.mp = mp
	}
}

// Errors.
var (
	// ErrFlush is wrapped by the error of a flush that Redis did not
	// confirm; the usage stays buffered for the next flush.
	ErrFlush = errors.New("redisusage: flush failed")
	// ErrDropped is wrapped by the error reported when buffered usage is
	// given up: a closed period past [WithMaxClosedPeriods], or what
	// [Flusher.Close] could not flush before its context ended.
	ErrDropped = errors.New("redisusage: usage dropped")
	// ErrClosed is returned by [Flusher.Flush] after [Flusher.Close].
	ErrClosed = errors.New("redisusage: flusher closed")
	// ErrMalformed is wrapped by the error [Read] returns for a period
	// whose Redis hash holds a field or value no Flusher writes.
	ErrMalformed = errors.New("redisusage: malformed usage in Redis")
	// ErrTooManyTenants is wrapped by the error [Read] returns for a
	// period holding more tenants than its bound ([WithMaxTenants]).
	ErrTooManyTenants = errors.New("redisusage: period holds more tenants than the bound")
)

// DropError is the error wrapping [ErrDropped]: what was given up of one
// period.
type DropError struct {
	Start, End time.Time // the period
	Dropped    Totals
	Reason     string // "closed periods past the bound" or "not flushed before Close returned"
}

func (e *DropError) Error() string {
	return fmt.Sprintf("redisusage: usage dropped for period %s: %d requests, %v handler time, %d bytes in, %d bytes out (%s)",
		e.Start.UTC().Format(time.RFC3339), e.Dropped.Requests, e.Dropped.HandlerTime, e.Dropped.BytesIn, e.Dropped.BytesOut, e.Reason)
}

// Unwrap returns [ErrDropped].
func (e *DropError) Unwrap() error { return ErrDropped }

package telemetry

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// DefaultMaxTenants is the default cardinality bound: the number of tenants
// that get their own metric series ([NewMetrics]) or usage row ([NewUsage]).
const DefaultMaxTenants = 1000

// maxOverflowTiers bounds the overflow series: tenants past the bound keep
// their tier on the overflow series for up to this many distinct tiers; past
// it, the tier is folded into [OverflowTenantID] too.
const maxOverflowTiers = 64

// ScopeName is the instrumentation scope name of the meter tenantkit's
// instruments are created with.
const ScopeName = "github.com/tenantkit/tenantkit/telemetry"

// ErrInvalidOption is wrapped by the error [NewMetrics] and [NewUsage]
// return for an option with an invalid value; the message names the option.
var ErrInvalidOption = errors.New("telemetry: invalid option")

// Option configures [NewMetrics] or [NewUsage]. Each option says which of the
// two it applies to; the other ignores it. An invalid value (nil, a bound
// below 1, an empty period) makes the constructor fail with an error
// wrapping [ErrInvalidOption].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	err           error // the first invalid option
	meterProvider metric.MeterProvider
	maxTenants    int
	usage         *Usage
	period        Period
	now           func() time.Time
}

func newConfig(opts []Option) (config, error) {
	c := config{maxTenants: DefaultMaxTenants, period: Monthly, now: time.Now}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o.apply(&c)
	}
	if c.err == nil {
		// A period must contain the instant it is asked about.
		t := c.now()
		if start, end := c.period(t); !end.After(start) || t.Before(start) || !t.Before(end) {
			c.fail("WithPeriod: the period returned [%v, %v) for %v, which does not contain it", start, end, t)
		}
	}
	if c.err != nil {
		return config{}, c.err
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	return c, nil
}

// fail records the first invalid option; the constructor returns it.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithMeterProvider sets the MeterProvider the instruments are created from
// ([NewMetrics] and [NewUsage]). The default is the global provider,
// otel.GetMeterProvider(), as read when the constructor runs.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp == nil {
			c.fail("WithMeterProvider(nil)")
			return
		}
		c.meterProvider = mp
	})
}

// WithMaxTenants sets the cardinality bound ([NewMetrics] and [NewUsage]):
// at most n tenants get their own series or usage row, and every later
// tenant is folded into tenant.id [OverflowTenantID]. The default is
// [DefaultMaxTenants]; n must be at least 1.
func WithMaxTenants(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			c.fail("WithMaxTenants(%d): the bound must be at least 1", n)
			return
		}
		c.maxTenants = n
	})
}

// WithUsage makes [Metrics.RecordRequest] also meter the request in u
// ([NewMetrics] only), so that one call per request feeds both the metrics
// and the usage table.
func WithUsage(u *Usage) Option {
	return optionFunc(func(c *config) {
		if u == nil {
			c.fail("WithUsage(nil)")
			return
		}
		c.usage = u
	})
}

// WithPeriod sets the metering period of the usage table ([NewUsage] only).
// The default is [Monthly]. The period of an instant must contain it.
func WithPeriod(p Period) Option {
	return optionFunc(func(c *config) {
		if p == nil {
			c.fail("WithPeriod(nil)")
			return
		}
		c.period = p
	})
}

// WithClock sets the clock the usage table reads when a request carries no
// end time and when a snapshot is taken ([NewUsage] only). The default is
// time.Now; tests pass a fake.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now == nil {
			c.fail("WithClock(nil)")
			return
		}
		c.now = now
	})
}

package telemetry

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/tenantkit/tenantkit/internal/nilarg"
)

// nilName is "nil", or "a nil *T" for an interface holding a nil pointer.
func nilName(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("a nil %T", v)
}

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
// return for an option with an invalid value, or one that does not apply
// to the constructor; the message names the option.
var ErrInvalidOption = errors.New("telemetry: invalid option")

// Option configures [NewMetrics] or [NewUsage]. Each option says which of the
// two it applies to; given to the other, it is an error wrapping
// [ErrInvalidOption], as is an invalid value (nil, a bound below 1, an
// empty period).
type Option func(*config)

// The constructors an option may apply to.
const (
	forMetrics = "NewMetrics"
	forUsage   = "NewUsage"
)

type config struct {
	ctor          string // forMetrics or forUsage
	err           error  // the first invalid option
	meterProvider metric.MeterProvider
	maxTenants    int
	usage         *Usage
	period        UsagePeriod
	now           func() time.Time
}

func newConfig(ctor string, opts []Option) (config, error) {
	c := config{ctor: ctor, maxTenants: DefaultMaxTenants, period: CalendarMonth, now: time.Now}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	if c.err == nil && ctor == forUsage {
		// A period must contain the instant it is asked about.
		t := c.now()
		if start, end := c.period(t); !end.After(start) || t.Before(start) || !t.Before(end) {
			c.fail("WithUsagePeriod: the period returned [%v, %v) for %v, which does not contain it", start, end, t)
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

// only reports whether the option name applies to the constructor being
// configured, and records the error when it does not.
func (c *config) only(name, ctor string) bool {
	if c.ctor != ctor {
		c.fail("%s applies to %s, not %s", name, ctor, c.ctor)
		return false
	}
	return true
}

// WithMeterProvider sets the MeterProvider the instruments are created from
// ([NewMetrics] and [NewUsage]). The default is the global provider,
// otel.GetMeterProvider(), as read when the constructor runs.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if nilarg.IsNil(mp) {
			c.fail("WithMeterProvider(%s)", nilName(mp))
			return
		}
		c.meterProvider = mp
	}
}

// WithMaxTenants sets the cardinality bound ([NewMetrics] and [NewUsage]):
// at most n tenants get their own series or usage row, and every later
// tenant is folded into tenant.id [OverflowTenantID]. The default is
// [DefaultMaxTenants]; n must be at least 1.
func WithMaxTenants(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithMaxTenants(%d): the bound must be at least 1", n)
			return
		}
		c.maxTenants = n
	}
}

// WithUsage makes [Metrics.RecordRequest] also meter the request in u
// ([NewMetrics] only), so that one call per request feeds both the metrics
// and the usage table.
func WithUsage(u *Usage) Option {
	return func(c *config) {
		if !c.only("WithUsage", forMetrics) {
			return
		}
		if u == nil {
			c.fail("WithUsage(nil)")
			return
		}
		c.usage = u
	}
}

// WithUsagePeriod sets the metering period of the usage table ([NewUsage]
// only). The default is [CalendarMonth]. The period of an instant must
// contain it.
func WithUsagePeriod(p UsagePeriod) Option {
	return func(c *config) {
		if !c.only("WithUsagePeriod", forUsage) {
			return
		}
		if p == nil {
			c.fail("WithUsagePeriod(nil)")
			return
		}
		c.period = p
	}
}

// WithClock sets the clock the usage table reads when a request carries no
// end time and when a snapshot is taken ([NewUsage] only). The default is
// time.Now; tests pass a fake.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if !c.only("WithClock", forUsage) {
			return
		}
		if now == nil {
			c.fail("WithClock(nil)")
			return
		}
		c.now = now
	}
}

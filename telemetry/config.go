package telemetry

import (
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

// Option configures [NewMetrics] or [NewUsage]. Each option says which of the
// two it applies to; the other ignores it.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	meterProvider metric.MeterProvider
	maxTenants    int
	usage         *Usage
	period        Period
	now           func() time.Time
}

func newConfig(opts []Option) config {
	c := config{maxTenants: DefaultMaxTenants, period: Monthly, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	return c
}

// WithMeterProvider sets the MeterProvider the instruments are created from
// ([NewMetrics] and [NewUsage]). The default is the global provider,
// otel.GetMeterProvider(), as read when the constructor runs.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.meterProvider = mp
		}
	})
}

// WithMaxTenants sets the cardinality bound ([NewMetrics] and [NewUsage]):
// at most n tenants get their own series or usage row, and every later
// tenant is folded into tenant.id [OverflowTenantID]. Values below 1 leave
// the default, [DefaultMaxTenants].
func WithMaxTenants(n int) Option {
	return optionFunc(func(c *config) {
		if n >= 1 {
			c.maxTenants = n
		}
	})
}

// WithUsage makes [Metrics.RecordRequest] also meter the request in u
// ([NewMetrics] only), so that one call per request feeds both the metrics
// and the usage table.
func WithUsage(u *Usage) Option {
	return optionFunc(func(c *config) { c.usage = u })
}

// WithPeriod sets the metering period of the usage table ([NewUsage] only).
// The default is [Monthly].
func WithPeriod(p Period) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.period = p
		}
	})
}

// WithClock sets the clock the usage table reads when a request carries no
// end time and when a snapshot is taken ([NewUsage] only). The default is
// time.Now; tests pass a fake.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

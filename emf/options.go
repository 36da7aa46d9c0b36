package emf

import (
	"fmt"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// Option configures an [Exporter].
type Option func(*config)

// Defaults.
const (
	// DefaultMaxTiers is how many distinct tenant.tier values the exporter
	// keeps as dimension values; later tiers are written as
	// telemetry.OverflowTenantID.
	DefaultMaxTiers = 16
	// DefaultMaxPropertyLength bounds a string property, in bytes.
	DefaultMaxPropertyLength = 1024
)

type config struct {
	topTenants    int
	tiers         map[string]bool // tiers whose tenants are dimensions
	traffic       string
	dimensions    []string // dimension keys besides tenant.tier and tenant.id
	tierDimension bool
	resolution    int
	maxEventSize  int
	maxTiers      int
	maxProperty   int
	report        func(Report)
	err           error
}

func newConfig(opts []Option) (config, error) {
	c := config{
		traffic:       telemetry.RequestsName,
		dimensions:    []string{string(telemetry.OutcomeKey), string(telemetry.ReasonKey)},
		tierDimension: true,
		resolution:    60,
		maxEventSize:  MaxEventSize,
		maxTiers:      DefaultMaxTiers,
		maxProperty:   DefaultMaxPropertyLength,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	// tenant.tier and tenant.id take two of a set's dimensions.
	if len(c.dimensions)+2 > MaxDimensionsPerSet {
		c.fail("WithDimensions: %d keys; at most %d fit a dimension set beside tenant.tier and tenant.id", len(c.dimensions), MaxDimensionsPerSet-2)
	}
	return c, c.err
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithTopTenants makes tenant.id a dimension, in each export, for the n
// tenants with the most traffic in that export's interval (the sum of the
// [WithTrafficMetric] metric; ties go to the smaller ID). Other tenants'
// IDs are properties. Default 0: no tenant is a dimension by traffic.
func WithTopTenants(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.fail("WithTopTenants(%d): a negative count", n)
			return
		}
		c.topTenants = n
	}
}

// WithTenantTiers makes tenant.id a dimension for every tenant of the
// named tiers (for example the few enterprise tenants whose dashboards and
// alarms need their own metrics). Tier names are checked as tenantkit
// checks a token's tier.
func WithTenantTiers(tiers ...string) Option {
	return func(c *config) {
		for _, t := range tiers {
			if err := tenant.ValidateTier(t); err != nil || t == "" {
				c.fail("WithTenantTiers(%q): not a valid tier", t)
				return
			}
			if c.tiers == nil {
				c.tiers = map[string]bool{}
			}
			c.tiers[t] = true
		}
	}
}

// WithTrafficMetric names the metric whose per-tenant sum ranks tenants
// for [WithTopTenants]. Default telemetry.RequestsName.
func WithTrafficMetric(name string) Option {
	return func(c *config) {
		if name == "" {
			c.fail("WithTrafficMetric: an empty name")
			return
		}
		c.traffic = name
	}
}

// WithDimensions sets the attribute keys, besides tenant.tier and
// tenant.id, that are dimensions when a data point has them; every other
// attribute is a property. Keys must come from small fixed sets of values,
// as each distinct value is a billed metric. Default "outcome" and
// "reason" (telemetry.OutcomeKey and telemetry.ReasonKey); at most 28.
func WithDimensions(keys ...string) Option {
	return func(c *config) {
		seen := map[string]bool{}
		for _, k := range keys {
			switch {
			case k == "" || len(k) > MaxDimensionNameLength || sanitizeName(k, MaxDimensionNameLength, true) != k:
				c.fail("WithDimensions(%q): not a valid dimension name", k)
				return
			case k == string(telemetry.TenantIDKey) || k == string(telemetry.TenantTierKey):
				c.fail("WithDimensions(%q): tenant.id and tenant.tier have their own options", k)
				return
			case seen[k]:
				c.fail("WithDimensions(%q): listed twice", k)
				return
			}
			seen[k] = true
		}
		c.dimensions = append([]string(nil), keys...)
	}
}

// WithTierDimension says whether tenant.tier is a dimension (default
// true). Tiers are few; past [DefaultMaxTiers] (see [WithMaxTiers]) they
// fold into one value.
func WithTierDimension(on bool) Option {
	return func(c *config) { c.tierDimension = on }
}

// WithMaxTiers bounds the distinct tenant.tier dimension values over the
// exporter's life. Default [DefaultMaxTiers].
func WithMaxTiers(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithMaxTiers(%d): at least 1", n)
			return
		}
		c.maxTiers = n
	}
}

// WithStorageResolution sets the StorageResolution of every metric: 60
// (standard, the default, which the exporter leaves implicit) or 1 (high
// resolution, billed more; useful only with an export interval under a
// minute).
func WithStorageResolution(seconds int) Option {
	return func(c *config) {
		if seconds != 1 && seconds != 60 {
			c.fail("WithStorageResolution(%d): 1 or 60", seconds)
			return
		}
		c.resolution = seconds
	}
}

// WithMaxEventSize lowers the size bound of a document, in bytes, from
// [MaxEventSize] (for a log pipeline with a smaller event limit). At least
// 4,096.
func WithMaxEventSize(n int) Option {
	return func(c *config) {
		if n < 4096 || n > MaxEventSize {
			c.fail("WithMaxEventSize(%d): between 4096 and %d", n, MaxEventSize)
			return
		}
		c.maxEventSize = n
	}
}

// WithMaxPropertyLength bounds the bytes of a string property; longer
// values are cut at a character boundary. Default
// [DefaultMaxPropertyLength].
func WithMaxPropertyLength(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithMaxPropertyLength(%d): at least 1", n)
			return
		}
		c.maxProperty = n
	}
}

// WithReportHandler calls f after every export with what it wrote and what
// it had to split, change or drop. f runs on the exporting goroutine.
func WithReportHandler(f func(Report)) Option {
	return func(c *config) {
		if f == nil {
			c.fail("WithReportHandler: a nil function")
			return
		}
		c.report = f
	}
}

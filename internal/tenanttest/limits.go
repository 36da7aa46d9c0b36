package tenanttest

import (
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/ratelimit"
)

// Local is ratelimit.NewLocal for tests whose options are valid.
func Local(tb testing.TB, opts ...ratelimit.Option) *ratelimit.Local {
	tb.Helper()
	l, err := ratelimit.NewLocal(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// FixedLocal is a Local whose clock stands at noon on a mid-month day, so
// that no quota period ends during the test.
func FixedLocal(tb testing.TB, opts ...ratelimit.Option) *ratelimit.Local {
	tb.Helper()
	noon := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	return Local(tb, append(opts, ratelimit.WithClock(func() time.Time { return noon }))...)
}

// TierPlans has two tiers whose quotas have different periods ("trial", 5
// a day; "free", 5 a month), and a default plan without a quota for
// untenanted keys.
func TierPlans(tb testing.TB) *ratelimit.Plans {
	tb.Helper()
	ps, err := ratelimit.NewPlans(
		ratelimit.Plan{Rate: ratelimit.PerMinute(10), Burst: 2},
		map[string]ratelimit.Plan{
			"trial": {Rate: ratelimit.PerSecond(1000), Burst: 1000, Quota: ratelimit.Daily(5)},
			"free":  {Rate: ratelimit.PerSecond(1000), Burst: 1000, Quota: ratelimit.Monthly(5)},
		})
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

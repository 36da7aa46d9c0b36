package ratelimit

import (
	"testing"
	"time"
)

// Alternating a key between two plans whose quotas have different periods
// must not reset either count: each period's counter lives on its own.
func TestPlanAlternationKeepsEveryQuota(t *testing.T) {
	clk := newFakeClock()
	l := mustLocal(t, WithClock(clk.Now))
	trial := MustPlan(Plan{Name: "trial", Rate: PerSecond(1000), Burst: 1000, Quota: Daily(5)})
	free := MustPlan(Plan{Name: "free", Rate: PerSecond(1000), Burst: 1000, Quota: Monthly(5)})
	for range 5 {
		if d := take(t, l, "acme", free, 1); !d.Allowed {
			t.Fatalf("free quota: %+v", d)
		}
	}
	allowed := 0
	for i := range 40 {
		p := trial
		if i%2 == 1 {
			p = free
		}
		if take(t, l, "acme", p, 1).Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("alternating plans allowed %d of 40, want 5 (trial's day)", allowed)
	}
	// The next day: trial's day quota is back, free's month is still spent.
	clk.Advance(24 * time.Hour)
	allowed = 0
	for i := range 40 {
		p := trial
		if i%2 == 1 {
			p = free
		}
		if take(t, l, "acme", p, 1).Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("the next day, alternating plans allowed %d of 40, want 5", allowed)
	}
}

// An upgrade within a period kind keeps the count; a downgrade back is
// denied. One rate bucket follows the plan without a refill.
func TestPlanUpgradeKeepsCount(t *testing.T) {
	clk := newFakeClock()
	l := mustLocal(t, WithClock(clk.Now))
	free := MustPlan(Plan{Name: "free", Rate: PerSecond(1), Burst: 10, Quota: Monthly(5)})
	pro := MustPlan(Plan{Name: "pro", Rate: PerSecond(100), Burst: 100, Quota: Monthly(1000)})
	take(t, l, "acme", free, 5)
	if d := take(t, l, "acme", free, 1); d.Allowed || d.DeniedBy != ReasonQuota {
		t.Fatalf("free spent: %+v", d)
	}
	d := take(t, l, "acme", pro, 1)
	if !d.Allowed || d.QuotaRemaining != 994 || d.Remaining != 4 {
		t.Fatalf("upgrade: %+v (want 994 quota left and no refill of the rate bucket)", d)
	}
	if d := take(t, l, "acme", free, 1); d.Allowed || d.DeniedBy != ReasonQuota || d.QuotaRemaining != 0 {
		t.Fatalf("downgrade back: %+v", d)
	}
}

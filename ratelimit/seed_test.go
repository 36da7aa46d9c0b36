package ratelimit

import (
	"errors"
	"testing"
	"time"
)

func TestSeedQuota(t *testing.T) {
	clk := newFakeClock() // 2026-03-10 12:00 UTC
	l := mustLocal(t, WithClock(clk.Now))
	p := MustPlan(Plan{Name: "pro", Rate: PerSecond(100), Burst: 100, Quota: Monthly(100), OnBackendFailure: FallbackLocal(0.5)})
	f := p.fallback
	if f.Quota.Period != p.Quota.Period || !f.Quota.Anchor.Equal(p.Quota.Anchor) || f.qkind != p.qkind || f.Quota.Limit != 50 {
		t.Fatalf("fallback quota %v does not share the period kind of %v", f.Quota, p.Quota)
	}
	_, end := p.Quota.Bounds(clk.Now())

	if err := l.seedQuota("acme", &Plan{Name: "raw"}, 1, end); !errors.Is(err, ErrInvalidPlan) {
		t.Errorf("unvalidated plan: %v", err)
	}
	if err := l.seedQuota("", f, 1, end); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("empty key: %v", err)
	}
	rateOnly := MustPlan(Plan{Name: "r", Rate: PerSecond(1), Burst: 1})
	if err := l.seedQuota("acme", rateOnly, 10, end); err != nil || l.Len() != 0 {
		t.Errorf("plan without quota: %v, %d keys", err, l.Len())
	}
	// Not the current period: nothing.
	if err := l.seedQuota("acme", f, 40, utc(2026, 3, 1, 0, 0, 0)); err != nil || l.Len() != 0 {
		t.Errorf("past period: %v, %d keys", err, l.Len())
	}

	if err := l.seedQuota("acme", f, 40, end); err != nil {
		t.Fatal(err)
	}
	if d := take(t, l, "acme", f, 1); !d.Allowed || d.QuotaRemaining != 9 || !d.QuotaReset.Equal(end) {
		t.Fatalf("after seeding 40 of 50: %+v", d)
	}
	// A lower count leaves the limiter's own.
	if err := l.seedQuota("acme", f, 10, end); err != nil {
		t.Fatal(err)
	}
	if d := take(t, l, "acme", f, 1); d.QuotaRemaining != 8 {
		t.Fatalf("a lower seed lowered the count: %+v", d)
	}
	// A higher one raises it; the key's rate bucket is untouched.
	if err := l.seedQuota("acme", f, 50, end); err != nil {
		t.Fatal(err)
	}
	if d := take(t, l, "acme", f, 1); d.Allowed || d.DeniedBy != ReasonQuota || d.Remaining != 48 {
		t.Fatalf("after seeding the whole quota: %+v", d)
	}
	// The seeded count is the one p's period kind shares.
	if d := take(t, l, "acme", p, 1); !d.Allowed || d.QuotaRemaining != 49 {
		t.Fatalf("the full plan after the fallback: %+v", d)
	}
	// The next period starts afresh.
	clk.Set(end)
	if d := take(t, l, "acme", f, 1); !d.Allowed || d.QuotaRemaining != 49 {
		t.Fatalf("next period: %+v", d)
	}

	// An anchored quota: the period end is the anchored one.
	ap := MustPlan(Plan{Name: "billing", Rate: PerSecond(10), Burst: 10,
		Quota: Monthly(10).AnchoredAt(utc(2025, 1, 15, 6, 0, 0)), OnBackendFailure: FallbackLocal(1)})
	af := ap.fallback
	if af.qkind != ap.qkind {
		t.Fatal("the fallback of an anchored plan has another period kind")
	}
	_, aend := ap.Quota.Bounds(clk.Now())
	if err := l.seedQuota("globex", af, 7, aend.Add(-time.Second)); err != nil || l.seedQuota("globex", af, 7, aend) != nil {
		t.Fatal("seed failed")
	}
	if d := take(t, l, "globex", ap, 1); d.QuotaRemaining != 2 {
		t.Fatalf("anchored seed: %+v", d)
	}
}

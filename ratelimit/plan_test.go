package ratelimit

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { goleakMain(m) }

func TestNewPlanRejects(t *testing.T) {
	ok := Plan{Name: "free", Rate: PerMinute(100), Burst: 20}
	cases := []struct {
		name  string
		edit  func(p *Plan)
		field string
		says  string
	}{
		{"empty name", func(p *Plan) { p.Name = "" }, "Name", "empty"},
		{"bad name", func(p *Plan) { p.Name = "free tier" }, "Name", "byte 4"},
		{"name starts with dash", func(p *Plan) { p.Name = "-free" }, "Name", "start"},
		{"no rate", func(p *Plan) { p.Rate = Rate{} }, "Rate", "PerMinute"},
		{"zero N", func(p *Plan) { p.Rate = Rate{N: 0, Period: time.Second} }, "Rate", "at least 1"},
		{"negative N", func(p *Plan) { p.Rate = PerSecond(-3) }, "Rate", "at least 1"},
		{"zero period", func(p *Plan) { p.Rate = Rate{N: 5} }, "Rate", "positive"},
		{"too fast", func(p *Plan) { p.Rate = PerSecond(2_000_000) }, "Rate", "faster"},
		{"zero burst", func(p *Plan) { p.Burst = 0 }, "Burst", "at once"},
		{"negative burst", func(p *Plan) { p.Burst = -1 }, "Burst", "at least 1"},
		{"huge burst", func(p *Plan) { p.Burst = maxBurst + 1 }, "Burst", "maximum"},
		{"slow refill", func(p *Plan) { p.Rate = PerHour(1); p.Burst = 1 << 29 }, "Burst", "ten years"},
		{"negative in-flight", func(p *Plan) { p.InFlight = -1 }, "InFlight", "positive"},
		{"quota without period", func(p *Plan) { p.Quota = Quota{Limit: 10} }, "Quota", "Daily"},
		{"quota bad period", func(p *Plan) { p.Quota = Quota{Limit: 10, Period: Period(9)} }, "Quota", "Period(9)"},
		{"quota zero limit", func(p *Plan) { p.Quota = Monthly(0) }, "Quota", "at least 1"},
		{"quota huge", func(p *Plan) { p.Quota = Daily(1 << 60) }, "Quota", "maximum"},
		{"anchor without limit", func(p *Plan) { p.Quota = Quota{Anchor: time.Now()} }, "Quota", "Daily"},
		{"anchor too early", func(p *Plan) { p.Quota = Monthly(5).AnchoredAt(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)) }, "Quota", "1970"},
		{"share without fallback", func(p *Plan) { p.OnBackendFailure = FailurePolicy{Mode: FailureOpen, Share: 0.5} }, "OnBackendFailure", "only to FallbackLocal"},
		{"fallback share zero", func(p *Plan) { p.OnBackendFailure = FallbackLocal(0) }, "OnBackendFailure", "(0, 1]"},
		{"fallback share above one", func(p *Plan) { p.OnBackendFailure = FallbackLocal(1.5) }, "OnBackendFailure", "(0, 1]"},
		{"unknown mode", func(p *Plan) { p.OnBackendFailure = FailurePolicy{Mode: 7} }, "OnBackendFailure", "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ok
			c.edit(&p)
			got, err := NewPlan(p)
			if err == nil {
				t.Fatalf("NewPlan accepted %+v", got)
			}
			if !errors.Is(err, ErrInvalidPlan) {
				t.Errorf("error %v does not wrap ErrInvalidPlan", err)
			}
			var pe *PlanError
			if !errors.As(err, &pe) || pe.Field != c.field {
				t.Errorf("error %v: want field %s", err, c.field)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
		})
	}
}

func TestNewPlanAccepts(t *testing.T) {
	p, err := NewPlan(Plan{
		Name: "free", Rate: PerMinute(100), Burst: 20,
		Quota:            Monthly(10_000).AnchoredAt(time.Date(2026, 1, 31, 12, 30, 15, 999, time.FixedZone("x", 3600))),
		InFlight:         4,
		OnBackendFailure: FallbackLocal(0.25),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Ready() {
		t.Fatal("plan not ready")
	}
	if a, ok := p.anchor, p.anchored; !ok || a != time.Date(2026, 1, 31, 11, 30, 15, 0, time.UTC).Unix() {
		t.Errorf("anchor = %d, %v: want UTC, whole seconds", a, ok)
	}
	if got, want := p.String(), "free: 100 per 1m0s, burst 20, quota 10000/month from 2026-01-31T11:30:15Z, in flight 4"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	f := p.fallback
	if f == nil || !f.Ready() {
		t.Fatal("no fallback plan")
	}
	if f.Rate.N != 100 || f.Rate.Period != 4*time.Minute || f.Burst != 5 || f.Quota.Limit != 2500 || f.InFlight != 0 {
		t.Errorf("fallback plan = %v, want a quarter of the rate, burst and quota and no in-flight cap", f)
	}
	if f.Quota.Anchor != p.Quota.Anchor {
		t.Errorf("fallback anchor %v != %v", f.Quota.Anchor, p.Quota.Anchor)
	}
	if (&Plan{}).Ready() || (*Plan)(nil).Ready() {
		t.Error("an unvalidated plan reports ready")
	}
	if MustPlan(Plan{Name: "x", Rate: PerSecond(1), Burst: 1}).fallback != nil {
		t.Error("fail-closed plan has a fallback")
	}
}

func TestFallbackNeverZero(t *testing.T) {
	p := MustPlan(Plan{Name: "tiny", Rate: PerSecond(1), Burst: 1, Quota: Daily(1), OnBackendFailure: FallbackLocal(0.01)})
	f := p.fallback
	if f.Burst != 1 || f.Quota.Limit != 1 {
		t.Errorf("fallback %v: burst and quota must stay at least 1", f)
	}
}

func TestMustPlanPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustPlan did not panic")
		}
	}()
	MustPlan(Plan{Name: "x"})
}

func TestPlans(t *testing.T) {
	ps, err := NewPlans(
		Plan{Rate: PerMinute(10), Burst: 5},
		map[string]Plan{
			"free":       {Rate: PerMinute(100), Burst: 20, Quota: Monthly(10_000)},
			"enterprise": {Name: "ent", Rate: PerMinute(10_000), Burst: 1000},
		})
	if err != nil {
		t.Fatal(err)
	}
	if got := ps.Default().Name; got != "default" {
		t.Errorf("default name = %q", got)
	}
	if got := ps.For("free").Name; got != "free" {
		t.Errorf("free name = %q", got)
	}
	if got := ps.For("enterprise").Name; got != "ent" {
		t.Errorf("enterprise keeps its own name, got %q", got)
	}
	for _, tier := range []string{"", "gold", "FREE"} {
		if ps.For(tier) != ps.Default() {
			t.Errorf("tier %q did not get the default plan", tier)
		}
		if _, ok := ps.Lookup(tier); ok {
			t.Errorf("Lookup(%q) found a plan", tier)
		}
	}
	if p, ok := ps.Lookup("free"); !ok || p != ps.For("free") {
		t.Error("Lookup(free) failed")
	}
}

func TestPlansRejects(t *testing.T) {
	good := Plan{Rate: PerMinute(1), Burst: 1}
	if _, err := NewPlans(Plan{}, nil); !errors.Is(err, ErrInvalidPlan) || !strings.Contains(err.Error(), `"default"`) {
		t.Errorf("missing default plan: %v", err)
	}
	if _, err := NewPlans(good, map[string]Plan{"free": {Rate: PerMinute(1)}}); !errors.Is(err, ErrInvalidPlan) || !strings.Contains(err.Error(), `tier "free"`) {
		t.Errorf("bad tier plan: %v", err)
	}
	if _, err := NewPlans(good, map[string]Plan{"a b": good}); !errors.Is(err, ErrInvalidPlan) {
		t.Errorf("bad tier name: %v", err)
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{PerMinute(100).String(), "100/1m0s"},
		{Daily(5).String(), "5/day"},
		{Weekly(5).String(), "5/week"},
		{Quota{}.String(), "none"},
		{Period(8).String(), "Period(8)"},
		{NoPeriod.String(), "none"},
		{ReasonRate.String(), "rate"},
		{ReasonQuota.String(), "quota"},
		{ReasonInFlight.String(), "in-flight"},
		{ReasonUnavailable.String(), "unavailable"},
		{ReasonNone.String(), ""},
		{Reason(42).String(), "Reason(42)"},
		{FailureClosed.String(), "closed"},
		{FailureOpen.String(), "open"},
		{FailureLocal.String(), "local"},
		{FailureMode(9).String(), "FailureMode(9)"},
		{(*Plan)(nil).String(), "<nil plan>"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if PerSecond(4).Interval() != 250*time.Millisecond || (Rate{}).Interval() != 0 || (Rate{}).Limit() != 0 {
		t.Error("Interval/Limit wrong")
	}
	if PerHour(3600).Limit() != 1 {
		t.Error("PerHour(3600) is not 1/s")
	}
	if Per(3, 3*time.Second).Limit() != 1 {
		t.Error("Per(3, 3s) is not 1/s")
	}
	if FailClosed() != (FailurePolicy{}) {
		t.Error("FailClosed is not the zero policy")
	}
	if Month.NominalSeconds() != 30*86400 || Week.NominalSeconds() != 7*86400 || Day.NominalSeconds() != 86400 || NoPeriod.NominalSeconds() != 0 {
		t.Error("NominalSeconds wrong")
	}
}

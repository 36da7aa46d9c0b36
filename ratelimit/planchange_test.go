package ratelimit

import (
	"errors"
	"strconv"
	"testing"
	"time"
	"unsafe"
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

// A key holds spent quota for at most MaxQuotaPeriods period kinds; one more
// fails with ErrCapacity rather than forget any, and a counter whose period
// has ended is reused.
func TestQuotaPeriodKindsBounded(t *testing.T) {
	clk := newFakeClock() // Tuesday 2026-03-10 12:00 UTC
	l := mustLocal(t, WithClock(clk.Now))
	plans := []*Plan{
		MustPlan(Plan{Name: "d", Rate: PerSecond(100), Burst: 100, Quota: Daily(10)}),
		MustPlan(Plan{Name: "w", Rate: PerSecond(100), Burst: 100, Quota: Weekly(10)}),
		MustPlan(Plan{Name: "m", Rate: PerSecond(100), Burst: 100, Quota: Monthly(10)}),
		MustPlan(Plan{Name: "a", Rate: PerSecond(100), Burst: 100, Quota: Daily(10).AnchoredAt(utc(2026, 1, 1, 18, 0, 0))}),
	}
	for _, p := range plans {
		take(t, l, "acme", p, 1)
	}
	fifth := MustPlan(Plan{Name: "b", Rate: PerSecond(100), Burst: 100, Quota: Monthly(10).AnchoredAt(utc(2026, 1, 20, 0, 0, 0))})
	d, err := l.Take(ctx, "acme", fifth, 1)
	if !errors.Is(err, ErrCapacity) || !errors.Is(err, ErrUnavailable) || d.Allowed || d.RetryAfter != 6*time.Hour {
		t.Fatalf("a fifth period kind: %+v, %v (want ErrCapacity until the anchored day ends at 18:00)", d, err)
	}
	for _, p := range plans {
		if d := take(t, l, "acme", p, 1); d.QuotaRemaining != 8 {
			t.Fatalf("plan %s: %+v", p.Name, d)
		}
	}
	clk.Advance(6 * time.Hour) // the anchored day ends
	if d := take(t, l, "acme", fifth, 1); !d.Allowed || d.QuotaRemaining != 9 {
		t.Fatalf("after a period ended: %+v", d)
	}
	if d := take(t, l, "acme", plans[2], 1); d.QuotaRemaining != 7 {
		t.Fatalf("monthly: %+v", d)
	}
}

// Alternating plans costs no allocation once the key has seen both.
func TestPlanAlternationZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	clk := newFakeClock()
	l := mustLocal(t, WithClock(clk.Now))
	a := MustPlan(Plan{Name: "a", Rate: PerSecond(1000), Burst: 10, Quota: Daily(1 << 40)})
	b := MustPlan(Plan{Name: "b", Rate: PerSecond(2000), Burst: 20, Quota: Monthly(1 << 40)})
	take(t, l, "acme", a, 1)
	take(t, l, "acme", b, 1)
	n := testing.AllocsPerRun(1000, func() {
		clk.Advance(time.Millisecond)
		l.Take(ctx, "acme", a, 1)
		l.Take(ctx, "acme", b, 1)
	})
	if n != 0 {
		t.Errorf("%v allocs per pair of decisions", n)
	}
}

// A growth sweep that empties a shard (and drops its map) before a new key
// is inserted must leave a map to insert into.
func TestGrowthSweepThatEmptiesTheShard(t *testing.T) {
	clk := newFakeClock()
	l := mustLocal(t, WithClock(clk.Now), WithSweepInterval(time.Hour), withShards(1))
	p := MustPlan(Plan{Name: "p", Rate: PerSecond(1000), Burst: 10})
	for i := range minSweepAt {
		take(t, l, "k"+strconv.Itoa(i), p, 1)
	}
	clk.Advance(time.Second) // every key is idle
	if d := take(t, l, "new", p, 1); !d.Allowed || l.Len() != 1 {
		t.Fatalf("%+v, %d keys", d, l.Len())
	}
}

// The bucket is what every key pays for; BenchmarkBucketMemory's per-tenant
// budget depends on it staying within two cache lines.
func TestBucketSize(t *testing.T) {
	// One line: 64 bytes on 64-bit platforms, less on 32-bit ones.
	if n := unsafe.Sizeof(bucket{}); n > 64 || unsafe.Sizeof(uintptr(0)) == 8 && n != 64 {
		t.Errorf("bucket is %d bytes, want 64", n)
	}
}

// extraLen returns the number of buckets with further counters, across
// shards.
func extraLen(l *Local) int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		if s.rare != nil {
			n += len(s.rare.extra)
		}
		s.mu.Unlock()
	}
	return n
}

// A key's further counters live in its shard's extra map only while the key
// is tracked: a sweep or an eviction that forgets the key removes them.
func TestExtraCountersForgottenWithTheKey(t *testing.T) {
	clk := newFakeClock() // 2026-03-10 12:00 UTC
	l := mustLocal(t, WithClock(clk.Now), WithSweepInterval(time.Hour), WithMaxKeys(8), withShards(1))
	daily := MustPlan(Plan{Name: "d", Rate: PerSecond(100), Burst: 100, Quota: Daily(10)})
	monthly := MustPlan(Plan{Name: "m", Rate: PerSecond(100), Burst: 100, Quota: Monthly(10)})
	for i := range 4 {
		k := "k" + strconv.Itoa(i)
		take(t, l, k, daily, 1)
		if d := take(t, l, k, monthly, 2); d.QuotaRemaining != 8 {
			t.Fatalf("%s monthly: %+v", k, d)
		}
	}
	take(t, l, "plain", daily, 1)
	if n := extraLen(l); n != 4 {
		t.Fatalf("%d buckets with further counters, want 4", n)
	}
	// seedQuota reaches a further counter too.
	_, end := monthly.Quota.Bounds(clk.Now())
	if err := l.seedQuota("k0", monthly, 5, end); err != nil {
		t.Fatal(err)
	}
	if d := take(t, l, "k0", monthly, 1); d.QuotaRemaining != 4 || !d.QuotaReset.Equal(end) {
		t.Fatalf("seeded: %+v", d)
	}
	if d := take(t, l, "k0", daily, 1); d.QuotaRemaining != 8 {
		t.Fatalf("daily after seeding the monthly counter: %+v", d)
	}

	// The day ends, the month does not: every key still holds quota.
	clk.Set(utc(2026, 3, 11, 0, 0, 1))
	l.Sweep()
	if l.Len() != 4 || extraLen(l) != 4 {
		t.Fatalf("after the day: %d keys, %d with further counters", l.Len(), extraLen(l))
	}
	// The month ends: a sweep forgets every key and its further counters.
	clk.Set(utc(2026, 4, 1, 0, 0, 1))
	l.Sweep()
	if l.Len() != 0 || extraLen(l) != 0 {
		t.Fatalf("after the month: %d keys, %d with further counters", l.Len(), extraLen(l))
	}
	if r := l.shards[0].rare; r != nil && r.extra != nil {
		t.Fatal("the empty extra map was kept")
	}

	// Eviction: fill the bound with keys holding further counters whose
	// periods then end while their rate buckets are still refilling, so
	// that only an eviction (not a sweep) forgets them.
	burst := MustPlan(Plan{Name: "b", Rate: PerSecond(1), Burst: 100, Quota: Daily(10)})
	burstA := MustPlan(Plan{Name: "ba", Rate: PerSecond(1), Burst: 100, Quota: Daily(10).AnchoredAt(utc(2026, 1, 1, 23, 59, 59))})
	clk.Set(utc(2026, 4, 1, 23, 59, 58))
	for i := range 8 {
		k := "e" + strconv.Itoa(i)
		take(t, l, k, burst, 1)
		take(t, l, k, burstA, 1)
	}
	if n := extraLen(l); n != 8 {
		t.Fatalf("%d buckets with further counters, want 8", n)
	}
	clk.Set(utc(2026, 4, 2, 0, 0, 1)) // both periods over, 3s of a 100s refill
	for i := range 8 {
		take(t, l, "n"+strconv.Itoa(i), burst, 1)
	}
	if l.Len() != 8 || l.Evicted() != 8 || extraLen(l) != 0 {
		t.Fatalf("after eviction: %d keys, %d evicted, %d with further counters", l.Len(), l.Evicted(), extraLen(l))
	}
}

// Anchors that give the same periods name the same kind of period, in Local
// and in the shared backend (which stores counts under the quota kind): plans
// that differ only in such an anchor share one count.
func TestEquivalentAnchorsShareOneCount(t *testing.T) {
	plan := func(q Quota) *Plan {
		return MustPlan(Plan{Name: "p", Rate: PerSecond(1000), Burst: 1000, Quota: q})
	}
	for _, c := range []struct {
		name string
		a, b Quota
		kind string
	}{
		{"day", Daily(10), Daily(10).AnchoredAt(utc(2020, 7, 4, 0, 0, 0)), "d0"},
		{"day anchored", Daily(10).AnchoredAt(utc(2026, 1, 1, 18, 0, 0)), Daily(10).AnchoredAt(utc(1999, 5, 2, 18, 0, 0)), "d64800"},
		{"week", Weekly(10), Weekly(10).AnchoredAt(utc(2026, 3, 2, 0, 0, 0)), "w0"}, // a Monday
		{"month", Monthly(10), Monthly(10).AnchoredAt(utc(2025, 2, 1, 0, 0, 0)), "m1:0"},
		{"month anchored", Monthly(10).AnchoredAt(utc(2025, 1, 15, 6, 0, 0)), Monthly(10).AnchoredAt(utc(2026, 3, 15, 6, 0, 0)), "m15:21600"},
	} {
		a, b := plan(c.a), plan(c.b)
		if a.qname != c.kind || b.qname != c.kind || a.qkind != b.qkind {
			t.Errorf("%s: kinds %q (%d) and %q (%d), want %q for both", c.name, a.qname, a.qkind, b.qname, b.qkind, c.kind)
			continue
		}
		l := mustLocal(t, WithClock(newFakeClock().Now))
		take(t, l, "acme", a, 6)
		if d := take(t, l, "acme", b, 1); d.QuotaRemaining != 3 {
			t.Errorf("%s: %+v, want the 6 spent under the other anchor to count", c.name, d)
		}
	}
	if d, w := plan(Daily(10)), plan(Daily(10).AnchoredAt(utc(2026, 1, 1, 0, 0, 1))); d.qkind == w.qkind || d.qname == w.qname {
		t.Errorf("daily plans a second apart share kind %q", d.qname)
	}
	if d, w := plan(Daily(10)), plan(Weekly(10)); d.qkind == w.qkind || d.qname == w.qname {
		t.Errorf("a daily and a weekly plan share kind %q", d.qname)
	}
}

package telemetry_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/telemetry"
)

// fakeClock is a settable clock for the usage table.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestUsagePeriods(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	u, err := telemetry.NewUsage(telemetry.WithMeterProvider(mp), telemetry.WithClock(clock.Now), telemetry.WithMaxTenants(2))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()

	rec := func(id, tier string, d time.Duration, in, out int64, end time.Time) {
		u.Record(mustTenant(t, id, tier), telemetry.Request{Duration: d, RequestBytes: in, ResponseBytes: out, End: end})
	}
	rec("acme", "pro", time.Second, 10, 100, time.Time{}) // clock time: November
	rec("acme", "pro", 2*time.Second, 20, 200, time.Date(2026, 11, 30, 23, 59, 30, 0, time.UTC))
	rec("beta", "free", time.Second, 1, 1, time.Time{})
	rec("gamma", "free", time.Second, 5, 5, time.Time{}) // past the bound of 2
	rec("delta", "pro", time.Second, 5, 5, time.Time{})

	nov := u.Current()
	if !nov.Start.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !nov.End.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("period %v - %v", nov.Start, nov.End)
	}
	want := []telemetry.TenantUsage{
		{TenantID: "_other", Requests: 2, HandlerTime: 2 * time.Second, BytesIn: 10, BytesOut: 10},
		{TenantID: "acme", Tier: "pro", Requests: 2, HandlerTime: 3 * time.Second, BytesIn: 30, BytesOut: 300},
		{TenantID: "beta", Tier: "free", Requests: 1, HandlerTime: time.Second, BytesIn: 1, BytesOut: 1},
	}
	if fmt.Sprint(nov.Tenants) != fmt.Sprint(want) {
		t.Errorf("November:\n got %+v\nwant %+v", nov.Tenants, want)
	}
	if _, ok := u.Previous(); ok {
		t.Error("a previous period before any closed")
	}

	// Export: one series per tenant and period.
	got := collect(t, reader)
	reqs := got[telemetry.UsageRequestsName].Data.(metricdata.Sum[int64])
	if !reqs.IsMonotonic || len(reqs.DataPoints) != 3 {
		t.Fatalf("usage requests export: %+v", reqs)
	}
	for _, dp := range reqs.DataPoints {
		if p := attrString(dp.Attributes, telemetry.UsagePeriodKey); p != "2026-11-01T00:00:00Z" {
			t.Errorf("period attribute %q", p)
		}
	}
	ht := got[telemetry.UsageHandlerTimeName].Data.(metricdata.Sum[float64])
	for _, dp := range ht.DataPoints {
		if attrString(dp.Attributes, telemetry.TenantIDKey) == "acme" && dp.Value != 3 {
			t.Errorf("acme handler seconds exported %v", dp.Value)
		}
	}

	// December: a request ending after midnight starts a new period; the
	// table is empty again, so the bound admits new tenants.
	clock.Set(time.Date(2026, 12, 1, 0, 0, 1, 0, time.UTC))
	rec("gamma", "free", time.Second, 1, 2, time.Time{})
	dec := u.Current()
	if !dec.Start.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || len(dec.Tenants) != 1 || dec.Tenants[0].TenantID != "gamma" {
		t.Errorf("December: %+v", dec)
	}
	prev, ok := u.Previous()
	if !ok || fmt.Sprint(prev.Tenants) != fmt.Sprint(want) {
		t.Errorf("previous = %+v, %v", prev, ok)
	}
	// Both periods are exported, each as its own series.
	periods := map[string]int{}
	for _, dp := range collect(t, reader)[telemetry.UsageRequestsName].Data.(metricdata.Sum[int64]).DataPoints {
		periods[attrString(dp.Attributes, telemetry.UsagePeriodKey)]++
	}
	if periods["2026-11-01T00:00:00Z"] != 3 || periods["2026-12-01T00:00:00Z"] != 1 {
		t.Errorf("exported periods = %v", periods)
	}

	// A snapshot alone moves to the next period when the clock passed it.
	clock.Set(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if jan := u.Current(); len(jan.Tenants) != 0 || jan.Start.Month() != time.January {
		t.Errorf("January: %+v", jan)
	}
	if prev, _ := u.Previous(); prev.Start.Month() != time.December {
		t.Errorf("previous after January: %v", prev.Start)
	}
}

func TestUsageTierChange(t *testing.T) {
	u, err := telemetry.NewUsage()
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Record(mustTenant(t, "acme", "free"), telemetry.Request{})
	u.Record(mustTenant(t, "acme", "pro"), telemetry.Request{})
	if s := u.Current().Tenants; len(s) != 1 || s[0].Tier != "pro" || s[0].Requests != 2 {
		t.Errorf("usage = %+v", s)
	}
}

func TestPeriods(t *testing.T) {
	at := time.Date(2026, 2, 14, 15, 30, 0, 0, time.FixedZone("X", 3600))
	for _, tc := range []struct {
		name       string
		p          telemetry.UsagePeriod
		start, end time.Time
	}{
		{"monthly", telemetry.CalendarMonth, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"daily", telemetry.CalendarDay, time.Date(2026, 2, 14, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC)},
		{"hourly", telemetry.Every(time.Hour), time.Date(2026, 2, 14, 14, 0, 0, 0, time.UTC), time.Date(2026, 2, 14, 15, 0, 0, 0, time.UTC)},
	} {
		s, e := tc.p(at)
		if !s.Equal(tc.start) || !e.Equal(tc.end) {
			t.Errorf("%s: %v - %v, want %v - %v", tc.name, s, e, tc.start, tc.end)
		}
	}
}

func TestUsageConcurrent(t *testing.T) {
	u, err := telemetry.NewUsage(telemetry.WithMaxTenants(10))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				u.Record(mustTenant(t, fmt.Sprintf("t%d", (i+w)%50), "pro"), telemetry.Request{Duration: time.Millisecond, RequestBytes: 1})
				if i%100 == 0 {
					u.Current()
				}
			}
		}()
	}
	wg.Wait()
	var reqs, in int64
	rows := u.Current().Tenants
	for _, r := range rows {
		reqs += r.Requests
		in += r.BytesIn
	}
	if reqs != 2000 || in != 2000 || len(rows) != 11 {
		t.Errorf("%d rows, %d requests, %d bytes", len(rows), reqs, in)
	}
}

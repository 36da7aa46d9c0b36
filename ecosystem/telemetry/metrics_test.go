package telemetry_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/ecosystem/internal/metrictest"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

func collect(t testing.TB, r sdkmetric.Reader) map[string]metricdata.Metrics {
	return metrictest.Collect(t, r)
}

func attrString(s attribute.Set, k attribute.Key) string { return metrictest.Attr(s, k) }

// sumByTenant adds up an int64 sum's data points per tenant.id.
func sumByTenant(t testing.TB, m metricdata.Metrics) map[string]int64 {
	return metrictest.Sums(t, m, func(s attribute.Set) string { return attrString(s, telemetry.TenantIDKey) })
}

func newReaderMetrics(t testing.TB, opts ...telemetry.Option) (*telemetry.Metrics, *sdkmetric.ManualReader) {
	t.Helper()
	reader, mp := metrictest.Provider(t)
	m, err := telemetry.NewMetrics(append([]telemetry.Option{telemetry.WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m, reader
}

func TestMetricsRecordRequest(t *testing.T) {
	m, reader := newReaderMetrics(t)
	ctx := context.Background()
	acme := mustTenant(t, "acme", "pro")
	m.RecordRequest(ctx, acme, telemetry.Request{Duration: 250 * time.Millisecond, RequestBytes: 100, ResponseBytes: 2000})
	m.RecordRequest(ctx, acme, telemetry.Request{Duration: 50 * time.Millisecond, RequestBytes: 10, Outcome: telemetry.OutcomeRateLimited})
	m.RecordRequest(ctx, tenant.Tenant{}, telemetry.Request{Duration: time.Millisecond})

	got := collect(t, reader)
	req := got[telemetry.RequestsName].Data.(metricdata.Sum[int64])
	if !req.IsMonotonic || len(req.DataPoints) != 3 {
		t.Fatalf("requests: %+v", req)
	}
	seen := map[string]int64{}
	for _, dp := range req.DataPoints {
		key := attrString(dp.Attributes, telemetry.TenantIDKey) + "/" + attrString(dp.Attributes, telemetry.TenantTierKey) + "/" + attrString(dp.Attributes, telemetry.OutcomeKey)
		seen[key] = dp.Value
	}
	want := map[string]int64{"acme/pro/ok": 1, "acme/pro/rate_limited": 1, "//ok": 1}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("requests by series = %v, want %v", seen, want)
	}
	if b := sumByTenant(t, got[telemetry.RequestSizeName]); b["acme"] != 110 {
		t.Errorf("request bytes = %v", b)
	}
	if b := sumByTenant(t, got[telemetry.ResponseSizeName]); b["acme"] != 2000 {
		t.Errorf("response bytes = %v", b)
	}
	dur := got[telemetry.DurationName]
	if dur.Unit != "s" {
		t.Errorf("duration unit %q", dur.Unit)
	}
	var total float64
	for _, dp := range dur.Data.(metricdata.Histogram[float64]).DataPoints {
		if attrString(dp.Attributes, telemetry.TenantIDKey) == "acme" {
			total += dp.Sum
		}
	}
	if total < 0.2999 || total > 0.3001 {
		t.Errorf("acme handler seconds = %v, want 0.3", total)
	}
}

// TestMetricsCardinalityGuard records 5,000 tenants into a guard of 1,000:
// exactly 1,000 tenants get their own series, the other 4,000 are folded
// into tenant.id "_other" (by tier), and no request is lost. Every tenant
// shows all four outcomes, which the SDK keeps apart with the limit of
// SDKCardinalityLimit.
func TestMetricsCardinalityGuard(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
		sdkmetric.WithCardinalityLimit(telemetry.SDKCardinalityLimit(telemetry.DefaultMaxTenants)))
	defer mp.Shutdown(context.Background())
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const tenants = 5000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < tenants; i += 4 {
				tn := mustTenant(t, fmt.Sprintf("t%04d", i), []string{"basic", "pro"}[i%2])
				m.RecordRequest(ctx, tn, telemetry.Request{Duration: time.Millisecond, RequestBytes: 1, Outcome: telemetry.Outcome(i % 4)})
				m.RecordRequest(ctx, tn, telemetry.Request{Duration: time.Millisecond, RequestBytes: 1, Outcome: telemetry.Outcome((i + 1) % 4)})
				m.RecordRateLimit(ctx, tn, "allowed", "rate")
			}
		}()
	}
	wg.Wait()

	got := collect(t, reader)
	reqs := got[telemetry.RequestsName].Data.(metricdata.Sum[int64])
	for _, dp := range reqs.DataPoints {
		if _, ok := dp.Attributes.Value("otel.metric.overflow"); ok {
			t.Fatalf("the SDK folded %d requests into its overflow series", dp.Value)
		}
	}
	if len(reqs.DataPoints) > telemetry.SDKCardinalityLimit(telemetry.DefaultMaxTenants) {
		t.Errorf("%d request series", len(reqs.DataPoints))
	}
	byTenant := sumByTenant(t, got[telemetry.RequestsName])
	if n := len(byTenant); n != telemetry.DefaultMaxTenants+1 {
		t.Errorf("distinct tenant.id values = %d, want %d", n, telemetry.DefaultMaxTenants+1)
	}
	if byTenant[telemetry.OverflowTenantID] != 2*(tenants-telemetry.DefaultMaxTenants) {
		t.Errorf("overflow requests = %d, want %d", byTenant[telemetry.OverflowTenantID], 2*(tenants-telemetry.DefaultMaxTenants))
	}
	var total int64
	for id, n := range byTenant {
		total += n
		if id != telemetry.OverflowTenantID && n != 2 {
			t.Errorf("tenant %s: %d requests, want 2", id, n)
		}
	}
	if total != 2*tenants {
		t.Errorf("total requests %d, want %d", total, 2*tenants)
	}
	// The overflow keeps the tier apart: one series per tier.
	overflowTiers := map[string]bool{}
	for _, dp := range got[telemetry.RequestsName].Data.(metricdata.Sum[int64]).DataPoints {
		if attrString(dp.Attributes, telemetry.TenantIDKey) == telemetry.OverflowTenantID {
			overflowTiers[attrString(dp.Attributes, telemetry.TenantTierKey)] = true
		}
	}
	if len(overflowTiers) != 2 || !overflowTiers["basic"] || !overflowTiers["pro"] {
		t.Errorf("overflow tiers = %v", overflowTiers)
	}
	if d := sumByTenant(t, got[telemetry.RateLimitDecisionsName]); len(d) != telemetry.DefaultMaxTenants+1 || d[telemetry.OverflowTenantID] != tenants-telemetry.DefaultMaxTenants {
		t.Errorf("rate-limit decisions: %d tenant values, overflow %d", len(d), d[telemetry.OverflowTenantID])
	}
	// An admitted tenant stays admitted.
	m.RecordRequest(ctx, mustTenant(t, "t0000", "pro"), telemetry.Request{})
	if a := m.TenantAttributes(tenant.NewContext(ctx, mustTenant(t, "t9999", "pro"))); attrValue(a, telemetry.TenantIDKey) != telemetry.OverflowTenantID {
		t.Errorf("late tenant attrs = %v", a)
	}
}

func attrValue(kvs []attribute.KeyValue, k attribute.Key) string {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv.Value.AsString()
		}
	}
	return ""
}

// TestSDKDefaultLimitFolds shows why SDKCardinalityLimit exists: with the
// SDK's default limit of 2,000, a thousand tenants with three outcomes each
// lose their series to otel.metric.overflow.
func TestSDKDefaultLimitFolds(t *testing.T) {
	m, reader := newReaderMetrics(t)
	for i := range 1000 {
		tn := mustTenant(t, fmt.Sprintf("t%d", i), "")
		for o := range 3 {
			m.RecordRequest(context.Background(), tn, telemetry.Request{Outcome: telemetry.Outcome(o)})
		}
	}
	folded := false
	for _, dp := range collect(t, reader)[telemetry.RequestsName].Data.(metricdata.Sum[int64]).DataPoints {
		_, ok := dp.Attributes.Value("otel.metric.overflow")
		folded = folded || ok
	}
	if !folded {
		t.Error("the SDK's default limit no longer folds 3,000 series; revisit SDKCardinalityLimit's doc")
	}
	if telemetry.SDKCardinalityLimit(0) != 4264 || telemetry.SDKCardinalityLimit(10) != 304 {
		t.Errorf("SDKCardinalityLimit = %d, %d", telemetry.SDKCardinalityLimit(0), telemetry.SDKCardinalityLimit(10))
	}
}

func TestMetricsMaxTenantsAndTierChange(t *testing.T) {
	m, reader := newReaderMetrics(t, telemetry.WithMaxTenants(2))
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c", "d"} {
		m.RecordRequest(ctx, mustTenant(t, id, "free"), telemetry.Request{})
	}
	// a upgrades: its series moves to the new tier without taking a slot.
	m.RecordRequest(ctx, mustTenant(t, "a", "pro"), telemetry.Request{})
	m.RecordRequest(ctx, mustTenant(t, "e", ""), telemetry.Request{})

	series := map[string]int64{}
	for _, dp := range collect(t, reader)[telemetry.RequestsName].Data.(metricdata.Sum[int64]).DataPoints {
		series[attrString(dp.Attributes, telemetry.TenantIDKey)+"/"+attrString(dp.Attributes, telemetry.TenantTierKey)] += dp.Value
	}
	want := map[string]int64{"a/free": 1, "a/pro": 1, "b/free": 1, "_other/free": 2, "_other/": 1}
	if fmt.Sprint(series) != fmt.Sprint(want) {
		t.Errorf("series = %v, want %v", series, want)
	}
	if a := m.TenantAttributes(ctx); a != nil {
		t.Errorf("attrs without a tenant = %v", a)
	}
	a := m.TenantAttributes(tenant.NewContext(ctx, mustTenant(t, "b", "free")))
	if len(a) != 2 || attrValue(a, telemetry.TenantIDKey) != "b" || attrValue(a, telemetry.TenantTierKey) != "free" {
		t.Errorf("attrs = %v", a)
	}
}

func TestMetricsRateLimit(t *testing.T) {
	m, reader := newReaderMetrics(t)
	ctx := context.Background()
	acme := mustTenant(t, "acme", "pro")
	m.RecordRateLimit(ctx, acme, "allowed", "")
	m.RecordRateLimit(ctx, acme, "denied", "quota")
	m.RecordRateLimit(ctx, acme, "denied", "quota")
	// More distinct pairs than the table keeps apart fold into _other.
	for i := range 20 {
		m.RecordRateLimit(ctx, acme, "denied", fmt.Sprintf("r%d", i))
	}
	m.RecordRateLimitBackendError(ctx, acme, "fail_open")

	got := collect(t, reader)
	pairs := map[string]int64{}
	for _, dp := range got[telemetry.RateLimitDecisionsName].Data.(metricdata.Sum[int64]).DataPoints {
		if attrString(dp.Attributes, telemetry.TenantIDKey) != "acme" {
			t.Errorf("tenant %v", dp.Attributes)
		}
		pairs[attrString(dp.Attributes, telemetry.OutcomeKey)+"/"+attrString(dp.Attributes, telemetry.ReasonKey)] += dp.Value
	}
	if pairs["allowed/"] != 1 || pairs["denied/quota"] != 2 || pairs["_other/_other"] != 20-13 || len(pairs) != 16 {
		t.Errorf("decision pairs = %v", pairs)
	}
	errs := got[telemetry.RateLimitBackendErrorsName].Data.(metricdata.Sum[int64]).DataPoints
	if len(errs) != 1 || errs[0].Value != 1 || attrString(errs[0].Attributes, telemetry.OutcomeKey) != "fail_open" {
		t.Errorf("backend errors = %+v", errs)
	}
	if _, ok := errs[0].Attributes.Value(telemetry.ReasonKey); ok {
		t.Error("backend errors carry a reason")
	}
}

func TestMetricsWithUsage(t *testing.T) {
	now := time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
	u, err := telemetry.NewUsage(telemetry.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	m, _ := newReaderMetrics(t, telemetry.WithUsage(u))
	m.RecordRequest(context.Background(), mustTenant(t, "acme", "pro"), telemetry.Request{Duration: time.Second, RequestBytes: 3, ResponseBytes: 4})
	m.RecordRequest(context.Background(), tenant.Tenant{}, telemetry.Request{Duration: time.Second})
	snap := u.Current()
	if len(snap.Tenants) != 1 || snap.Tenants[0] != (telemetry.TenantUsage{TenantID: "acme", Tier: "pro", Requests: 1, HandlerTime: time.Second, BytesIn: 3, BytesOut: 4}) {
		t.Errorf("usage = %+v", snap.Tenants)
	}
}

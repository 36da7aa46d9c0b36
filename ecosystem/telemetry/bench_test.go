package telemetry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// BenchmarkMetrics records one request (four instruments) with the SDK and
// a manual reader that is never collected. "sdk-direct" is the four
// instrument calls a request once made, with a prebuilt attribute set and
// no tenantkit code; "sdk-floor" is the least a request can cost the SDK,
// one counter Add and one histogram Record with a prebuilt attribute set,
// and "sdk-floor-1000" the same rotating over 1,000 prebuilt sets.
// "admitted" is a tenant inside the bound, "admitted-1000" rotates over
// 1,000 admitted tenants, "overflow" is one past the bound, "usage" adds
// the usage table, "ratelimit" is one rate-limit decision.
func BenchmarkMetrics(b *testing.B) {
	ctx := context.Background()
	newMP := func(b *testing.B) *sdkmetric.MeterProvider {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { _ = mp.Shutdown(ctx) })
		return mp
	}
	req := telemetry.Request{Duration: 3 * time.Millisecond, RequestBytes: 512, ResponseBytes: 4096}

	b.Run("sdk-direct", func(b *testing.B) {
		meter := newMP(b).Meter("bench")
		c1, _ := meter.Int64Counter("a")
		h, _ := meter.Float64Histogram("b")
		c2, _ := meter.Int64Counter("c")
		c3, _ := meter.Int64Counter("d")
		opt := metric.WithAttributeSet(attribute.NewSet(telemetry.TenantIDKey.String("acme"), telemetry.TenantTierKey.String("pro"), telemetry.OutcomeKey.String("ok")))
		add, rec := []metric.AddOption{opt}, []metric.RecordOption{opt}
		b.ReportAllocs()
		for b.Loop() {
			c1.Add(ctx, 1, add...)
			h.Record(ctx, req.Duration.Seconds(), rec...)
			c2.Add(ctx, req.RequestBytes, add...)
			c3.Add(ctx, req.ResponseBytes, add...)
		}
	})
	b.Run("sdk-floor", func(b *testing.B) {
		meter := newMP(b).Meter("bench")
		c, _ := meter.Int64Counter("a")
		h, _ := meter.Float64Histogram("b")
		opt := metric.WithAttributeSet(attribute.NewSet(telemetry.TenantIDKey.String("acme"), telemetry.TenantTierKey.String("pro"), telemetry.OutcomeKey.String("ok")))
		add, rec := []metric.AddOption{opt}, []metric.RecordOption{opt}
		b.ReportAllocs()
		for b.Loop() {
			c.Add(ctx, 1, add...)
			h.Record(ctx, req.Duration.Seconds(), rec...)
		}
	})
	b.Run("sdk-floor-1000", func(b *testing.B) {
		meter := newMP(b).Meter("bench")
		c, _ := meter.Int64Counter("a")
		h, _ := meter.Float64Histogram("b")
		type opts struct {
			add []metric.AddOption
			rec []metric.RecordOption
		}
		sets := make([]opts, 1000)
		for i := range sets {
			opt := metric.WithAttributeSet(attribute.NewSet(telemetry.TenantIDKey.String(fmt.Sprintf("t%d", i)), telemetry.TenantTierKey.String("pro"), telemetry.OutcomeKey.String("ok")))
			sets[i] = opts{[]metric.AddOption{opt}, []metric.RecordOption{opt}}
			c.Add(ctx, 1, sets[i].add...) // the SDK's series exist before the run
			h.Record(ctx, req.Duration.Seconds(), sets[i].rec...)
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			c.Add(ctx, 1, sets[i].add...)
			h.Record(ctx, req.Duration.Seconds(), sets[i].rec...)
			if i++; i == len(sets) {
				i = 0
			}
		}
	})
	run := func(name string, opts []telemetry.Option, f func(m *telemetry.Metrics, t tenant.Tenant)) {
		b.Run(name, func(b *testing.B) {
			mp := newMP(b)
			m, err := telemetry.NewMetrics(append([]telemetry.Option{telemetry.WithMeterProvider(mp), telemetry.WithMaxTenants(1000)}, opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			for i := range 1000 { // fill the bound
				m.RecordRequest(ctx, mustTenant(b, fmt.Sprintf("t%d", i), "pro"), req)
			}
			t := mustTenant(b, "t500", "pro")
			if name == "overflow" {
				t = mustTenant(b, "late", "pro")
			}
			b.ReportAllocs()
			for b.Loop() {
				f(m, t)
			}
		})
	}
	record := func(m *telemetry.Metrics, t tenant.Tenant) { m.RecordRequest(ctx, t, req) }
	run("admitted", nil, record)
	mix := make([]tenant.Tenant, 1000)
	for i := range mix {
		mix[i] = mustTenant(b, fmt.Sprintf("t%d", i), "pro")
	}
	next := 0
	run("admitted-1000", nil, func(m *telemetry.Metrics, _ tenant.Tenant) {
		m.RecordRequest(ctx, mix[next], req)
		if next++; next == len(mix) {
			next = 0
		}
	})
	run("overflow", nil, record)
	u, err := telemetry.NewUsage(telemetry.WithMeterProvider(newMP(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	withEnd := func(m *telemetry.Metrics, t tenant.Tenant) {
		r := req
		r.End = time.Now()
		m.RecordRequest(ctx, t, r)
	}
	run("usage", []telemetry.Option{telemetry.WithUsage(u)}, withEnd)
	run("ratelimit", nil, func(m *telemetry.Metrics, t tenant.Tenant) { m.RecordRateLimit(ctx, t, "allowed", "rate") })
}

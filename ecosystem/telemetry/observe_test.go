package telemetry_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/ecosystem/internal/metrictest"
	"github.com/tenantkit/tenantkit/telemetry"
)

// seriesValues returns an int64 sum's data points by
// tenant.id/tenant.tier/outcome, failing on a repeated series.
func seriesValues(t testing.TB, m metricdata.Metrics) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		k := attrString(dp.Attributes, telemetry.TenantIDKey) + "/" + attrString(dp.Attributes, telemetry.TenantTierKey) + "/" + attrString(dp.Attributes, telemetry.OutcomeKey)
		if _, dup := out[k]; dup {
			t.Errorf("%s: series %s exported twice", m.Name, k)
		}
		out[k] = dp.Value
	}
	return out
}

// The request counters are counted by tenantkit and reported at collection:
// what many goroutines recorded at once is all there, in cumulative,
// monotonic sums of the documented names and units, with the overflow
// series, and a second collection reports the same totals plus what came
// after the first.
func TestMetricsCountsUnderConcurrency(t *testing.T) {
	m, reader := newReaderMetrics(t, telemetry.WithMaxTenants(8))
	ctx := context.Background()
	const workers, perWorker, tenants = 8, 500, 12 // 4 tenants past the bound
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				tn := mustTenant(t, fmt.Sprintf("t%02d", (w+i)%tenants), "pro")
				m.RecordRequest(ctx, tn, telemetry.Request{Duration: time.Millisecond, RequestBytes: 3, ResponseBytes: 5, Outcome: telemetry.Outcome(i % 2)})
			}
		}()
	}
	// Collections race with the recording, as a periodic reader's would.
	for range 5 {
		_ = collect(t, reader)
	}
	wg.Wait()
	got := collect(t, reader)
	for name, unit := range map[string]string{telemetry.RequestsName: "{request}", telemetry.RequestSizeName: "By", telemetry.ResponseSizeName: "By"} {
		sum := got[name].Data.(metricdata.Sum[int64])
		if got[name].Unit != unit || !sum.IsMonotonic || sum.Temporality != metricdata.CumulativeTemporality {
			t.Errorf("%s: unit %q, monotonic %v, temporality %v", name, got[name].Unit, sum.IsMonotonic, sum.Temporality)
		}
	}
	reqs := seriesValues(t, got[telemetry.RequestsName])
	var total, overflow int64
	for k, n := range reqs {
		total += n
		if k[:len(telemetry.OverflowTenantID)] == telemetry.OverflowTenantID {
			overflow += n
		}
	}
	if total != workers*perWorker {
		t.Errorf("requests %d, want %d (%v)", total, workers*perWorker, reqs)
	}
	if overflow == 0 || len(reqs) != 2*(8+1) {
		t.Errorf("%d series, overflow %d: %v", len(reqs), overflow, reqs)
	}
	if b := sumByTenant(t, got[telemetry.RequestSizeName]); sumAll(b) != 3*workers*perWorker {
		t.Errorf("request bytes %v", b)
	}
	if b := sumByTenant(t, got[telemetry.ResponseSizeName]); sumAll(b) != 5*workers*perWorker {
		t.Errorf("response bytes %v", b)
	}
	var hist uint64
	for _, dp := range got[telemetry.DurationName].Data.(metricdata.Histogram[float64]).DataPoints {
		hist += dp.Count
	}
	if hist != workers*perWorker {
		t.Errorf("duration count %d", hist)
	}
	// One more request of a tenant with a series of its own: which eight
	// tenants won one depends on the goroutines' order.
	var own string
	for k := range reqs {
		if !strings.HasPrefix(k, telemetry.OverflowTenantID) && strings.HasSuffix(k, "/pro/ok") {
			own = k
			break
		}
	}
	m.RecordRequest(ctx, mustTenant(t, strings.TrimSuffix(own, "/pro/ok"), "pro"), telemetry.Request{})
	again := seriesValues(t, collect(t, reader)[telemetry.RequestsName])
	if again[own] != reqs[own]+1 {
		t.Errorf("%s after one more: %d, before %d", own, again[own], reqs[own])
	}
}

func sumAll(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// A tenant that changes tier and back goes on counting in its first
// series; the series of the other tier keeps its count; an outcome never
// recorded exports no series.
func TestMetricsTierChangeBack(t *testing.T) {
	m, reader := newReaderMetrics(t)
	ctx := context.Background()
	for _, tier := range []string{"free", "pro", "free", "pro", "free"} {
		m.RecordRequest(ctx, mustTenant(t, "acme", tier), telemetry.Request{RequestBytes: 1})
	}
	got := collect(t, reader)
	want := map[string]int64{"acme/free/ok": 3, "acme/pro/ok": 2}
	if s := seriesValues(t, got[telemetry.RequestsName]); fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("requests = %v, want %v", s, want)
	}
	if s := seriesValues(t, got[telemetry.RequestSizeName]); fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("request bytes = %v, want %v", s, want)
	}
}

// Two Metrics on one MeterProvider add up, as two users of one
// synchronous counter did.
func TestMetricsTwoOnOneProvider(t *testing.T) {
	reader, mp := metrictest.Provider(t)
	ctx := context.Background()
	for range 2 {
		m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
		if err != nil {
			t.Fatal(err)
		}
		m.RecordRequest(ctx, mustTenant(t, "acme", "pro"), telemetry.Request{ResponseBytes: 7})
	}
	got := collect(t, reader)
	if s := seriesValues(t, got[telemetry.RequestsName]); s["acme/pro/ok"] != 2 || len(s) != 1 {
		t.Errorf("requests = %v", s)
	}
	if s := seriesValues(t, got[telemetry.ResponseSizeName]); s["acme/pro/ok"] != 14 {
		t.Errorf("response bytes = %v", s)
	}
}

// With delta temporality (the OTLP exporters' option) each collection
// reports what was recorded since the one before; an idle series reports 0
// (the doc's rule for async counters).
func TestMetricsDeltaTemporality(t *testing.T) {
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
		return metricdata.DeltaTemporality
	}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acme := mustTenant(t, "acme", "pro")
	for _, n := range []int{3, 2, 0} {
		for range n {
			m.RecordRequest(ctx, acme, telemetry.Request{})
		}
		sum := collect(t, reader)[telemetry.RequestsName].Data.(metricdata.Sum[int64])
		if sum.Temporality != metricdata.DeltaTemporality || len(sum.DataPoints) != 1 || sum.DataPoints[0].Value != int64(n) {
			t.Errorf("after %d more: %+v", n, sum)
		}
	}
}

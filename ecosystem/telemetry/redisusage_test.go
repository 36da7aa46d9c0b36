package telemetry_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/telemetry/redisusage"
)

// TestFlusherInstruments: with Redis unreachable, the Flusher's
// instruments report the failed attempts, the usage still buffered and,
// once a closed period passes the bound, the requests dropped.
func TestFlusherInstruments(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1,
		DialTimeout: 100 * time.Millisecond, ContextTimeoutEnabled: true})
	defer client.Close()

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	clock := &fakeClock{now: time.Date(2026, 11, 15, 9, 1, 0, 0, time.UTC)}
	u, err := telemetry.NewUsage(telemetry.WithClock(clock.Now), telemetry.WithUsagePeriod(telemetry.Every(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	f, err := redisusage.New(client, u, redisusage.WithMeterProvider(mp), redisusage.WithInterval(time.Minute),
		redisusage.WithMaxClosedPeriods(0))
	if err != nil {
		t.Fatal(err)
	}
	acme := mustTenant(t, "acme", "pro")
	for p, n := range []int{3, 5, 7} { // requests in three hours
		clock.Set(time.Date(2026, 11, 15, 9+p, 1, 0, 0, time.UTC))
		for range n {
			u.Record(acme, telemetry.Request{Duration: time.Millisecond})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := f.Flush(ctx); err == nil {
			t.Fatal("a flush to a closed port succeeded")
		}
		cancel()
	}
	got := collectFlusher(t, reader)
	want := map[string]int64{
		redisusage.FlushFailuresName:     int64(f.Stats().Failures),
		redisusage.DroppedRequestsName:   3,     // the first hour, past the bound of no closed period
		redisusage.UnflushedRequestsName: 5 + 7, // the usage table's two hours
	}
	if f.Stats().Failures < 3 {
		t.Fatalf("stats %+v", f.Stats())
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %d, want %d", name, got[name], v)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = f.Close(ctx)
	if got := collectFlusher(t, reader); len(got) != 0 {
		t.Errorf("instruments still reported after Close: %v", got)
	}
}

// collectFlusher returns the Flusher's instruments' values.
func collectFlusher(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int64)
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != redisusage.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] = p.Value
				}
			}
		}
	}
	return out
}

package telemetry_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// Wrap the handler of the process's logger; log with the request context.
// The tenant stays at the top level even inside a group.
func ExampleNewLogHandler() {
	base := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // drop the time so the output is stable
			}
			return a
		},
	})
	logger := slog.New(telemetry.NewLogHandler(base))

	acme, _ := tenant.New("acme", "pro")
	ctx := tenant.NewContext(context.Background(), acme)
	logger.InfoContext(ctx, "order placed", "order", 42)
	logger.WithGroup("db").InfoContext(ctx, "slow query", "ms", 950)
	logger.Info("no tenant here")
	// Output:
	// level=INFO msg="order placed" order=42 tenant.id=acme tenant.tier=pro
	// level=INFO msg="slow query" db.ms=950 tenant.id=acme tenant.tier=pro
	// level=INFO msg="no tenant here"
}

// Record the per-tenant metrics of a request on the global MeterProvider
// (the one otel.SetMeterProvider installed). Tenants past the bound share
// the tenant.id "_other".
func ExampleNewMetrics() {
	m, err := telemetry.NewMetrics(telemetry.WithMaxTenants(2))
	if err != nil {
		panic(err)
	}
	acme, _ := tenant.New("acme", "pro")
	m.RecordRequest(context.Background(), acme, telemetry.Request{Duration: 20 * time.Millisecond})
}

// Meter usage per period and read it in process.
func ExampleUsage() {
	clock := func() time.Time { return time.Date(2026, 11, 15, 9, 0, 0, 0, time.UTC) }
	u, err := telemetry.NewUsage(telemetry.WithClock(clock))
	if err != nil {
		panic(err)
	}
	defer u.Close()

	acme, _ := tenant.New("acme", "pro")
	u.Record(acme, telemetry.Request{Duration: 1500 * time.Millisecond, RequestBytes: 200, ResponseBytes: 5000})
	u.Record(acme, telemetry.Request{Duration: 500 * time.Millisecond, RequestBytes: 100, ResponseBytes: 1000})

	s := u.Current()
	fmt.Println(s.Start.Format("2006-01-02"), "to", s.End.Format("2006-01-02"))
	for _, r := range s.Tenants {
		fmt.Println(r.TenantID, r.Tier, r.Requests, r.HandlerTime, r.BytesIn, r.BytesOut)
	}
	// Output:
	// 2026-11-01 to 2026-12-01
	// acme pro 2 2s 300 6000
}

// Split a month's bill across tenants by usage and compare with what each
// pays: hungry, on the $99 tier, costs $340.
func ExampleAttributeCost() {
	const mb = 1_000_000
	usage := []telemetry.TenantUsage{
		{TenantID: "bigco", Tier: "enterprise", Requests: 5000, HandlerTime: 500 * time.Second, BytesIn: 500 * mb, BytesOut: 5000 * mb},
		{TenantID: "hungry", Tier: "basic", Requests: 2500, HandlerTime: 400 * time.Second, BytesIn: 400 * mb, BytesOut: 4000 * mb},
		{TenantID: "mid", Tier: "pro", Requests: 2500, HandlerTime: 100 * time.Second, BytesIn: 100 * mb, BytesOut: 1000 * mb},
	}
	report, err := telemetry.AttributeCost(usage, telemetry.CostModel{
		Cost:    100_000, // $1,000.00
		Weights: telemetry.Weights{Requests: 4, HandlerTime: 4, BytesIn: 1, BytesOut: 1},
		Prices:  map[string]telemetry.Cents{"basic": 9_900, "pro": 49_900, "enterprise": 200_000},
	})
	if err != nil {
		panic(err)
	}
	for _, t := range report.Tenants {
		flag := ""
		if t.OverCost {
			flag = "  costs more than it pays"
		}
		fmt.Printf("%-7s %-10s cost %8v  price %9v  margin %9v%s\n", t.TenantID, t.Tier, t.Cost, t.Price, t.Margin, flag)
	}
	// Output:
	// bigco   enterprise cost  $500.00  price  $2000.00  margin  $1500.00
	// hungry  basic      cost  $340.00  price    $99.00  margin  -$241.00  costs more than it pays
	// mid     pro        cost  $160.00  price   $499.00  margin   $339.00
}

package telemetry_test

import (
	"context"
	"fmt"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// Wrap the handler of the process's logger; log with the request context.
// The tenant stays at the top level even inside a group.
// Record requests per tenant; tenants past the bound share tenant.id _other.
func ExampleNewMetrics() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp), telemetry.WithMaxTenants(2))
	if err != nil {
		panic(err)
	}
	for _, id := range []string{"acme", "beta", "gamma", "delta", "acme"} {
		t, _ := tenant.New(id, "pro")
		m.RecordRequest(context.Background(), t, telemetry.Request{Duration: 20 * time.Millisecond})
	}

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	counts := map[string]int64{}
	for _, mt := range rm.ScopeMetrics[0].Metrics {
		if mt.Name == telemetry.RequestsName {
			for _, dp := range mt.Data.(metricdata.Sum[int64]).DataPoints {
				id, _ := dp.Attributes.Value(telemetry.TenantIDKey)
				counts[id.AsString()] += dp.Value
			}
		}
	}
	fmt.Println(counts)
	// Output: map[_other:2 acme:2 beta:1]
}

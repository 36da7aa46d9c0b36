package emf_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/emf"
	"github.com/tenantkit/tenantkit/telemetry"
)

// FuzzEncode checks that no attribute key or value, metric name or unit,
// or number makes the exporter write a document that is not valid EMF.
func FuzzEncode(f *testing.F) {
	for _, h := range hostile {
		f.Add(h, h, h, 1.5)
	}
	f.Add("tenant.id", "acme", "tenantkit.server.requests", 3.0)
	f.Fuzz(func(t *testing.T, key, value, name string, v float64) {
		var out bytes.Buffer
		exp, err := emf.New(&out, "Fuzz", emf.WithTopTenants(1), emf.WithMaxEventSize(4096), emf.WithDimensions("outcome", "route"))
		if err != nil {
			t.Fatal(err)
		}
		attrs := attribute.NewSet(
			attribute.String(key, value), telemetry.TenantIDKey.String(value), telemetry.TenantTierKey.String(value),
			attribute.String("outcome", value), attribute.String("route", key), attribute.Float64("v", v),
		)
		rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
			{Name: name, Unit: value, Data: metricdata.Sum[float64]{DataPoints: []metricdata.DataPoint[float64]{{Attributes: attrs, Time: time.Now(), Value: v}}}},
			{Name: telemetry.RequestsName, Unit: key, Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Attributes: attrs, Time: time.Now(), Value: 7}}}},
		}}}}
		if err := exp.Export(context.Background(), rm); err != nil {
			t.Fatal(err)
		}
		checkOutput(t, out.Bytes())
	})
}

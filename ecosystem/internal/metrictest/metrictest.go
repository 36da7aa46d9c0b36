// Package metrictest reads back what the OpenTelemetry metric SDK recorded,
// for the tests of the telemetry package and its transport adapters.
package metrictest

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Provider returns a meter provider with a manual reader; the provider shuts
// down when the test ends.
func Provider(tb testing.TB) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	tb.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tb.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return reader, mp
}

// Collect reads every metric from r, by name.
func Collect(tb testing.TB, r sdkmetric.Reader) map[string]metricdata.Metrics {
	tb.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		tb.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// Attr returns the string value of k in s, or "".
func Attr(s attribute.Set, k attribute.Key) string {
	v, _ := s.Value(k)
	return v.AsString()
}

// Sums adds up the data points of an int64 sum by the key that key derives
// from each point's attributes.
func Sums(tb testing.TB, m metricdata.Metrics, key func(attribute.Set) string) map[string]int64 {
	tb.Helper()
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		tb.Fatalf("%s: data is %T", m.Name, m.Data)
	}
	out := map[string]int64{}
	for _, dp := range sum.DataPoints {
		out[key(dp.Attributes)] += dp.Value
	}
	return out
}

package emf_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/emf"
	"github.com/tenantkit/tenantkit/internal/cputime"
	"github.com/tenantkit/tenantkit/telemetry"
)

type countingWriter struct{ n, writes int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.writes++
	return len(p), nil
}

// BenchmarkExport1000Tenants exports one interval of tenantkit's metrics
// for 1,000 tenants (three tiers; each tenant with ok and client_error
// requests and a rate-limit decision): 3,000 documents per export.
func BenchmarkExport1000Tenants(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []emf.Option
	}{
		{"tenant-as-property", nil},
		{"top-100-as-dimension", []emf.Option{emf.WithTopTenants(100)}},
		{"all-as-dimension", []emf.Option{emf.WithTopTenants(1000)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := newPipeline(b)
			ctx := context.Background()
			tiers := []string{"free", "pro", "enterprise"}
			for i := range 1000 {
				t := tn(b, fmt.Sprintf("tenant-%04d", i), tiers[i%3])
				for j := range 1 + i%7 {
					p.metrics.RecordRequest(ctx, t, telemetry.Request{Duration: time.Duration(j+1) * time.Millisecond, RequestBytes: 200, ResponseBytes: 2000})
				}
				p.metrics.RecordRequest(ctx, t, telemetry.Request{Duration: time.Millisecond, Outcome: telemetry.OutcomeClientError})
				p.metrics.RecordRateLimit(ctx, t, "allowed", "rate")
			}
			var rm metricdata.ResourceMetrics
			if err := p.reader.Collect(ctx, &rm); err != nil {
				b.Fatal(err)
			}
			w := &countingWriter{}
			exp, err := emf.New(w, "Tenantkit/Bench", c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			if err := exp.Export(ctx, &rm); err != nil {
				b.Fatal(err)
			}
			perExport, docs := w.n, w.writes
			b.ReportAllocs()
			done := cputime.PerOp(b)
			for b.Loop() {
				if err := exp.Export(ctx, &rm); err != nil {
					b.Fatal(err)
				}
			}
			done()
			b.ReportMetric(float64(perExport), "bytes/export")
			b.ReportMetric(float64(docs), "docs/export")
		})
	}
}

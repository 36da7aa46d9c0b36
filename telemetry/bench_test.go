package telemetry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/telemetry/spanproc"
	"github.com/tenantkit/tenantkit/tenant"
)

// discardProcessor stands in for the exporting processor: it drops spans.
type discardProcessor struct{}

func (discardProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discardProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discardProcessor) Shutdown(context.Context) error                  { return nil }
func (discardProcessor) ForceFlush(context.Context) error                { return nil }

// fixedAttrsProcessor sets two fixed attributes on every span: the floor
// any processor that adds two attributes pays to the SDK.
type fixedAttrsProcessor struct {
	discardProcessor
	kv []attribute.KeyValue
}

func (p fixedAttrsProcessor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	s.SetAttributes(p.kv...)
}

// BenchmarkSpanProcessor starts and ends one span under a tenant context,
// with and without the tenant processor in front of a discarding one; the
// difference is what the processor adds per span. The "attrs" pair starts
// each span with four attributes, as instrumentation libraries do; the bare
// pair also pays for the SDK's first attribute slice and its deduplication
// at End, which any attribute would cost. The "floor" variants replace the
// tenant processor with one that sets two fixed attributes without reading
// the context: the SDK's own price of two more attributes. "zero-value" is
// the zero SpanProcessor, which builds the attribute pair per span instead
// of reusing the cached one (one more allocation).
func BenchmarkSpanProcessor(b *testing.B) {
	floor := fixedAttrsProcessor{kv: []attribute.KeyValue{telemetry.TenantIDKey.String("acme"), telemetry.TenantTierKey.String("pro")}}
	ctx := tenant.NewContext(context.Background(), mustTenant(b, "acme", "pro"))
	start := trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("url.path", "/v1/items"),
		attribute.String("server.address", "api.example.com"), attribute.Int("server.port", 443))
	for _, bc := range []struct {
		name string
		sps  []sdktrace.SpanProcessor
		opts []trace.SpanStartOption
	}{
		{"without", []sdktrace.SpanProcessor{discardProcessor{}}, nil},
		{"with", []sdktrace.SpanProcessor{spanproc.New(), discardProcessor{}}, nil},
		{"floor", []sdktrace.SpanProcessor{floor, discardProcessor{}}, nil},
		{"zero-value", []sdktrace.SpanProcessor{&spanproc.Processor{}, discardProcessor{}}, nil},
		{"attrs-without", []sdktrace.SpanProcessor{discardProcessor{}}, []trace.SpanStartOption{start}},
		{"attrs-with", []sdktrace.SpanProcessor{spanproc.New(), discardProcessor{}}, []trace.SpanStartOption{start}},
		{"attrs-floor", []sdktrace.SpanProcessor{floor, discardProcessor{}}, []trace.SpanStartOption{start}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := []sdktrace.TracerProviderOption{}
			for _, sp := range bc.sps {
				opts = append(opts, sdktrace.WithSpanProcessor(sp))
			}
			tp := sdktrace.NewTracerProvider(opts...)
			defer tp.Shutdown(context.Background())
			tracer := tp.Tracer("bench")
			b.ReportAllocs()
			for b.Loop() {
				_, span := tracer.Start(ctx, "op", bc.opts...)
				span.End()
			}
		})
	}
	// The SDK's allocations make the pairs above too noisy to resolve a few
	// nanoseconds. The "onstart" pair calls OnStart alone, on a span that
	// drops the attributes: the processor's own cost, against the floor's.
	for _, bc := range []struct {
		name string
		sp   sdktrace.SpanProcessor
	}{
		{"onstart-with", spanproc.New()},
		{"onstart-floor", floor},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var s sdktrace.ReadWriteSpan = nopSpan{}
			b.ReportAllocs()
			for b.Loop() {
				bc.sp.OnStart(ctx, s)
			}
		})
	}
}

// nopSpan is a span that drops the attributes set on it; any other method
// panics.
type nopSpan struct{ sdktrace.ReadWriteSpan }

func (nopSpan) SetAttributes(...attribute.KeyValue) {}

// BenchmarkLogHandler logs one record with a tenant context through the
// JSON handler alone and through the tenant wrapper around it. "base"
// writes the record as it is; "base-same-output" has the caller add the two
// tenant attributes by hand, so it writes what "wrapped" writes (the
// wrapper, which has them pre-formatted, should cost less than that); the
// "grouped" pair does the same with a group open. The "per-request-logger"
// pair derives a logger with With for every record, as request handlers do:
// the wrapper then never gets past its first record per handler.
func BenchmarkLogHandler(b *testing.B) {
	ctx := tenant.NewContext(context.Background(), mustTenant(b, "acme", "pro"))
	base := slog.NewJSONHandler(io.Discard, nil)
	attrs := []slog.Attr{slog.String("method", "GET"), slog.String("path", "/v1/items"), slog.Int("status", 200)}
	withTenant := append(attrs[:len(attrs):len(attrs)], slog.String("tenant.id", "acme"), slog.String("tenant.tier", "pro"))
	for _, bc := range []struct {
		name  string
		l     *slog.Logger
		attrs []slog.Attr
	}{
		{"base", slog.New(base), attrs},
		{"base-same-output", slog.New(base), withTenant},
		{"wrapped", slog.New(telemetry.NewLogHandler(base)), attrs},
		{"grouped-base-same-output", slog.New(base).WithGroup("req"), withTenant},
		{"grouped-wrapped", slog.New(telemetry.NewLogHandler(base)).WithGroup("req"), attrs},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.l.LogAttrs(ctx, slog.LevelInfo, "request served", bc.attrs...)
			}
		})
	}
	// A logger derived per request (l.With("request_id", id)) logs once and
	// is dropped: this pair measures the With plus that one record, where a
	// wrapper that did per-handler setup on the first record would lose.
	for _, bc := range []struct {
		name string
		l    *slog.Logger
	}{
		{"per-request-logger-base", slog.New(base)},
		{"per-request-logger-wrapped", slog.New(telemetry.NewLogHandler(base))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.l.With("request_id", "r1").LogAttrs(ctx, slog.LevelInfo, "request served", attrs...)
			}
		})
	}
}

// BenchmarkMetrics records one request (four instruments) with the SDK and
// a manual reader that is never collected. "sdk-direct" is the floor: the
// same four instrument calls with a prebuilt attribute set, no tenantkit
// code. "admitted" is a tenant inside the bound, "overflow" one past it,
// "usage" adds the usage table, "ratelimit" is one rate-limit decision.
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

package spanproc_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
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
	ctx := tenant.NewContext(context.Background(), func() tenant.Tenant { t, _ := tenant.New("acme", "pro"); return t }())
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

package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tenantkit/tenantkit/tenant"
)

// SpanProcessor is an [sdktrace.SpanProcessor] that stamps tenant.id and
// tenant.tier on every span started under a context that carries a tenant:
// handler spans, database and client spans, any span at all. Register it
// with the TracerProvider before the exporting processor:
//
//	tp := sdktrace.NewTracerProvider(
//		sdktrace.WithSpanProcessor(telemetry.NewSpanProcessor()),
//		sdktrace.WithBatcher(exporter),
//	)
//
// It reads the tenant of the parent context only; a span started before
// authentication (the otelhttp or otelgrpc server span) gets the attributes
// from [SetSpanTenant] instead.
//
// The attribute pairs of the first [DefaultMaxTenants] tenants are built
// once and reused, so stamping a span allocates nothing in the processor
// (the SDK may still grow the span's attribute slice); later tenants get
// theirs built per span. The zero SpanProcessor works and builds them per
// span. It is safe for concurrent use.
type SpanProcessor struct {
	cache *boundedMap[spanAttrs]
}

// spanAttrs are the prebuilt span attributes of one tenant.
type spanAttrs struct {
	tier string
	kv   []attribute.KeyValue
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// NewSpanProcessor returns the tenant span processor.
func NewSpanProcessor() *SpanProcessor {
	return &SpanProcessor{cache: newBoundedMap[spanAttrs](DefaultMaxTenants)}
}

// OnStart sets the tenant attributes on s when parent carries a tenant.
func (p *SpanProcessor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	t, ok := tenant.FromContext(parent)
	if !ok {
		return
	}
	if p.cache != nil {
		tier := t.Tier()
		if a := p.cache.get(t.ID(), func(a *spanAttrs) bool { return a.tier == tier },
			func() *spanAttrs { return &spanAttrs{tier: tier, kv: Attributes(t)} }); a != nil {
			s.SetAttributes(a.kv...)
			return
		}
	}
	setTenant(s, t)
}

// OnEnd does nothing: the attributes are set when the span starts.
func (*SpanProcessor) OnEnd(sdktrace.ReadOnlySpan) {}

// Shutdown does nothing; the processor holds no resources.
func (*SpanProcessor) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing; the processor buffers no spans.
func (*SpanProcessor) ForceFlush(context.Context) error { return nil }

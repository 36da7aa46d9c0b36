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
// once and reused: the processor runs on every span, so finding a tenant's
// pair takes no lock and allocates nothing (the SDK may still grow the
// span's attribute slice). Later tenants get theirs built per span. The zero
// SpanProcessor works and builds them per span. It is safe for concurrent
// use.
type SpanProcessor struct {
	cache *tenantCache[[]attribute.KeyValue]
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// NewSpanProcessor returns the tenant span processor.
func NewSpanProcessor() *SpanProcessor {
	return &SpanProcessor{cache: &tenantCache[[]attribute.KeyValue]{max: DefaultMaxTenants}}
}

// OnStart sets the tenant attributes on s when parent carries a tenant.
func (p *SpanProcessor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	t, ok := tenant.FromContext(parent)
	if !ok {
		return
	}
	if p.cache != nil {
		// The SDK copies the attributes into the span, so the cached
		// slice is shared by every span of the tenant without being
		// written to.
		if kv, ok := p.cache.get(&t, Attributes); ok {
			s.SetAttributes(kv...)
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

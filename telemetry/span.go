package telemetry

import (
	"context"

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
// from [SetSpanTenant] instead. The processor holds no state and is safe for
// concurrent use.
type SpanProcessor struct{}

var _ sdktrace.SpanProcessor = SpanProcessor{}

// NewSpanProcessor returns the tenant span processor.
func NewSpanProcessor() SpanProcessor { return SpanProcessor{} }

// OnStart sets the tenant attributes on s when parent carries a tenant.
func (SpanProcessor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	if t, ok := tenant.FromContext(parent); ok {
		setTenant(s, t)
	}
}

// OnEnd does nothing: the attributes are set when the span starts.
func (SpanProcessor) OnEnd(sdktrace.ReadOnlySpan) {}

// Shutdown does nothing; the processor holds no resources.
func (SpanProcessor) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing; the processor buffers no spans.
func (SpanProcessor) ForceFlush(context.Context) error { return nil }

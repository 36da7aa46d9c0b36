// Package spanproc stamps the tenant on every span: a span processor for the
// OpenTelemetry trace SDK. It is its own package so that the instrumentation
// packages (telemetry, httpmw, grpcmw) link only the OpenTelemetry API, and
// only programs that configure the SDK link it.
//
//	tp := sdktrace.NewTracerProvider(
//		sdktrace.WithSpanProcessor(spanproc.New()),
//		sdktrace.WithBatcher(exporter),
//	)
package spanproc

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tenantkit/tenantkit/internal/tenantcache"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// Processor is an [sdktrace.SpanProcessor] that sets tenant.id and
// tenant.tier on every span started under a context that carries a tenant:
// handler spans, database and client spans, any span at all. Register it
// before the exporting processor.
//
// It reads the tenant of the parent context only; a span started before
// authentication (the otelhttp or otelgrpc server span) gets the attributes
// from [telemetry.SetSpanTenant], which the server middleware calls. The
// zero Processor works; [New] adds a cache that makes the common case free
// of allocations. It is safe for concurrent use.
type Processor struct {
	// The attribute pairs of the first telemetry.DefaultMaxTenants tenants
	// are built once and shared: the processor runs on every span, so a
	// hit takes no lock and allocates nothing (the SDK copies them into the
	// span and may still grow its attribute slice). Later tenants, and
	// every tenant of the zero Processor, get theirs built per span.
	cache *tenantcache.Cache[[]attribute.KeyValue]
}

var _ sdktrace.SpanProcessor = (*Processor)(nil)

// New returns a tenant span processor.
func New() *Processor {
	return &Processor{cache: tenantcache.New[[]attribute.KeyValue](telemetry.DefaultMaxTenants)}
}

// OnStart sets the tenant attributes on s when parent carries a tenant.
func (p *Processor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	t, ok := tenant.FromContext(parent)
	if !ok {
		return
	}
	if p.cache != nil {
		if kv, ok := p.cache.Get(&t, telemetry.Attributes); ok {
			s.SetAttributes(kv...)
			return
		}
	}
	s.SetAttributes(telemetry.Attributes(t)...)
}

// OnEnd does nothing: the attributes are set when the span starts.
func (*Processor) OnEnd(sdktrace.ReadOnlySpan) {}

// Shutdown does nothing; the processor holds no resources.
func (*Processor) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing; the processor buffers no spans.
func (*Processor) ForceFlush(context.Context) error { return nil }

package telemetry

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantkit/tenantkit/tenant"
)

// Attribute keys tenantkit puts on spans, log records and metrics. The names
// follow the OpenTelemetry attribute naming rules (lower case, dot-separated
// namespaces).
const (
	// TenantIDKey carries the tenant ID. On metrics it may hold [OverflowTenantID].
	TenantIDKey = attribute.Key("tenant.id")
	// TenantTierKey carries the tenant's subscription tier. It is left out
	// when the tenant has no tier.
	TenantTierKey = attribute.Key("tenant.tier")
	// OutcomeKey classifies a request ([Outcome]) or a rate-limit decision
	// (the outcome string the limiter reports) on metrics.
	OutcomeKey = attribute.Key("outcome")
	// ReasonKey carries the reason of a rate-limit decision on
	// tenantkit.ratelimit.decisions (which limit decided: rate, quota, ...).
	ReasonKey = attribute.Key("reason")
)

// OverflowTenantID is the tenant.id value of the metric series (and the usage
// row) into which every tenant past the cardinality bound is folded. A tenant
// ID cannot start with '_' (see [tenant.ValidateID]), so the value never
// collides with a real tenant.
const OverflowTenantID = "_other"

// Attributes returns the tenant.id and tenant.tier attributes of t: none for
// the zero Tenant, no tenant.tier when t has no tier. It allocates the
// returned slice; hot paths use [Metrics.TenantAttributes] or the span
// processor instead.
func Attributes(t tenant.Tenant) []attribute.KeyValue {
	switch {
	case t.IsZero():
		return nil
	case t.Tier() == "":
		return []attribute.KeyValue{TenantIDKey.String(t.ID())}
	default:
		return []attribute.KeyValue{TenantIDKey.String(t.ID()), TenantTierKey.String(t.Tier())}
	}
}

// SetSpanTenant sets tenant.id and tenant.tier of t on span. It does nothing
// for the zero Tenant or a span that is not recording.
//
// The span processor only sees spans started after the tenant entered the
// context. otelhttp and otelgrpc start their server span before
// authentication runs, so the authentication middleware calls
//
//	telemetry.SetSpanTenant(trace.SpanFromContext(ctx), t)
//
// once it has verified t, which puts the tenant on that span too.
func SetSpanTenant(span trace.Span, t tenant.Tenant) {
	if t.IsZero() || !span.IsRecording() {
		return
	}
	setTenant(span, t)
}

// spanAttrSetter is the part of trace.Span and sdktrace.ReadWriteSpan that
// setTenant needs.
type spanAttrSetter interface {
	SetAttributes(kv ...attribute.KeyValue)
}

func setTenant(s spanAttrSetter, t tenant.Tenant) {
	if t.Tier() == "" {
		s.SetAttributes(TenantIDKey.String(t.ID()))
		return
	}
	s.SetAttributes(TenantIDKey.String(t.ID()), TenantTierKey.String(t.Tier()))
}

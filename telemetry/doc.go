// Package telemetry makes every trace, log record and metric of a
// multi-tenant service say which tenant it belongs to, and turns per-tenant
// usage into per-tenant cost.
//
//   - Traces: [SpanProcessor] stamps tenant.id and tenant.tier on every span
//     started under a context that carries a tenant; [SetSpanTenant] puts them
//     on a span that started before authentication (the otelhttp or otelgrpc
//     server span).
//   - Logs: [LogHandler] wraps any slog.Handler and adds tenant.id and
//     tenant.tier, at the top level, to every record logged with a tenant
//     context.
//   - Metrics: [Metrics] records requests, handler time, bytes in and out and
//     rate-limit decisions per tenant, behind a cardinality guard that folds
//     the tenants past a bound into tenant.id [OverflowTenantID].
//     [Metrics.TenantAttributes] hands the same guarded attributes to
//     otelhttp's Labeler and otelgrpc's metric attribute hook.
//   - Usage and cost: [Usage] meters requests, handler time and bytes per
//     tenant and period, readable in process and exported as metrics;
//     [AttributeCost] splits a period's infrastructure bill across tenants by
//     usage and flags tenants that cost more than they pay.
//
// The transport adapters live in httpmw (the Telemetry middleware) and grpcmw
// (the Telemetry interceptors). This package knows nothing of HTTP or gRPC.
//
// # Instruments
//
// All instruments are created on the meter [ScopeName] and carry tenant.id
// and, when the tenant has one, tenant.tier.
//
//	name                               kind               unit        more attributes
//	tenantkit.server.requests          counter            {request}   outcome
//	tenantkit.server.duration          histogram          s           outcome
//	tenantkit.server.request.size      counter            By          outcome
//	tenantkit.server.response.size     counter            By          outcome
//	tenantkit.ratelimit.decisions      counter            {decision}  outcome, reason
//	tenantkit.ratelimit.backend.errors counter            {error}     outcome
//	tenantkit.usage.requests           async counter      {request}   tenantkit.usage.period
//	tenantkit.usage.handler.time       async counter      s           tenantkit.usage.period
//	tenantkit.usage.request.size       async counter      By          tenantkit.usage.period
//	tenantkit.usage.response.size      async counter      By          tenantkit.usage.period
//
// The request outcome is one of ok, client_error, rate_limited and
// server_error ([Outcome]).
//
// # Cardinality
//
// A tenant ID is an unbounded attribute value: one series per tenant is fine
// for hundreds of tenants and ruinous for a million sign-ups. [Metrics] and
// [Usage] keep at most N tenants apart ([DefaultMaxTenants], or
// [WithMaxTenants]) and record the rest under tenant.id "_other"
// ([OverflowTenantID]), a value no real tenant can have because tenant IDs
// start with a letter or a digit.
//
// The OpenTelemetry SDK has a limit of its own, 2,000 data points per
// instrument by default, past which it folds new series into one marked
// otel.metric.overflow. A thousand tenants with a few outcomes each go past
// it, so give the MeterProvider sdkmetric.WithCardinalityLimit with
// [SDKCardinalityLimit]. The otelhttp and otelgrpc metrics that carry the
// tenant through [Metrics.TenantAttributes] multiply the guarded tenants by
// their own attributes (method, status code, route); size the limit for
// those as well, or leave the tenant off them.
package telemetry

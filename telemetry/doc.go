// Package telemetry makes every trace, log record and metric of a
// multi-tenant service say which tenant it belongs to, and turns per-tenant
// usage into per-tenant cost.
//
// Wrap the process's log handler, build the metrics and the usage table
// once, and let the httpmw and grpcmw Telemetry middleware record each
// request:
//
//	slog.SetDefault(slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(os.Stderr, nil))))
//	usage, err := telemetry.NewUsage() // per tenant and calendar month
//	...
//	defer usage.Close()
//	metrics, err := telemetry.NewMetrics(telemetry.WithUsage(usage))
//	...
//	slog.InfoContext(ctx, "order placed") // carries tenant.id and tenant.tier
//
// [LogHandler] adds tenant.id and tenant.tier, at the top level, to every
// record logged with a tenant context. [Metrics] records requests, handler
// time, bytes and rate-limit decisions per tenant; [Usage] meters requests,
// handler time and bytes per tenant and [UsagePeriod], readable in process
// and exported as metrics; [AttributeCost] splits a period's bill across
// tenants by usage. For traces, telemetry/spanproc stamps the tenant on
// every span and [SetSpanTenant] on the server span that started before
// authentication. This package knows nothing of HTTP or gRPC and links the
// OpenTelemetry API only.
//
// # Instruments
//
// All instruments are created on the meter [ScopeName] and carry tenant.id
// and, when the tenant has one, tenant.tier.
//
//	name                               kind               unit        more attributes
//	tenantkit.server.requests          async counter      {request}   outcome
//	tenantkit.server.duration          histogram          s           outcome
//	tenantkit.server.request.size      async counter      By          outcome
//	tenantkit.server.response.size     async counter      By          outcome
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
// [Metrics.RecordRequest] counts requests and bytes in its own series
// table, with atomic adds, and reports the sums through the three async
// counters when the SDK collects; per request it makes one SDK call, the
// duration record, which is also where exemplars are kept. The sums
// exported are the monotonic, cumulative ones a synchronous counter gives;
// with delta temporality, a series that recorded nothing since the last
// collection reports 0 (the SDK's rule for async counters) instead of no
// point.
//
// # Cardinality
//
// [Metrics] and [Usage] keep at most [DefaultMaxTenants] tenants apart (see
// [WithMaxTenants]) and record the rest under tenant.id [OverflowTenantID],
// a value no real tenant ID can take. The OpenTelemetry SDK folds series
// past its own limit (2,000 per instrument by default) into one marked
// otel.metric.overflow: give the MeterProvider
// sdkmetric.WithCardinalityLimit([SDKCardinalityLimit](n)), sized also for
// the otelhttp and otelgrpc metrics that carry the tenant through
// [Metrics.TenantAttributes].
package telemetry

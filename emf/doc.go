// Package emf exports tenantkit's per-tenant metrics (and any other
// OpenTelemetry metrics) to Amazon CloudWatch as embedded metric format
// (EMF) documents: JSON lines that CloudWatch Logs turns into metrics, on
// Lambda from standard output and elsewhere from any log stream that
// reaches CloudWatch Logs.
//
//	exp, err := emf.New(os.Stdout, "Orders", emf.WithTopTenants(20), emf.WithTenantTiers("enterprise"))
//	...
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
//	metrics, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
//
// On Lambda the execution environment is frozen between invocations, so a
// periodic export may wait until the next one, or never run: call
// mp.ForceFlush(ctx) before the handler returns, which exports the
// invocation's metrics to standard output at once.
//
// # Cost
//
// CloudWatch bills every distinct combination of namespace, metric name
// and dimension values as a custom metric, by the hour it receives data.
// With tenant.id as a dimension, a service with T tenants and M metrics
// pays for T×M metrics, which grows with every tenant signed up: 10,000
// tenants and tenantkit's 7 request metrics per outcome are 70,000 custom
// metrics a month, for numbers that nobody graphs one tenant at a time.
// So the exporter makes tenant.id a dimension only for a bounded set:
//
//   - [WithTopTenants](n): the n tenants with the most traffic in each
//     export interval. The set can change between intervals, so the bound
//     is n per interval; a tenant that keeps its rank keeps its metrics.
//   - [WithTenantTiers](tiers...): every tenant of the named tiers, for
//     the few large tenants whose own dashboards and alarms are worth
//     their cost.
//
// For every other tenant tenant.id is a property of the document: not a
// metric, but a field of the log event that CloudWatch Logs Insights can
// filter and group by (per-tenant numbers, on demand, at query cost
// instead of a standing monthly one). tenant.tier is a dimension by
// default ([WithTierDimension]): tiers are few, and at most
// [DefaultMaxTiers] distinct values are written before the rest fold into
// telemetry.OverflowTenantID. A document whose tenant.id is a dimension
// carries two dimension sets, with and without tenant.id, so that the
// per-tier metrics still count every tenant. The bound on custom metrics
// is then about M × (tiers × outcomes + n + tenants of the named tiers).
//
// # Limits
//
// The exporter enforces the limits of the EMF specification on every
// document rather than assuming them ([MaxMetricsPerDirective],
// [MaxDimensionsPerSet], [MaxValuesPerMetric], [MaxEventSize], the name
// and value lengths): it splits a document with too many metrics or too
// many bytes, cuts long properties, sanitises names and dimension values,
// and drops what cannot be written (a NaN, a member name used twice),
// counting each case ([Counts], [Exporter.Stats], [WithReportHandler]).
// Values an attacker may control (attribute values, keys, metric names)
// are always encoded as valid JSON, and a tenant.id that is not a valid
// tenant ID is never a dimension.
//
// # Histograms
//
// EMF metrics are numbers (or arrays of at most 100 numbers, each one
// observation), so a histogram is written as its statistic set, four
// plain metrics: name.count, name.sum, and name.min and name.max when the
// SDK recorded them. CloudWatch's Sum of name.sum over Sum of name.count is
// the mean; bucket counts are not exported.
package emf

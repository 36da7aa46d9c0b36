// Package redisusage adds the per-tenant usage that every replica of a
// service meters into one set of totals in Redis (a server, Redis Cluster,
// Sentinel, or Amazon ElastiCache), so that cost attribution over a period
// sees the whole fleet, not one replica's share of it.
//
// Give each replica's [telemetry.Usage] a [Flusher], and read a period's
// fleet-wide usage where the bill is split:
//
//	usage, err := telemetry.NewUsage() // per tenant and calendar month
//	...
//	flusher, err := redisusage.New(client, usage) // every 5 s, one pipeline
//	...
//	defer flusher.Close(shutdownCtx) // flushes what is left
//
//	// In the billing job:
//	start, end := telemetry.CalendarMonth(lastMonth)
//	fleet, err := redisusage.Read(ctx, client, start, end)
//	...
//	report, err := telemetry.AttributeCost(fleet.Tenants, model)
//
// The Flusher reads the usage table's own counters at each interval and
// sends the difference from what Redis confirmed, so metering a request
// costs the same with or without it. Each flush is one pipeline with one
// Lua script call per period with new usage (usually one) and 200 tenants,
// each applied atomically. Delivery is exactly once while Redis keeps its
// data: a chunk whose reply was lost is resent as it was, with its
// per-replica sequence number, which the script finds already recorded
// and skips. A period's usage is
// one hash, "<prefix>{<start>,<end>}", whose braces are its Redis Cluster
// hash tag; it expires [DefaultRetention] after the period ends
// ([WithRetention]). At most [DefaultMaxTenants] tenants of a period get a
// row of their own ([WithMaxTenants]); the usage of the others is added to
// the row [telemetry.OverflowTenantID], as the usage table does.
//
// # Losses, and what is reported
//
// A replica that stops without Close loses what it metered since its last
// flush: one interval ([WithInterval]) at most. While Redis does not
// answer, the usage stays buffered in the usage table (its current and
// previous period, under its own tenant bound) and goes out with the
// first flush that succeeds; a closed period that leaves the table before
// then is kept by the Flusher, up to [WithMaxClosedPeriods] of them. Past
// that bound the oldest period's unconfirmed usage is dropped: counted in
// [Stats].Dropped and reported to the error handler ([WithErrorHandler])
// as a [*DropError]. Close reports what it could not flush the same way,
// in its error. The instruments [FlushFailuresName], [DroppedRequestsName]
// and [UnflushedRequestsName] (OpenTelemetry API, [WithMeterProvider])
// report the same counts. Nothing is lost silently.
//
// A Flusher holds, for each period it tracks (the table's two, and the
// closed ones waiting for Redis), two copies of the period's rows (what
// the table last showed and what Redis confirmed) and the rows of its
// unconfirmed chunks: a few hundred bytes per tenant, within the table's
// bound.
//
// # Redis settings
//
// Client settings: ContextTimeoutEnabled true, so that a flush's context
// ends a read in progress; dial, read and write timeouts of a few hundred
// milliseconds; MaxRetries -1 or 1 (resends are harmless, but the Flusher
// retries with backoff itself). Run Redis with maxmemory-policy
// noeviction: an evicted period key loses the fleet's usage of the
// period. Persistence (AOF or RDB) keeps the totals across a restart of
// Redis. A period's hash takes about 330 bytes per tenant (MEMORY USAGE
// on Redis 7, 1,000 tenants); a flush of 1,000 tenants sends about 73 KB.
package redisusage

// Package ratelimit gives each tenant tier a usage plan, in the model of
// Amazon API Gateway usage plans: a token-bucket rate with a burst, an
// optional quota per calendar day, week or month, and an optional cap on
// requests in flight.
//
// A [Plan] separates the two numbers people mix up: Rate is how fast the
// bucket refills (ratelimit.PerMinute(100)), Burst is how many requests may
// arrive at once (20). [Plans] maps tier names to plans and requires a
// default, so an unknown tier is never unlimited by accident.
//
// Every backend implements [Limiter]: Take spends a cost for a key under a
// plan and returns a [Decision] that says whether the request may proceed,
// which limit denied it, and what to tell the client (remaining, retry-after,
// reset, quota left). A denied request spends nothing: not rate, not quota,
// not an in-flight slot.
//
// [Local] is the in-process backend, on golang.org/x/time/rate: sharded,
// allocation free per decision, bounded in keys, exact under contention.
// The subpackage redislimit shares limits between replicas through Redis.
// The httpmw and grpcmw packages turn decisions into HTTP 429/503 responses
// and gRPC ResourceExhausted/Unavailable statuses.
package ratelimit

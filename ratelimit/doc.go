// Package ratelimit gives each tenant tier a usage plan, in the model of
// Amazon API Gateway usage plans: a token-bucket rate with a burst, an
// optional quota per calendar day, week or month, and an optional cap on
// requests in flight.
//
// Define the plans once, then take a decision per request:
//
//	plans, err := ratelimit.NewPlans(
//		ratelimit.Plan{Rate: ratelimit.PerMinute(10), Burst: 5}, // unknown tiers
//		map[string]ratelimit.Plan{
//			"free": {Rate: ratelimit.PerMinute(100), Burst: 20, Quota: ratelimit.Monthly(10_000)},
//		})
//	...
//	limiter, err := ratelimit.NewLocal()
//	...
//	d, err := limiter.Take(ctx, t.ID(), plans.For(t.Plan()), 1)
//	if err != nil || !d.Allowed {
//		// 503 on err, else 429 with d.RetryAfter
//	}
//	defer d.Release()
//
// Rate is how fast the bucket refills, Burst how many requests may arrive
// at once. [Plans] requires a default, so an unknown tier is never
// unlimited by accident. A denied request spends nothing: not rate, not
// quota, not an in-flight slot.
//
// Every backend implements [Limiter]. [Local] is the in-process one;
// ratelimit/redislimit shares limits between replicas through Redis. The
// httpmw and grpcmw packages call Take for each request and turn decisions
// into HTTP 429/503 responses and gRPC ResourceExhausted/Unavailable
// statuses.
package ratelimit

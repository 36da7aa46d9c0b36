package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantkit/tenantkit/ratelimit"
)

func ExampleNewPlans() {
	plans, err := ratelimit.NewPlans(
		// Unknown tiers get this plan: never unlimited by accident.
		ratelimit.Plan{Rate: ratelimit.PerMinute(10), Burst: 5},
		map[string]ratelimit.Plan{
			"free": {
				Rate:  ratelimit.PerMinute(100), // refills 100 requests a minute
				Burst: 20,                       // at most 20 at once
				Quota: ratelimit.Monthly(10_000),
			},
			"enterprise": {
				Rate:     ratelimit.PerMinute(10_000),
				Burst:    1_000,
				InFlight: 50,
			},
		})
	if err != nil {
		panic(err)
	}
	fmt.Println(plans.For("free"))
	fmt.Println(plans.For("enterprise"))
	fmt.Println(plans.For("platinum"))
	// Output:
	// free: 100 per 1m0s, burst 20, quota 10000/month
	// enterprise: 10000 per 1m0s, burst 1000, in flight 50
	// default: 10 per 1m0s, burst 5
}

func ExampleNewPlan_invalid() {
	_, err := ratelimit.NewPlan(ratelimit.Plan{Name: "free", Rate: ratelimit.PerMinute(100)})
	fmt.Println(err)
	// Output:
	// ratelimit: invalid plan "free": Burst is 0: Burst is the number of requests allowed at once and must be at least 1 (Rate only sets how fast it refills)
}

func ExampleLocal_Take() {
	free := ratelimit.MustPlan(ratelimit.Plan{
		Name:  "free",
		Rate:  ratelimit.PerSecond(1),
		Burst: 2,
		Quota: ratelimit.Daily(1000),
	})
	limiter, err := ratelimit.NewLocal()
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for range 3 {
		d, err := limiter.Take(ctx, "acme", free, 1)
		if err != nil {
			panic(err)
		}
		fmt.Printf("allowed=%v denied-by=%q remaining=%d retry-after=%v quota-remaining=%d\n",
			d.Allowed, d.DeniedBy, d.Remaining, d.RetryAfter.Round(100*time.Millisecond), d.QuotaRemaining)
		d.Release() // when the request ends; a no-op without an in-flight cap
	}
	// Output:
	// allowed=true denied-by="" remaining=1 retry-after=0s quota-remaining=999
	// allowed=true denied-by="" remaining=0 retry-after=0s quota-remaining=998
	// allowed=false denied-by="rate" remaining=0 retry-after=1s quota-remaining=998
}

func ExampleQuota_Bounds() {
	billing := ratelimit.Monthly(10_000).AnchoredAt(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC))
	start, end := billing.Bounds(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	fmt.Println(start.Format(time.DateOnly), "to", end.Format(time.DateOnly))
	// Output:
	// 2026-02-28 to 2026-03-31
}

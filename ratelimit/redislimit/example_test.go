package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/ratelimit/redislimit"
)

func ExampleNew() {
	addr := os.Getenv("TENANTKIT_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{addr}, // one address, a Cluster's seeds, or Sentinels with MasterName
		DialTimeout:           200 * time.Millisecond,
		ReadTimeout:           200 * time.Millisecond,
		WriteTimeout:          200 * time.Millisecond,
		ContextTimeoutEnabled: true, // the decision timeout also ends a read in progress
		MaxRetries:            1,
		DialerRetries:         1,
	})
	defer client.Close()
	// Quotas are only as safe as Redis's keys: refuse to start on a Redis
	// that may evict them.
	if err := redislimit.CheckEvictionPolicy(context.Background(), client); err != nil {
		log.Fatal(err)
	}

	limiter, err := redislimit.New(client,
		redislimit.WithPrefix("myservice:rl:"),
		redislimit.WithErrorHandler(func(ctx context.Context, err error) {
			log.Printf("rate limiter: %v", err) // count it in your metrics
		}))
	if err != nil {
		log.Fatal(err)
	}

	free := ratelimit.MustPlan(ratelimit.Plan{
		Name:             "free",
		Rate:             ratelimit.PerMinute(100),
		Burst:            2,
		Quota:            ratelimit.Monthly(10_000),
		OnBackendFailure: ratelimit.FallbackLocal(1.0 / 3), // three replicas
	})
	for range 3 {
		d, err := limiter.Take(context.Background(), "acme", free, 1)
		if errors.Is(err, ratelimit.ErrUnavailable) {
			fmt.Println("503: limiter unavailable")
			continue
		}
		fmt.Printf("allowed=%v denied-by=%q quota-remaining=%d\n", d.Allowed, d.DeniedBy, d.QuotaRemaining)
	}
}

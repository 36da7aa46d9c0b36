package redisusage_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/telemetry/redisusage"
	"github.com/tenantkit/tenantkit/tenant"
)

// Each replica meters its requests in a usage table and flushes it to
// Redis; the totals there are the whole fleet's.
func ExampleNew() {
	addr := os.Getenv("TENANTKIT_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{addr}, // one address, a Cluster's seeds, or Sentinels with MasterName
		DialTimeout:           250 * time.Millisecond,
		ReadTimeout:           250 * time.Millisecond,
		WriteTimeout:          250 * time.Millisecond,
		ContextTimeoutEnabled: true, // a flush's deadline also ends a read in progress
		MaxRetries:            -1,   // the Flusher retries itself
	})
	defer client.Close()

	usage, err := telemetry.NewUsage() // fed by telemetry.NewMetrics(telemetry.WithUsage(usage))
	if err != nil {
		log.Fatal(err)
	}
	defer usage.Close()
	flusher, err := redisusage.New(client, usage,
		redisusage.WithPrefix("myservice:usage:"),
		redisusage.WithErrorHandler(func(ctx context.Context, err error) {
			log.Printf("usage flush: %v", err) // count it in your metrics
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := flusher.Close(ctx); err != nil {
			log.Printf("usage not flushed at shutdown: %v", err)
		}
	}()

	acme, _ := tenant.New("acme", "pro")
	usage.Record(acme, telemetry.Request{Duration: 20 * time.Millisecond, RequestBytes: 300, ResponseBytes: 4000})
}

// The billing job reads the fleet's usage of last month and splits the
// bill by it.
func ExampleRead() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}})
	defer client.Close()

	start, end := telemetry.CalendarMonth(time.Now().AddDate(0, -1, 0))
	fleet, err := redisusage.Read(context.Background(), client, start, end, redisusage.WithPrefix("myservice:usage:"))
	if err != nil {
		log.Fatal(err)
	}
	report, err := telemetry.AttributeCost(fleet.Tenants, telemetry.CostModel{
		Cost:    1_250_000, // $12,500.00
		Weights: telemetry.Weights{Requests: 4, HandlerTime: 4, BytesIn: 1, BytesOut: 1},
		Prices:  map[string]telemetry.Cents{"free": 0, "pro": 49_900},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range report.Tenants {
		if t.OverCost {
			fmt.Printf("%s (%s) costs %v and pays %v\n", t.TenantID, t.Tier, t.Cost, t.Price)
		}
	}
}

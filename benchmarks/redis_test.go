package benchmarks

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/ratelimit/redislimit"
)

// commandCounter is a go-redis hook that counts the commands sent, to show
// how many round trips one decision costs.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// redisPeer is one shared limiter under comparison.
type redisPeer struct {
	name string
	take func(ctx context.Context, key string) (bool, error)
}

// redisPeers returns tenantkit's redislimit (rate and a monthly quota) and
// go-redis/redis_rate (rate only), each limiting to limit requests per
// window with a burst of limit, on client.
func redisPeers(client redis.UniversalClient, prefix string, limit int, window time.Duration, quota int64) []redisPeer {
	tk := redislimit.New(client, redislimit.WithPrefix(prefix+"tk:"))
	plan := ratelimit.MustPlan(ratelimit.Plan{
		Name:  "bench",
		Rate:  ratelimit.Per(limit, window),
		Burst: limit,
		Quota: ratelimit.Monthly(quota),
	})
	rr := redis_rate.NewLimiter(client)
	rrLimit := redis_rate.Limit{Rate: limit, Burst: limit, Period: window}
	return []redisPeer{
		{name: "tenantkit", take: func(ctx context.Context, key string) (bool, error) {
			d, err := tk.Take(ctx, key, plan, 1)
			d.Release()
			return d.Allowed, err
		}},
		{name: "redis_rate", take: func(ctx context.Context, key string) (bool, error) {
			r, err := rr.Allow(ctx, prefix+"rr:"+key, rrLimit)
			if err != nil {
				return false, err
			}
			return r.Allowed > 0, nil
		}},
	}
}

func benchClient(tb testing.TB, addr string) (redis.UniversalClient, *commandCounter) {
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}})
	tb.Cleanup(func() { c.Close() })
	counter := &commandCounter{}
	c.AddHook(counter)
	return c, counter
}

// TestRedisPeers checks that both shared limiters are set up to limit on
// the real Redis, in one command per decision.
func TestRedisPeers(t *testing.T) {
	addr := redistest.Addr(t)
	client, counter := benchClient(t, addr)
	ctx := context.Background()
	for _, p := range redisPeers(client, redistest.Prefix(t), 5, time.Hour, 1000) {
		p.take(ctx, "warmup") // loads the script (EVALSHA, then EVAL on NOSCRIPT)
		before := counter.n.Load()
		for i := range 5 {
			if ok, err := p.take(ctx, "tenant-0"); !ok || err != nil {
				t.Errorf("%s: request %d of 5 refused (%v)", p.name, i+1, err)
			}
		}
		if ok, err := p.take(ctx, "tenant-0"); ok || err != nil {
			t.Errorf("%s: request 6 of a limit of 5 allowed (%v)", p.name, err)
		}
		if ok, _ := p.take(ctx, "tenant-1"); !ok {
			t.Errorf("%s: another tenant refused", p.name)
		}
		if n := counter.n.Load() - before; n != 7 {
			t.Errorf("%s: %d commands for 7 decisions", p.name, n)
		}
	}
}

// BenchmarkRedisTake compares one shared decision over 10,000 tenants on
// the real Redis, with 16 requests in flight per CPU: tenantkit checks a
// rate and a monthly quota in its script, redis_rate a rate only. ns/op is
// the inverse of throughput; cmds/op counts the commands (round trips) per
// decision.
func BenchmarkRedisTake(b *testing.B) {
	addr := redistest.Addr(b)
	keys := tenantKeys(rlTenants)
	ctx := context.Background()
	client, counter := benchClient(b, addr)
	prefix := redistest.Prefix(b)
	for _, p := range redisPeers(client, prefix, 1_000_000, time.Second, 1<<40) {
		b.Run(p.name, func(b *testing.B) {
			if _, err := p.take(ctx, keys[0]); err != nil {
				b.Fatal(err)
			}
			var worker atomic.Int64
			start := counter.n.Load()
			b.SetParallelism(16) // many requests in flight, as in a busy service
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(worker.Add(1)) * 7919
				for pb.Next() {
					if _, err := p.take(ctx, keys[i%len(keys)]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(counter.n.Load()-start)/float64(b.N), "cmds/op")
		})
	}
	// Leave the shared test server as it was.
	for _, pattern := range []string{prefix + "*", "rate:" + prefix + "*"} {
		iter := client.Scan(ctx, 0, pattern, 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 1000 {
				client.Unlink(ctx, batch...)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			client.Unlink(ctx, batch...)
		}
	}
}

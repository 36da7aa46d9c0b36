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

// commandCounter is a go-redis hook that counts the commands sent and the
// round trips they took (a pipeline sends several in one), to show what one
// decision costs.
type commandCounter struct{ cmds, trips atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.cmds.Add(1)
		c.trips.Add(1)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.cmds.Add(int64(len(cmds)))
		c.trips.Add(1)
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
// window with a burst of limit, on client, and each again on the client's
// AutoPipeliner, which sends concurrent callers' commands together.
func redisPeers(tb testing.TB, client redis.UniversalClient, prefix string, limit int, window time.Duration, quota int64) []redisPeer {
	ap, err := client.AutoPipeline()
	if err != nil {
		tb.Fatal(err)
	}
	plan := ratelimit.MustPlan(ratelimit.Plan{
		Name:  "bench",
		Rate:  ratelimit.Per(limit, window),
		Burst: limit,
		Quota: ratelimit.Monthly(quota),
	})
	rrLimit := redis_rate.Limit{Rate: limit, Burst: limit, Period: window}
	tk := func(c redis.Scripter, space string) func(ctx context.Context, key string) (bool, error) {
		// A generous decision timeout: a loaded machine must slow the
		// comparison down, not fail it.
		l, err := redislimit.New(c, redislimit.WithPrefix(prefix+space), redislimit.WithDecisionTimeout(10*time.Second))
		if err != nil {
			tb.Fatal(err)
		}
		return func(ctx context.Context, key string) (bool, error) {
			d, err := l.Take(ctx, key, plan, 1)
			d.Release()
			return d.Allowed, err
		}
	}
	rr := func(c *redis_rate.Limiter, space string) func(ctx context.Context, key string) (bool, error) {
		return func(ctx context.Context, key string) (bool, error) {
			r, err := c.Allow(ctx, prefix+space+key, rrLimit)
			if err != nil {
				return false, err
			}
			return r.Allowed > 0, nil
		}
	}
	return []redisPeer{
		{name: "tenantkit", take: tk(client, "tk:")},
		{name: "redis_rate", take: rr(redis_rate.NewLimiter(client), "rr:")},
		{name: "tenantkit-autopipeline", take: tk(ap, "tkap:")},
		{name: "redis_rate-autopipeline", take: rr(redis_rate.NewLimiter(ap), "rrap:")},
	}
}

func benchClient(tb testing.TB, addr string) (redis.UniversalClient, *commandCounter) {
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}})
	tb.Cleanup(func() { c.Close() })
	counter := &commandCounter{}
	c.AddHook(counter)
	return c, counter
}

// TestRedisPeers checks that every shared limiter is set up to limit on
// the real Redis, in one command per decision.
func TestRedisPeers(t *testing.T) {
	addr := redistest.Addr(t)
	client, counter := benchClient(t, addr)
	ctx := context.Background()
	for _, p := range redisPeers(t, client, redistest.Prefix(t), 5, time.Hour, 1000) {
		p.take(ctx, "warmup") // loads the script (EVALSHA, then EVAL on NOSCRIPT)
		before := counter.cmds.Load()
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
		if n := counter.cmds.Load() - before; n != 7 {
			t.Errorf("%s: %d commands for 7 decisions", p.name, n)
		}
	}
}

// BenchmarkRedisTake compares one shared decision over 10,000 tenants on
// the real Redis, with 16 requests in flight per CPU: tenantkit checks a
// rate and a monthly quota in its script, redis_rate a rate only. ns/op is
// the inverse of throughput; cmds/op counts the commands per decision and
// trips/op the round trips (fewer than commands when pipelined). Each peer
// starts on a server holding only its own keys, one per tenant.
func BenchmarkRedisTake(b *testing.B) {
	addr := redistest.Addr(b)
	keys := tenantKeys(rlTenants)
	ctx := context.Background()
	client, counter := benchClient(b, addr)
	prefix := redistest.Prefix(b)
	// dropKeys deletes every key of every peer, synchronously, so that no peer
	// runs while the server expires or frees the keys of the one before it.
	dropKeys := func(b *testing.B) {
		for _, pattern := range []string{prefix + "*", "rate:" + prefix + "*"} {
			iter := client.Scan(ctx, 0, pattern, 1000).Iterator()
			var batch []string
			for iter.Next(ctx) {
				batch = append(batch, iter.Val())
				if len(batch) == 1000 {
					client.Del(ctx, batch...)
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				client.Del(ctx, batch...)
			}
			if err := iter.Err(); err != nil {
				b.Fatal(err)
			}
		}
	}
	defer dropKeys(b) // leave the shared test server as it was
	for _, p := range redisPeers(b, client, prefix, 1_000_000, time.Second, 1<<40) {
		b.Run(p.name, func(b *testing.B) {
			// Steady state: every tenant already has its keys, as in a
			// service that has been up for a while.
			dropKeys(b)
			for _, k := range keys {
				if _, err := p.take(ctx, k); err != nil {
					b.Fatal(err)
				}
			}
			var worker atomic.Int64
			cmds, trips := counter.cmds.Load(), counter.trips.Load()
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
			b.ReportMetric(float64(counter.cmds.Load()-cmds)/float64(b.N), "cmds/op")
			b.ReportMetric(float64(counter.trips.Load()-trips)/float64(b.N), "trips/op")
		})
	}
}

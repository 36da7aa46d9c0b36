package redisusage

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

func benchTenants(b *testing.B, n int) []tenant.Tenant {
	ts := make([]tenant.Tenant, n)
	for i := range ts {
		ts[i] = mustTenant(b, fmt.Sprintf("tenant-%04d", i), tiers[i%3])
	}
	return ts
}

// BenchmarkRecord meters requests of 1,000 tenants in a usage table, alone
// and with a Flusher that flushes it to Redis meanwhile, at the default
// interval and every 10 ms (500 times as often): the request path is the
// same; what the second shows is the flushing goroutine's share of the
// CPUs.
func BenchmarkRecord(b *testing.B) {
	ts := benchTenants(b, 1000)
	r := telemetry.Request{Duration: time.Millisecond, RequestBytes: 100, ResponseBytes: 1000}
	run := func(b *testing.B, u *telemetry.Usage) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			u.Record(ts[i%len(ts)], r)
			i++
		}
	}
	b.Run("usage", func(b *testing.B) {
		u, err := telemetry.NewUsage()
		if err != nil {
			b.Fatal(err)
		}
		defer u.Close()
		run(b, u)
	})
	for _, interval := range []time.Duration{DefaultInterval, 10 * time.Millisecond} {
		b.Run("usage+flusher/"+interval.String(), func(b *testing.B) { runFlushed(b, interval, run) })
	}
}

func runFlushed(b *testing.B, interval time.Duration, run func(*testing.B, *telemetry.Usage)) {
	{
		client := newClient(b, redistest.Addr(b), slowTimeouts)
		u, err := telemetry.NewUsage()
		if err != nil {
			b.Fatal(err)
		}
		defer u.Close()
		f, err := New(client, u, WithPrefix(redistest.Prefix(b)), WithInterval(interval), WithRetention(0))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close(context.Background())
		run(b, u)
		if s := f.Stats(); s.Failures != 0 {
			b.Fatalf("flushes failed: %+v", s)
		}
	}
}

// BenchmarkFlush flushes the usage of 1,000 tenants that each made a
// request since the last flush: one pipeline of five script calls (200
// tenants each), one round trip. It reports the bytes sent per flush and, for the hash it leaves,
// Redis's MEMORY USAGE per tenant.
func BenchmarkFlush(b *testing.B) {
	client := newClient(b, redistest.Addr(b), slowTimeouts)
	ts := benchTenants(b, 1000)
	u, err := telemetry.NewUsage()
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	prefix := redistest.Prefix(b)
	f, err := New(client, u, WithPrefix(prefix), WithInterval(time.Hour), WithRetention(0))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close(context.Background())
	ctx := context.Background()
	r := telemetry.Request{Duration: 1234567 * time.Nanosecond, RequestBytes: 1234, ResponseBytes: 56789}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for _, t := range ts {
			u.Record(t, r)
		}
		b.StartTimer()
		if err := f.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	chunks := (len(ts) + chunkRows - 1) / chunkRows
	if s := f.Stats(); s.Batches != uint64(chunks*b.N) || s.Failures != 0 {
		b.Fatalf("stats %+v after %d flushes", s, b.N)
	}
	// The size of one more flush's command.
	for _, t := range ts {
		u.Record(t, r)
	}
	f.observe(ctx)
	f.mu.Lock()
	batches, _ := f.prepare()
	f.mu.Unlock()
	if len(batches) != chunks {
		b.Fatalf("%d batches", len(batches))
	}
	bytes := 0
	for _, c := range batches {
		bytes += respSize(c)
	}
	b.ReportMetric(float64(bytes), "sent-B/flush")
	s := u.Current()
	mem, err := client.MemoryUsage(ctx, periodKey(prefix, s.Start, s.End), 0).Result()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(mem)/float64(len(ts)), "redis-B/tenant")
}

// respSize is the size of b's EVALSHA command on the wire (RESP).
func respSize(b *batch) int {
	bulk := func(s string) int { return 1 + len(strconv.Itoa(len(s))) + 2 + len(s) + 2 }
	parts := append([]any{"evalsha", addScript.Hash(), strconv.Itoa(len(b.l.keys))}, anyStrings(b.l.keys)...)
	parts = append(parts, b.args...)
	n := 1 + len(strconv.Itoa(len(parts))) + 2
	for _, p := range parts {
		n += bulk(p.(string))
	}
	return n
}

func anyStrings(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// BenchmarkFlushFloor sends the same counts as BenchmarkFlush as plain
// HINCRBY commands in one pipeline, without the script (so without the
// resend check, the tenant bound or the expiry): the floor a flush of
// 1,000 tenants' four counters costs Redis and the client.
func BenchmarkFlushFloor(b *testing.B) {
	client := newClient(b, redistest.Addr(b), slowTimeouts)
	key := redistest.Prefix(b) + "{floor}"
	ctx := context.Background()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("tenant-%04d", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		pipe := client.Pipeline()
		for _, id := range ids {
			pipe.HIncrBy(ctx, key, id+"|r", 1)
			pipe.HIncrBy(ctx, key, id+"|h", 1234567)
			pipe.HIncrBy(ctx, key, id+"|i", 1234)
			pipe.HIncrBy(ctx, key, id+"|o", 56789)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	client.Del(ctx, key)
}

// slowTimeouts gives a client on the shared, healthy server timeouts that a
// loaded machine does not exceed: the tests and benchmarks that use it
// count flushes and failures, and a CI run saw a 250ms read time out.
func slowTimeouts(o *redis.Options) {
	o.ReadTimeout, o.WriteTimeout = 5*time.Second, 5*time.Second
}

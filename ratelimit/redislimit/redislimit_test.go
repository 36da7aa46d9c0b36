package redislimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/tenantkit/tenantkit/internal/loadtest"
	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/ratelimit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func newClient(t testing.TB, addr string) redis.UniversalClient {
	t.Helper()
	return newClientTimeout(t, addr, 250*time.Millisecond)
}

// newClientTimeout is newClient with the given dial, read and write
// timeouts: a test that checks results rather than latency sends large
// pipelines, which a loaded machine can take longer than 250ms to write.
func newClientTimeout(t testing.TB, addr string, timeout time.Duration) redis.UniversalClient {
	t.Helper()
	c := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:        []string{addr},
		DialTimeout:  timeout,
		ReadTimeout:  timeout,
		WriteTimeout: timeout,
		MaxRetries:   -1,
		PoolSize:     32,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// shared returns a client on the shared test server and a key prefix of
// the test's own.
func shared(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	return newClient(t, redistest.Addr(t)), redistest.Prefix(t)
}

func take(t testing.TB, l ratelimit.Limiter, key string, p *ratelimit.Plan, cost int) ratelimit.Decision {
	t.Helper()
	d, err := l.Take(ctx, key, p, cost)
	if err != nil {
		t.Fatalf("Take(%q, %s, %d): %v", key, p.Name, cost, err)
	}
	return d
}

func TestTakeRate(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "free", Rate: ratelimit.PerSecond(10), Burst: 5})
	for i := range 5 {
		d := take(t, l, "acme", p, 1)
		if !d.Allowed || d.DeniedBy != ratelimit.ReasonNone || d.Remaining != 4-i || d.Limit != 10 || d.Plan != p || d.Degraded {
			t.Fatalf("request %d: %+v", i, d)
		}
		if d.ResetAfter <= time.Duration(i)*100*time.Millisecond || d.ResetAfter > time.Duration(i+1)*100*time.Millisecond {
			t.Errorf("request %d: ResetAfter %v", i, d.ResetAfter)
		}
	}
	d := take(t, l, "acme", p, 1)
	if d.Allowed || d.DeniedBy != ratelimit.ReasonRate || d.Remaining != 0 || d.RetryAfter <= 0 || d.RetryAfter > 100*time.Millisecond {
		t.Fatalf("6th request: %+v", d)
	}
	if d.QuotaLimit != 0 || !d.QuotaReset.IsZero() {
		t.Errorf("quota fields without a quota: %+v", d)
	}
	if d := take(t, l, "globex", p, 5); !d.Allowed {
		t.Fatalf("other key: %+v", d)
	}
	time.Sleep(d.RetryAfter)
	if d := take(t, l, "acme", p, 1); !d.Allowed {
		t.Fatalf("after RetryAfter: %+v", d)
	}
}

func TestTakeRejectsBadInput(t *testing.T) {
	l := mustNew(t, newClient(t, "127.0.0.1:1"))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(1), Burst: 2})
	for _, c := range []struct {
		key  string
		plan *ratelimit.Plan
		cost int
		want error
	}{
		{"k", &ratelimit.Plan{Name: "raw"}, 1, ratelimit.ErrInvalidPlan},
		{"k", p, 0, ratelimit.ErrInvalidCost},
		{"k", p, 3, ratelimit.ErrInvalidCost},
		{"", p, 1, ratelimit.ErrInvalidKey},
		{"a{b}", p, 1, ratelimit.ErrInvalidKey},
		{strings.Repeat("k", MaxKeyLen+1), p, 1, ratelimit.ErrInvalidKey},
	} {
		if _, err := l.Take(ctx, c.key, c.plan, c.cost); !errors.Is(err, c.want) {
			t.Errorf("Take(%.10q, %d): %v, want %v", c.key, c.cost, err, c.want)
		}
	}
}

// Every key the limiter writes carries the tenant's hash tag and an expiry.
func TestKeysHaveHashTagAndExpiry(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix))
	plans := []*ratelimit.Plan{
		ratelimit.MustPlan(ratelimit.Plan{Name: "d", Rate: ratelimit.PerMinute(100), Burst: 10, Quota: ratelimit.Daily(1000)}),
		ratelimit.MustPlan(ratelimit.Plan{Name: "w", Rate: ratelimit.PerHour(100), Burst: 10, Quota: ratelimit.Weekly(1000)}),
		ratelimit.MustPlan(ratelimit.Plan{Name: "m", Rate: ratelimit.PerSecond(100), Burst: 10, Quota: ratelimit.Monthly(1000).AnchoredAt(time.Now().Add(-40 * 24 * time.Hour))}),
		ratelimit.MustPlan(ratelimit.Plan{Name: "r", Rate: ratelimit.PerSecond(1), Burst: 10}),
	}
	for i, p := range plans {
		for range 3 {
			take(t, l, fmt.Sprintf("tenant-%d", i), p, 2)
		}
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Fatalf("keys %v, want one key per tenant", keys)
	}
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		if !strings.HasPrefix(rest, "{tenant-") || !strings.HasSuffix(rest, "}:q") {
			t.Errorf("key %q lacks the {tenant} hash tag", k)
		}
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 {
			t.Errorf("key %q has TTL %v (%v): every key must expire", k, ttl, err)
		}
	}
	for i, p := range plans[:3] {
		key := fmt.Sprintf("tenant-%d", i)
		exp, _ := c.ExpireTime(ctx, quotaKey(l, key)).Result()
		end, _ := quotaCount(t, c, l, key, p)
		want := end + int64(DefaultQuotaMargin/time.Second)
		if got := int64(exp / time.Second); got < want || got > want+60 {
			t.Errorf("key of %s expires at %d, want its period end %d plus the margin (and at most a minute more)", key, got, end)
		}
	}
}

// TestHammerThreeReplicas: three limiters (three replicas, each with its
// own client) share one Redis under 64 goroutines for 2 s; the total allowed
// lies within [burst + rate·t − 1%, burst + rate·t + 1].
func TestHammerThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("2 s load test")
	}
	addr := redistest.Addr(t)
	prefix := redistest.Prefix(t)
	var replicas []*Limiter
	// The test counts admissions, not latency: with the default decision
	// timeout a CI run, its other test binaries sharing the two cores,
	// saw 23 decisions time out and fail open.
	for range 3 {
		c := newClientTimeout(t, addr, 5*time.Second)
		replicas = append(replicas, mustNew(t, c, WithPrefix(prefix), WithDecisionTimeout(5*time.Second)))
	}
	// The offered load must exceed the rate at all times, or the count
	// measures Redis throughput instead of the limit: under -race on a
	// loaded 2-core machine three replicas manage about 1,000 decisions a
	// second, and far fewer when other test binaries share the cores (a CI
	// run allowed 550 of 608 at 250/s, burst 50), so the rate stays well
	// below that, and the burst holds a second of refill: a stall shorter
	// than that loses no tokens.
	const r, burst = 100, 100
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "free", Rate: ratelimit.PerSecond(r), Burst: burst})
	// Warm up: load the script and open the pools' connections, so that the
	// timed run measures decisions, not dials.
	loadtest.Hammer(64, 200*time.Millisecond, func() bool {
		for _, l := range replicas {
			_, _ = l.Take(ctx, "warmup", p, 1)
		}
		return false
	})
	var next atomic.Int64
	var failures atomic.Int64
	allowed, elapsed := loadtest.Hammer(64, 2*time.Second, func() bool {
		l := replicas[next.Add(1)%3]
		d, err := l.Take(ctx, "acme", p, 1)
		if err != nil || d.Degraded {
			failures.Add(1)
		}
		return d.Allowed
	})
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d decisions failed or degraded", n)
	}
	loadtest.CheckBucket(t, allowed, elapsed, burst, r)
}

// TestQuotaAcrossReplicas: exactly L requests pass per period across three
// replicas, request L+1 is denied by the quota, and the next period starts
// fresh. The period is a day anchored three seconds from now: the anchor is
// the billing-date feature, and it puts a period boundary where the test
// can wait for it on the Redis server's own clock.
func TestQuotaAcrossReplicas(t *testing.T) {
	addr := redistest.Addr(t)
	prefix := redistest.Prefix(t)
	c0 := newClient(t, addr)
	var replicas []*Limiter
	for i := range 3 {
		c := c0
		if i > 0 {
			c = newClient(t, addr)
		}
		replicas = append(replicas, mustNew(t, c, WithPrefix(prefix)))
	}
	const L = 60
	boundary := serverTime(t, c0).Truncate(time.Second).Add(3 * time.Second)
	p := ratelimit.MustPlan(ratelimit.Plan{
		Name:  "free",
		Rate:  ratelimit.PerHour(1), // no refill during the test: remaining is exact
		Burst: 10_000,
		Quota: ratelimit.Daily(L).AnchoredAt(boundary),
	})
	var allowed, quotaDenied atomic.Int64
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				d, err := replicas[w%3].Take(ctx, "acme", p, 1)
				if err != nil {
					t.Error(err)
					return
				}
				switch {
				case d.Allowed:
					allowed.Add(1)
				case d.DeniedBy == ratelimit.ReasonQuota:
					quotaDenied.Add(1)
				default:
					t.Errorf("denied by %v", d.DeniedBy)
				}
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != L || quotaDenied.Load() != 120-L {
		t.Fatalf("allowed %d, denied by quota %d: want exactly %d allowed", allowed.Load(), quotaDenied.Load(), L)
	}
	d := take(t, replicas[1], "acme", p, 1)
	if d.Allowed || d.DeniedBy != ratelimit.ReasonQuota || d.QuotaRemaining != 0 || !d.QuotaReset.Equal(boundary) {
		t.Fatalf("request L+1: %+v (want quota denial, reset at %v)", d, boundary)
	}
	if d.RetryAfter <= 0 || d.RetryAfter > 3*time.Second {
		t.Errorf("RetryAfter %v: want the time to the boundary", d.RetryAfter)
	}
	if d.Remaining != 10_000-L {
		t.Errorf("quota denial spent rate: remaining %d", d.Remaining)
	}

	time.Sleep(time.Until(boundary) + 50*time.Millisecond)
	deadline := time.Now().Add(2 * time.Second)
	for serverTime(t, c0).Before(boundary) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 3 {
		d := take(t, replicas[i], "acme", p, 1)
		if !d.Allowed || d.QuotaRemaining != int64(L-1-i) || !d.QuotaReset.Equal(boundary.Add(24*time.Hour)) {
			t.Fatalf("next period, request %d: %+v", i, d)
		}
	}
	// The first request of the period dropped the last period's count.
	if end, n := quotaCount(t, c0, replicas[0], "acme", p); end != boundary.Add(24*time.Hour).Unix() || n != 3 {
		t.Fatalf("quota hash holds period %d count %d after the boundary", end, n)
	}
}

func serverTime(t testing.TB, c redis.UniversalClient) time.Time {
	t.Helper()
	tm, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// quotaCount returns the period end and count of key under p's kind of
// quota period, as the tenant's hash holds them.
func quotaCount(t *testing.T, c redis.UniversalClient, l *Limiter, key string, p *ratelimit.Plan) (end, n int64) {
	t.Helper()
	kind := l.buildArgs(p).kind
	v, err := c.HMGet(ctx, quotaKey(l, key), "e"+kind, "c"+kind).Result()
	if err != nil {
		t.Fatal(err)
	}
	if v[0] == nil || v[1] == nil {
		t.Fatalf("hash of %q holds no count of kind %s", key, kind)
	}
	end, _ = strconv.ParseInt(v[0].(string), 10, 64)
	n, _ = strconv.ParseInt(v[1].(string), 10, 64)
	return end, n
}

// quotaKey returns the name of the tenant hash of key.
func quotaKey(l *Limiter, key string) string { return l.keys(key)[0] }

// A quota hash written by the previous layout ("<prefix>{key}:q" with the
// TAT in t and the count in a field named by the period end) keeps its
// count for the rest of its period.
func TestQuotaPreviousLayoutKeepsCount(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(100), Burst: 100, Quota: ratelimit.Daily(10)})
	_, end := p.Quota.Bounds(serverTime(t, c))
	old := prefix + "{old}:q"
	if err := c.HSet(ctx, old, "t", 0, strconv.FormatInt(end.Unix(), 10), 7).Err(); err != nil {
		t.Fatal(err)
	}
	c.Expire(ctx, old, time.Hour)
	if d := take(t, l, "old", p, 1); !d.Allowed || d.QuotaRemaining != 2 {
		t.Fatalf("%+v: want the 7 spent under the previous layout to count", d)
	}
	if e, n := quotaCount(t, c, l, "old", p); e != end.Unix() || n != 8 {
		t.Fatalf("hash holds period %d count %d, want %d and 8", e, n, end.Unix())
	}
	// A stale period in the previous layout counts as nothing.
	old2 := prefix + "{old2}:q"
	c.HSet(ctx, old2, "t", 0, strconv.FormatInt(end.Unix()-86400, 10), 9)
	c.Expire(ctx, old2, time.Hour)
	if d := take(t, l, "old2", p, 1); !d.Allowed || d.QuotaRemaining != 9 {
		t.Fatalf("%+v: want a stale previous-layout count ignored", d)
	}
}

func TestDeniedSpendsNothing(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix))
	t.Run("rate denial keeps quota", func(t *testing.T) {
		p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerHour(1), Burst: 2, Quota: ratelimit.Daily(100)})
		take(t, l, "r", p, 2)
		for range 20 {
			if d := take(t, l, "r", p, 1); d.Allowed || d.DeniedBy != ratelimit.ReasonRate || d.QuotaRemaining != 98 {
				t.Fatalf("%+v", d)
			}
		}
		if _, n := quotaCount(t, c, l, "r", p); n != 2 {
			t.Fatalf("quota count %d after rate denials, want 2", n)
		}
	})
	t.Run("quota denial keeps rate", func(t *testing.T) {
		p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerHour(1), Burst: 10, Quota: ratelimit.Daily(3)})
		take(t, l, "q", p, 3)
		tat, _ := c.HGet(ctx, prefix+"{q}:q", "t").Result()
		for range 20 {
			if d := take(t, l, "q", p, 1); d.Allowed || d.DeniedBy != ratelimit.ReasonQuota || d.Remaining != 7 {
				t.Fatalf("%+v", d)
			}
		}
		if after, _ := c.HGet(ctx, prefix+"{q}:q", "t").Result(); after != tat || tat == "" {
			t.Fatalf("rate state changed by quota denials: %s -> %s", tat, after)
		}
		p2 := ratelimit.MustPlan(ratelimit.Plan{Name: "p2", Rate: ratelimit.PerHour(1), Burst: 10, Quota: ratelimit.Daily(30)})
		if d := take(t, l, "q", p2, 7); !d.Allowed || d.Remaining != 0 || d.QuotaRemaining != 20 {
			t.Fatalf("after upgrade: %+v", d)
		}
	})
	t.Run("in-flight denial keeps both", func(t *testing.T) {
		p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerHour(1), Burst: 10, Quota: ratelimit.Daily(100), InFlight: 2})
		a, b := take(t, l, "f", p, 1), take(t, l, "f", p, 1)
		if !a.Slot.Held() || !b.Slot.Held() {
			t.Fatal("no slots held")
		}
		for range 10 {
			if d := take(t, l, "f", p, 1); d.Allowed || d.DeniedBy != ratelimit.ReasonInFlight || d.RetryAfter != ratelimit.InFlightRetryAfter || d.Slot.Held() {
				t.Fatalf("%+v", d)
			}
		}
		a.Release()
		d := take(t, l, "f", p, 1)
		if !d.Allowed || d.Remaining != 7 || d.QuotaRemaining != 97 {
			t.Fatalf("after release: %+v", d)
		}
		d.Release()
		b.Release()
		if n := l.inflight.Count("f"); n != 0 {
			t.Fatalf("%d still in flight", n)
		}
	})
}

// A denied request gives its in-flight slot back at once.
func TestInFlightReleasedOnDenial(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerHour(1), Burst: 1, InFlight: 1})
	take(t, l, "k", p, 1).Release()
	for range 5 {
		if d := take(t, l, "k", p, 1); d.DeniedBy != ratelimit.ReasonRate {
			t.Fatalf("%+v", d)
		}
	}
	if n := l.inflight.Count("k"); n != 0 {
		t.Fatalf("denials hold %d slots", n)
	}
}

// TestNoScript flushes the server's script cache in the middle of a run:
// EVALSHA answers NOSCRIPT and the limiter loads the script again with EVAL,
// without an error or a degraded decision.
func TestNoScript(t *testing.T) {
	c, prefix := shared(t)
	var errs atomic.Int64
	l := mustNew(t, c, WithPrefix(prefix), WithErrorHandler(func(context.Context, error) { errs.Add(1) }))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(100_000), Burst: 1000, Quota: ratelimit.Daily(1 << 40)})
	var wg sync.WaitGroup
	var n atomic.Int64
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d, err := l.Take(ctx, fmt.Sprintf("t%d", w), p, 1)
				if err != nil || d.Degraded || !d.Allowed {
					t.Errorf("decision during flush: %+v, %v", d, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	for range 5 {
		time.Sleep(30 * time.Millisecond)
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if ok, _ := c.ScriptExists(ctx, takeScript.Hash()).Result(); len(ok) == 1 && ok[0] {
			t.Log("script loaded again before SCRIPT EXISTS ran")
		}
	}
	time.Sleep(30 * time.Millisecond)
	close(stop)
	wg.Wait()
	if errs.Load() != 0 {
		t.Fatalf("%d errors reported", errs.Load())
	}
	if ok, _ := c.ScriptExists(ctx, takeScript.Hash()).Result(); len(ok) != 1 || !ok[0] {
		t.Fatal("script not loaded again after the flush")
	}
	t.Logf("%d decisions across 5 flushes", n.Load())
}

// The Lua period arithmetic agrees with ratelimit.Quota.Bounds.
func TestPeriodLuaMatchesGo(t *testing.T) {
	// About 3,000 scripts in one pipeline: a CI run on a loaded machine
	// timed out writing it within the shared client's 250ms.
	c := newClientTimeout(t, redistest.Addr(t), 10*time.Second)
	l := mustNew(t, c)
	script := redis.NewScript(periodLua + `return period_end(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))`)
	rng := rand.New(rand.NewPCG(3, 4))
	var quotas []ratelimit.Quota
	for _, q := range []ratelimit.Quota{ratelimit.Daily(1), ratelimit.Weekly(1), ratelimit.Monthly(1)} {
		quotas = append(quotas, q)
		for range 40 {
			quotas = append(quotas, q.AnchoredAt(time.Unix(rng.Int64N(4_000_000_000), 0)))
		}
		quotas = append(quotas, q.AnchoredAt(time.Date(2024, 1, 31, 23, 59, 59, 0, time.UTC)))
	}
	pipe := c.Pipeline()
	type check struct {
		at   int64
		q    ratelimit.Quota
		want int64
		cmd  *redis.Cmd
	}
	var checks []check
	for _, q := range quotas {
		p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(1), Burst: 1, Quota: q})
		args := l.buildArgs(p).args
		for range 25 {
			at := rng.Int64N(4_100_000_000)
			if rng.IntN(4) == 0 { // near a boundary
				_, e := q.Bounds(time.Unix(at, 0))
				at = e.Unix() - 1 + rng.Int64N(3)
			}
			_, end := q.Bounds(time.Unix(at, 0))
			cmd := script.Eval(ctx, pipe, nil, at, args[argCalendar], args[argCalendar+1], args[argCalendar+2])
			checks = append(checks, check{at, q, end.Unix(), cmd})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ch := range checks {
		got, err := ch.cmd.Int64()
		if err != nil || got != ch.want {
			t.Fatalf("%v at %v: Lua says period ends %v, Go %v (%v)", ch.q, time.Unix(ch.at, 0).UTC(), time.Unix(got, 0).UTC(), time.Unix(ch.want, 0).UTC(), err)
		}
	}
	t.Logf("%d instants agree", len(checks))
}

func TestCanceledContextIsNotAnOutage(t *testing.T) {
	c, prefix := shared(t)
	var errs atomic.Int64
	l := mustNew(t, c, WithPrefix(prefix), WithErrorHandler(func(context.Context, error) { errs.Add(1) }))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(1), Burst: 1, InFlight: 1})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := l.Take(cctx, "k", p, 1)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if errs.Load() != 0 || l.one.until.Load() != 0 {
		t.Fatal("a canceled request counted as a Redis failure")
	}
	if l.inflight.Count("k") != 0 {
		t.Fatal("slot kept after an error")
	}
}

// The tenant's hash lives until its bucket is full again, however long
// that is, and a margin past its quota period.
func TestKeyExpiries(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix), WithQuotaMargin(time.Second))
	end := serverTime(t, c).Truncate(time.Second).Add(10 * time.Second)
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "slow", Rate: ratelimit.PerHour(1), Burst: 100, Quota: ratelimit.Daily(1000).AnchoredAt(end)})
	q := ratelimit.MustPlan(ratelimit.Plan{Name: "fast", Rate: ratelimit.PerSecond(1000), Burst: 100, Quota: ratelimit.Daily(1000).AnchoredAt(end)})
	expiry := func(key string) time.Time {
		exp, err := c.PExpireTime(ctx, prefix+"{"+key+"}:q").Result()
		if err != nil || exp <= 0 {
			t.Fatalf("%s: expiry %v, %v", key, exp, err)
		}
		return time.UnixMilli(int64(exp / time.Millisecond))
	}
	d := take(t, l, "k", p, 50)
	if !d.Allowed || !d.QuotaReset.Equal(end) {
		t.Fatalf("%+v", d)
	}
	exp := expiry("k")
	if full := serverTime(t, c).Add(50 * time.Hour); exp.Before(full.Add(-time.Second)) {
		t.Fatalf("hash expires at %v, before its bucket is full at %v", exp, full)
	}
	take(t, l, "k", p, 10)
	if exp2 := expiry("k"); !exp2.After(exp) {
		t.Fatalf("expiry %v not extended past %v", exp2, exp)
	}
	take(t, l, "f", q, 1)
	if exp := expiry("f"); exp.Before(end.Add(time.Second)) || exp.After(end.Add(62*time.Second)) {
		t.Fatalf("hash expires at %v, want its period end %v plus the margin of 1 s (and at most a minute more)", exp, end)
	}
	// A rate-only plan on the same tenant never moves the expiry earlier.
	r := ratelimit.MustPlan(ratelimit.Plan{Name: "r", Rate: ratelimit.PerSecond(1000), Burst: 100})
	before := expiry("f")
	take(t, l, "f", r, 1)
	if after := expiry("f"); after.Before(before) {
		t.Fatalf("a rate-only request moved the expiry from %v to %v", before, after)
	}
}

// The script trusts the client's expected period only when the server's
// clock is inside it.
func TestScriptIgnoresWrongExpectedPeriod(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(10), Burst: 10, Quota: ratelimit.Monthly(100)})
	_, args, _ := l.argsFor(p, time.Now().UnixNano(), 1)
	args = slices.Clone(args)
	args[argPeriod], args[argPeriod+1] = "0", "86400" // 1970-01-01: a clock far off
	r, err := takeScript.Run(ctx, c, l.keys("k"), args...).Int64Slice()
	if err != nil {
		t.Fatal(err)
	}
	_, want := p.Quota.Bounds(serverTime(t, c))
	if r[0] != 0 || r[4] != want.Unix() {
		t.Fatalf("reply %v: want allowed with period end %v", r, want)
	}
}

// A Limiter runs on any go-redis Scripter, such as the client's
// AutoPipeliner, which batches the decisions of concurrent callers into
// pipelines: decisions stay exact when one replica pipelines and another
// does not.
func TestAutoPipeliner(t *testing.T) {
	c, prefix := shared(t)
	ap, err := c.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	replicas := []*Limiter{mustNew(t, ap, WithPrefix(prefix)), mustNew(t, c, WithPrefix(prefix))}
	const L = 50
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerHour(1), Burst: 1000, Quota: ratelimit.Daily(L)})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for range 4 {
				d, err := replicas[g%2].Take(ctx, "ap", p, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				} else if d.DeniedBy != ratelimit.ReasonQuota {
					t.Errorf("denied by %v", d.DeniedBy)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != L {
		t.Fatalf("%d allowed of 128 under a quota of %d", n, L)
	}
}

// The client decodes the script's times with scriptEpoch: it must be the
// script's own.
func TestScriptEpoch(t *testing.T) {
	if want := "local epoch = " + strconv.Itoa(scriptEpoch) + "\n"; !strings.Contains(takeLua, want) {
		t.Fatalf("takeLua does not contain %q", want)
	}
}

// mustNew is New for tests whose options are valid.
func mustNew(tb testing.TB, client redis.Scripter, opts ...Option) *Limiter {
	tb.Helper()
	l, err := New(client, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

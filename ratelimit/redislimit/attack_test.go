package redislimit

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/ratelimit"
)

// Finding 9. A tenant that spent its monthly quota gets nothing more by
// alternating with a tier of another period kind: each kind has its own
// count and no request of one deletes the other's.
func TestPlanSwitchKeepsQuota(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix))
	free := ratelimit.MustPlan(ratelimit.Plan{Name: "free", Rate: ratelimit.PerSecond(1000), Burst: 1000, Quota: ratelimit.Monthly(5)})
	trial := ratelimit.MustPlan(ratelimit.Plan{Name: "trial", Rate: ratelimit.PerSecond(1000), Burst: 1000, Quota: ratelimit.Daily(5)})
	for i := range 5 {
		if d := take(t, l, "acme", free, 1); !d.Allowed {
			t.Fatalf("free request %d: %+v", i, d)
		}
	}
	allowed := map[string]int{}
	for i := range 40 {
		p := []*ratelimit.Plan{trial, free}[i%2]
		if d := take(t, l, "acme", p, 1); d.Allowed {
			allowed[p.Name]++
		} else if d.DeniedBy != ratelimit.ReasonQuota {
			t.Fatalf("%s: denied by %v", p.Name, d.DeniedBy)
		}
	}
	if allowed["free"] != 0 || allowed["trial"] != 5 {
		t.Fatalf("alternating tiers allowed %v after the monthly quota was spent: want free 0, trial its own 5 a day", allowed)
	}
}

// Finding 9. One tenant has one rate bucket, whichever plan it is on.
func TestOneRateBucketPerTenant(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix))
	rateOnly := ratelimit.MustPlan(ratelimit.Plan{Name: "r", Rate: ratelimit.PerHour(1), Burst: 3})
	withQuota := ratelimit.MustPlan(ratelimit.Plan{Name: "q", Rate: ratelimit.PerHour(1), Burst: 3, Quota: ratelimit.Daily(100)})
	n := 0
	for i := range 12 {
		if d := take(t, l, "acme", []*ratelimit.Plan{rateOnly, withQuota}[i%2], 1); d.Allowed {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d allowed against a burst of 3 by alternating a rate-only and a quota plan", n)
	}
	// The TAT is a time: a slower plan sees the same bucket, emptier.
	slow := ratelimit.MustPlan(ratelimit.Plan{Name: "slow", Rate: ratelimit.PerHour(1), Burst: 4})
	if d := take(t, l, "acme", slow, 1); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("a burst of 4 after 3 spent: %+v, want the one left", d)
	}
}

// Finding 9. Upgrading and downgrading within a period kind keeps the
// count: an upgrade leaves the rest of the larger quota, a downgrade below
// what was spent denies.
func TestUpgradeDowngradeKeepsQuota(t *testing.T) {
	c, prefix := shared(t)
	l := mustNew(t, c, WithPrefix(prefix))
	free := ratelimit.MustPlan(ratelimit.Plan{Name: "free", Rate: ratelimit.PerSecond(1000), Burst: 1000, Quota: ratelimit.Monthly(5)})
	pro := ratelimit.MustPlan(ratelimit.Plan{Name: "pro", Rate: ratelimit.PerSecond(1000), Burst: 1000, Quota: ratelimit.Monthly(100)})
	take(t, l, "acme", free, 5)
	d := take(t, l, "acme", pro, 10)
	if !d.Allowed || d.QuotaRemaining != 85 {
		t.Fatalf("upgrade: %+v, want 85 of 100 left", d)
	}
	if d := take(t, l, "acme", free, 1); d.Allowed || d.DeniedBy != ratelimit.ReasonQuota {
		t.Fatalf("downgrade after 15 spent of a 5 quota: %+v", d)
	}
	if d := take(t, l, "acme", pro, 1); !d.Allowed || d.QuotaRemaining != 84 {
		t.Fatalf("upgrade again: %+v", d)
	}
}

// faulty wraps a Scripter and fails its script calls with a connection
// error while down is set, as a dead node would. It counts slot-map
// reloads as a cluster client would run them.
type faulty struct {
	redis.Scripter
	down    atomic.Bool
	reloads atomic.Int64
}

func (f *faulty) fail(ctx context.Context, cmd *redis.Cmd) *redis.Cmd {
	cmd.SetErr(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")})
	return cmd
}

func (f *faulty) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	if f.down.Load() {
		return f.fail(ctx, redis.NewCmd(ctx))
	}
	return f.Scripter.EvalSha(ctx, sha, keys, args...)
}

func (f *faulty) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	if f.down.Load() {
		return f.fail(ctx, redis.NewCmd(ctx))
	}
	return f.Scripter.Eval(ctx, script, keys, args...)
}

func (f *faulty) ReloadState(context.Context) { f.reloads.Add(1) }

// Finding 15. Over many outages within one quota period, a FallbackLocal
// tenant never gets more than its quota: the fallback starts from the last
// shared count, and Redis counts what the fallback allowed once it answers.
func TestFallbackKeepsSpentQuota(t *testing.T) {
	const L = 60
	for _, replicas := range []int{1, 3} {
		t.Run(strings.Repeat("r", replicas), func(t *testing.T) {
			c, prefix := shared(t)
			share := 1 / float64(replicas)
			p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(100_000), Burst: 10_000, Quota: ratelimit.Daily(L), OnBackendFailure: ratelimit.FallbackLocal(share)})
			var fs []*faulty
			var ls []*Limiter
			for range replicas {
				f := &faulty{Scripter: c}
				fs = append(fs, f)
				ls = append(ls, mustNew(t, f, WithPrefix(prefix), WithRetryInterval(time.Millisecond)))
			}
			allowed := 0
			for cycle := range 12 {
				down := cycle%2 == 1
				for _, f := range fs {
					f.down.Store(down)
				}
				time.Sleep(2 * time.Millisecond) // past the retry interval
				for i := range 3 + 2*cycle {
					d, err := ls[i%replicas].Take(ctx, "acme", p, 1)
					if err != nil {
						t.Fatal(err)
					}
					if d.Degraded != down && !(d.Degraded && i < replicas) {
						t.Fatalf("cycle %d request %d: degraded %v", cycle, i, d.Degraded)
					}
					if d.Allowed {
						allowed++
					}
				}
			}
			t.Logf("%d replicas: %d allowed of a quota of %d over 6 outages", replicas, allowed, L)
			if allowed > L {
				t.Fatalf("%d allowed over outages, quota %d", allowed, L)
			}
		})
	}
}

// Finding 13. A node fault asks a cluster client for a slot-map reload, at
// most once per reloadInterval.
func TestNodeFaultReloadsSlotMap(t *testing.T) {
	c, prefix := shared(t)
	f := &faulty{Scripter: c}
	l := mustNew(t, f, WithPrefix(prefix), WithRetryInterval(10*time.Millisecond))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(1000), Burst: 1000, OnBackendFailure: ratelimit.FailOpen()})
	take(t, l, "k", p, 1)
	if f.reloads.Load() != 0 {
		t.Fatal("reload without a fault")
	}
	f.down.Store(true)
	start := time.Now()
	for time.Since(start) < 1200*time.Millisecond {
		take(t, l, "k", p, 1)
		time.Sleep(time.Millisecond)
	}
	if n := f.reloads.Load(); n < 1 || n > 3 {
		t.Fatalf("%d slot-map reloads in 1.2 s of faults, want 1 to 3", n)
	}
}

// blackhole accepts connections and never answers, as a stalled node.
func blackhole(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, cn)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, cn := range conns {
			cn.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// stalledDial returns a loopback address whose connects hang: a socket
// that listens with a backlog of 0 and never accepts, with its one queued
// connection taken.
func stalledDial(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Cleanup(func() { c.Close() })
	}
	if c, err := net.DialTimeout("tcp", addr, 50*time.Millisecond); err == nil {
		c.Close()
		t.Skip("connects to a full backlog do not hang here")
	}
	return addr
}

// Finding 14. A stalled node costs a decision at most the decision
// timeout (with ContextTimeoutEnabled; without it, a read in progress
// runs to its ReadTimeout), however many retries and dial retries the
// client is set to make; the next decisions on that node skip it.
func TestDecisionTimeoutBoundsStall(t *testing.T) {
	stalls := map[string]string{"read": blackhole(t), "dial": stalledDial(t)}
	for _, stall := range []string{"read", "dial"} {
		for _, cte := range []bool{true, false} {
			c := redis.NewClient(&redis.Options{
				Addr:                  stalls[stall],
				DialTimeout:           200 * time.Millisecond,
				ReadTimeout:           200 * time.Millisecond,
				WriteTimeout:          200 * time.Millisecond,
				MaxRetries:            5,
				DialerRetries:         5,
				ContextTimeoutEnabled: cte,
			})
			t.Cleanup(func() { c.Close() })
			var log errLog
			l := mustNew(t, c, WithErrorHandler(log.handle), WithRetryInterval(time.Hour))
			p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(10), Burst: 10, OnBackendFailure: ratelimit.FailOpen()})
			start := time.Now()
			d, err := l.Take(ctx, "k", p, 1)
			took := time.Since(start)
			bound := DefaultDecisionTimeout + 100*time.Millisecond
			if !cte {
				bound += 200 * time.Millisecond
			}
			t.Logf("%s stall, ContextTimeoutEnabled %v: the decision took %v", stall, cte, took)
			if err != nil || !d.Allowed || !d.Degraded || took > bound {
				t.Fatalf("%s stall, ContextTimeoutEnabled %v: %+v, %v after %v, want fail open within %v", stall, cte, d, err, took, bound)
			}
			if log.count() != 1 {
				t.Fatalf("%d errors reported", log.count())
			}
			start = time.Now()
			if d, _ := l.Take(ctx, "k", p, 1); !d.Degraded || time.Since(start) > 10*time.Millisecond {
				t.Fatalf("next decision asked the stalled node again: %+v after %v", d, time.Since(start))
			}
		}
	}
	addr := stalls["read"]
	// A caller's own earlier deadline is the caller's: its error, no trip.
	c := newClient(t, addr)
	l := mustNew(t, c)
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(10), Burst: 10})
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Take(cctx, "k", p, 1); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("caller's deadline: %v", err)
	}
	if l.one.until.Load() != 0 {
		t.Fatal("the caller's deadline tripped the node's breaker")
	}
}

func TestWithDecisionTimeoutRejectsNonPositive(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		if _, err := New(newClient(t, "127.0.0.1:1"), WithDecisionTimeout(d)); !errors.Is(err, ratelimit.ErrInvalidOption) {
			t.Errorf("WithDecisionTimeout(%v): %v", d, err)
		}
	}
}

// Finding 12. Under maxmemory with noeviction, an OOM reply fails only
// the decision that had to write: tenants that spent their quota stay
// denied under FailOpen, and other decisions are not degraded.
func TestOOMFailsOnlyWritingDecisions(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	var log errLog
	l := mustNew(t, c, WithErrorHandler(log.handle))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(100_000), Burst: 10_000, Quota: ratelimit.Daily(3), OnBackendFailure: ratelimit.FailOpen()})
	const exhausted = 20
	for i := range exhausted {
		take(t, l, "spent-"+string(rune('a'+i)), p, 3)
	}
	// Fill the server a little (1 MB in one pipeline, through a client
	// patient enough for a loaded machine), then cap its memory below
	// what it uses.
	pipe := newClientTimeout(t, srv.Addr, 10*time.Second).Pipeline()
	for i := range 2000 {
		pipe.Set(ctx, "fill:"+string(rune(i)), strings.Repeat("x", 512), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "100kb").Err(); err != nil {
		t.Fatal(err)
	}
	// A writing decision answers OOM: its own policy (fail open), once.
	d, err := l.Take(ctx, "fresh", p, 1)
	if err != nil || !d.Allowed || !d.Degraded {
		t.Fatalf("writing decision under OOM: %+v, %v", d, err)
	}
	if log.count() != 1 || !strings.Contains(log.errs[0].Error(), "OOM") {
		t.Fatalf("errors %v, want one OOM", log.errs)
	}
	over := 0
	for i := range 2000 {
		d, err := l.Take(ctx, "spent-"+string(rune('a'+i%exhausted)), p, 1)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			over++
		} else if d.Degraded || d.DeniedBy != ratelimit.ReasonQuota {
			t.Fatalf("exhausted tenant: %+v", d)
		}
	}
	if over != 0 {
		t.Fatalf("%d of 2000 decisions of exhausted tenants allowed after an OOM reply", over)
	}
	if l.one.until.Load() != 0 {
		t.Fatal("an error reply tripped the breaker")
	}
}

// Finding 16. CheckEvictionPolicy passes noeviction only.
func TestCheckEvictionPolicy(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	for _, policy := range []string{"noeviction", "allkeys-lru", "volatile-lru", "volatile-ttl", "allkeys-lfu", "volatile-lfu", "allkeys-random", "volatile-random"} {
		if err := c.ConfigSet(ctx, "maxmemory-policy", policy).Err(); err != nil {
			t.Fatal(err)
		}
		err := CheckEvictionPolicy(ctx, c)
		if policy == "noeviction" {
			if err != nil {
				t.Errorf("noeviction: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrEvictionPolicy) || !strings.Contains(err.Error(), policy) {
			t.Errorf("%s: %v, want ErrEvictionPolicy naming the policy", policy, err)
		}
	}
	if err := CheckEvictionPolicy(ctx, newClient(t, "127.0.0.1:1")); !errors.Is(err, ErrEvictionPolicy) {
		t.Errorf("unreachable node: %v", err)
	}
}

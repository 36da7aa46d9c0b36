package redislimit

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/ratelimit"
)

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (e *errLog) handle(_ context.Context, err error) {
	e.mu.Lock()
	e.errs = append(e.errs, err)
	e.mu.Unlock()
}

func (e *errLog) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.errs)
}

func TestFailurePolicies(t *testing.T) {
	var log errLog
	frozen := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	l := mustNew(t, newClient(t, closedAddr(t)),
		WithRetryInterval(time.Hour),
		WithErrorHandler(log.handle),
		WithLocalOptions(ratelimit.WithClock(func() time.Time { return frozen })))
	closed := ratelimit.MustPlan(ratelimit.Plan{Name: "closed", Rate: ratelimit.PerSecond(10), Burst: 10})
	open := ratelimit.MustPlan(ratelimit.Plan{Name: "open", Rate: ratelimit.PerSecond(10), Burst: 10, InFlight: 1, OnBackendFailure: ratelimit.FailOpen()})
	local := ratelimit.MustPlan(ratelimit.Plan{Name: "local", Rate: ratelimit.PerSecond(10), Burst: 10, Quota: ratelimit.Monthly(1000), OnBackendFailure: ratelimit.FallbackLocal(0.5)})

	d, err := l.Take(ctx, "acme", closed, 1)
	if !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("fail closed: err = %v", err)
	}
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.Err == nil {
		t.Fatalf("error %T does not carry the Redis error", err)
	}
	if d.Allowed || d.DeniedBy != ratelimit.ReasonUnavailable || d.RetryAfter < time.Second || !d.Degraded || d.Plan != closed {
		t.Fatalf("fail closed: %+v", d)
	}
	if log.count() != 1 {
		t.Fatalf("%d errors reported, want 1", log.count())
	}

	// Redis failed less than the retry interval ago: it is not asked, and
	// nothing new is reported.
	d, err = l.Take(ctx, "acme", closed, 1)
	if !errors.Is(err, ratelimit.ErrUnavailable) || d.Allowed {
		t.Fatalf("fail closed while skipping: %+v, %v", d, err)
	}
	for range 3 {
		d, err = l.Take(ctx, "acme", open, 1)
		if err != nil || !d.Allowed || !d.Degraded || !d.Slot.Held() {
			t.Fatalf("fail open: %+v, %v", d, err)
		}
		if d2, _ := l.Take(ctx, "acme", open, 1); d2.DeniedBy != ratelimit.ReasonInFlight {
			t.Fatalf("in-flight cap not enforced during the outage: %+v", d2)
		}
		d.Release()
	}
	allowed := 0
	for range 20 {
		d, err := l.Take(ctx, "acme", local, 1)
		if err != nil || !d.Degraded || d.Plan != local {
			t.Fatalf("fallback: %+v, %v", d, err)
		}
		if d.Allowed {
			allowed++
			if d.QuotaLimit != 500 {
				t.Fatalf("fallback quota %d, want half of 1000", d.QuotaLimit)
			}
		} else if d.DeniedBy != ratelimit.ReasonRate {
			t.Fatalf("fallback denial: %+v", d)
		}
	}
	if allowed != 5 {
		t.Fatalf("fallback allowed %d, want the local share: half the burst of 10", allowed)
	}
	if log.count() != 1 {
		t.Fatalf("%d errors reported, want 1", log.count())
	}
}

// TestOutage stops the real redis-server in the middle of a run: fail
// closed answers ErrUnavailable, fail open allows, the fallback enforces its
// local share; after a restart the same limiter resumes shared limiting by
// itself. Load keeps running across both events; goleak (TestMain) checks
// that nothing is left behind.
func TestOutage(t *testing.T) {
	srv := redistest.Start(t)
	var log errLog
	l := mustNew(t, newClient(t, srv.Addr), WithRetryInterval(50*time.Millisecond), WithErrorHandler(log.handle))
	closed := ratelimit.MustPlan(ratelimit.Plan{Name: "closed", Rate: ratelimit.PerSecond(1000), Burst: 1000})
	open := ratelimit.MustPlan(ratelimit.Plan{Name: "open", Rate: ratelimit.PerSecond(1000), Burst: 1000, OnBackendFailure: ratelimit.FailOpen()})
	fallback := ratelimit.MustPlan(ratelimit.Plan{Name: "fallback", Rate: ratelimit.Per(10, time.Hour), Burst: 20, OnBackendFailure: ratelimit.FallbackLocal(0.5)})
	plans := []*ratelimit.Plan{closed, open, fallback}

	for _, p := range plans {
		if d := take(t, l, "check", p, 1); !d.Allowed || d.Degraded {
			t.Fatalf("%s before the outage: %+v", p.Name, d)
		}
	}

	// Background load across the outage.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var loadDecisions atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d, err := l.Take(ctx, "load", plans[(w+i)%3], 1)
				if err != nil && !errors.Is(err, ratelimit.ErrUnavailable) {
					t.Errorf("load: %v", err)
				}
				d.Release()
				loadDecisions.Add(1)
				time.Sleep(time.Millisecond)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)

	srv.Stop()

	d, err := l.Take(ctx, "check", closed, 1)
	if !errors.Is(err, ratelimit.ErrUnavailable) || d.Allowed || d.RetryAfter < time.Second {
		t.Fatalf("fail closed during the outage: %+v, %v", d, err)
	}
	for range 50 {
		if d, err := l.Take(ctx, "check", open, 1); err != nil || !d.Allowed || !d.Degraded {
			t.Fatalf("fail open during the outage: %+v, %v", d, err)
		}
	}
	allowed := 0
	for range 50 {
		d, err := l.Take(ctx, "local-share", fallback, 1)
		if err != nil || !d.Degraded {
			t.Fatalf("fallback during the outage: %+v, %v", d, err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("fallback allowed %d during the outage, want 10 (half the burst of 20)", allowed)
	}
	if log.count() == 0 {
		t.Fatal("no Redis failure reported")
	}
	time.Sleep(150 * time.Millisecond) // several retry intervals: probes fail too

	srv.Restart()

	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := l.Take(ctx, "after", closed, 1)
		if err == nil && d.Allowed && !d.Degraded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shared limiting did not resume: %+v, %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Shared again: the restarted (empty) Redis gives the full burst of 20,
	// not the local share of 10.
	allowed = 0
	for range 50 {
		d, err := l.Take(ctx, "local-share", fallback, 1)
		if err != nil || d.Degraded {
			t.Fatalf("after the restart: %+v, %v", d, err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 20 {
		t.Fatalf("after the restart %d allowed, want the shared burst of 20", allowed)
	}
	if d := take(t, l, "check", open, 1); d.Degraded {
		t.Fatalf("fail-open plan still degraded: %+v", d)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d background decisions, %d Redis failures reported", loadDecisions.Load(), log.count())
}

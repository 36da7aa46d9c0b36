package redislimit

import (
	"context"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/ratelimit"
)

// BenchmarkTake: one shared decision (rate and monthly quota) on the real
// Redis, one caller at a time.
func BenchmarkTake(b *testing.B) {
	c, prefix := shared(b)
	l := mustNew(b, c, WithPrefix(prefix))
	p := ratelimit.MustPlan(ratelimit.Plan{Name: "p", Rate: ratelimit.PerSecond(1_000_000), Burst: 1_000_000, Quota: ratelimit.Monthly(1 << 40)})
	take(b, l, "k", p, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Take(ctx, "k", p, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBound: what the decision timeout adds to a decision.
func BenchmarkBound(b *testing.B) {
	l := &Limiter{timeout: DefaultDecisionTimeout, deadlines: deadlines{timeout: DefaultDecisionTimeout}}
	b.Run("context.WithTimeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, cancel := context.WithTimeout(ctx, l.timeout)
			<-sink(c).Done()
			cancel()
		}
	})
	b.Run("shared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			<-sink(l.bound(ctx, time.Now().UnixNano())).Done()
		}
	})
	b.Run("earlier-deadline", func(b *testing.B) {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		b.ReportAllocs()
		for b.Loop() {
			sink(l.bound(cctx, time.Now().UnixNano()))
		}
	})
}

var sunk context.Context

// sink keeps c escaping, as it does into go-redis, and returns a context
// whose Done is already closed, so that the benchmark does not block.
func sink(c context.Context) context.Context {
	sunk = c
	_ = c.Done()
	return closed
}

var closed = func() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}()

package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestBucketMatchesRateLimiter drives one key of a Local and a
// rate.Limiter with the same random requests, pauses and plan changes, and
// checks that every decision and every Remaining agree: the bucket of Local
// is x/time/rate's arithmetic, not an approximation of it (the rule the
// limiter had when it called rate.Limiter on every decision).
func TestBucketMatchesRateLimiter(t *testing.T) {
	plans := []*Plan{
		MustPlan(Plan{Name: "a", Rate: PerSecond(10), Burst: 5}),
		MustPlan(Plan{Name: "b", Rate: Per(3, time.Second), Burst: 7}),
		MustPlan(Plan{Name: "c", Rate: PerMinute(100), Burst: 1}),
		MustPlan(Plan{Name: "d", Rate: Per(7, 3*time.Second), Burst: 20}),
		MustPlan(Plan{Name: "e", Rate: PerSecond(MaxRate), Burst: 1000}),
	}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 15))
		clk := newFakeClock()
		l := mustLocal(t, WithClock(clk.Now), WithSweepInterval(time.Hour))
		p := plans[rng.IntN(len(plans))]
		// A limiter that has been idle long enough to be full, as a new key.
		ref := rate.NewLimiter(p.limit, p.Burst)
		for i := range 2000 {
			switch r := rng.IntN(100); {
			case r < 5: // a plan change
				p = plans[rng.IntN(len(plans))]
				now := clk.Now()
				ref.SetLimitAt(now, p.limit)
				ref.SetBurstAt(now, p.Burst)
			case r < 60: // a pause: up to a second, often to the nanosecond
				clk.Advance(time.Duration(rng.Int64N(int64(time.Second))))
			case r < 70: // a pause of about one event's interval
				clk.Advance(p.Rate.Interval() + time.Duration(rng.Int64N(3)-1))
			}
			cost := 1 + rng.IntN(p.Burst)
			d, err := l.Take(ctx, "k", p, cost)
			if err != nil {
				t.Fatal(err)
			}
			// Local allows when the tokens are there; AllowN alone would
			// also allow a request short by less than a nanosecond's
			// refill.
			now := clk.Now()
			want := ref.TokensAt(now) >= float64(cost) && ref.AllowN(now, cost)
			if d.Allowed != want {
				t.Fatalf("seed %d request %d (plan %s, cost %d): allowed %v, rate.Limiter %v", seed, i, p.Name, cost, d.Allowed, want)
			}
			if tokens := ref.TokensAt(now); d.Remaining != max(0, int(tokens)) {
				t.Fatalf("seed %d request %d: remaining %d, rate.Limiter holds %v", seed, i, d.Remaining, tokens)
			}
		}
	}
}

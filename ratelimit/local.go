package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Local is the in-process limiter: one token bucket ([rate.Limiter]) per
// key, plus the key's quota counter and in-flight count, in a sharded map
// with a bound on the number of keys. It is safe for concurrent use, makes
// no allocation per decision once a key is known, and never fails.
//
// Local is exact under contention. x/time/rate reads the clock before it
// takes the bucket's lock (golang/go#71360), so a goroutine that read the
// time and was then delayed moves the bucket's clock backwards and the
// interval in between is refilled twice. Local reads the clock after it
// takes the shard's lock and passes that instant to AllowN, so every bucket
// sees a non-decreasing time (an injected clock that goes backwards is
// clamped to the key's last instant). It reads the monotonic clock only, which
// costs half of what time.Now does, and takes the wall time (which calendar
// quotas need) from an anchor each shard reads again at every sweep.
type Local struct {
	now        func() time.Time
	injected   bool
	seed       maphash.Seed
	mask       uint64
	shards     []shard
	perShard   int
	sweepEvery int64
	evicted    atomic.Uint64
}

// shard is padded to a cache line so that neighbouring locks do not share
// one.
type shard struct {
	mu        sync.Mutex
	m         map[string]*bucket
	sweepAt   int   // map size that triggers the next growth sweep
	peak      int   // largest size since the map was last rebuilt
	nextSweep int64 // unix ns of the next time-based sweep
	// base anchors the shard's clock: Take reads the monotonic clock alone
	// (time.Since, half the cost of time.Now) and adds it to base. base is
	// read again at every time-based sweep, so a step of the wall clock
	// reaches quota periods within one sweep interval.
	base time.Time
}

// bucket is the state of one key: 128 bytes, with the map entry and the
// key string outside it.
//
// lim decides; tokens and at mirror its state (the tokens it held at unix
// ns at, with the same arithmetic) so that an allowed decision can report
// what remains without taking lim's lock a second time. A denial reads lim
// itself and resynchronises the mirror.
type bucket struct {
	lim      rate.Limiter
	plan     *Plan
	at       int64   // unix ns of the last decision that read or changed lim
	tokens   float64 // lim's tokens at at
	qUsed    int64   // quota spent in the period ending at qEnd
	qEnd     int64   // unix ns; 0 before the first quota decision
	inflight atomic.Int32
}

const minSweepAt = 64

var errNotReady = fmt.Errorf("%w: the plan was not built by NewPlan or NewPlans", ErrInvalidPlan)

var errEmptyKey = fmt.Errorf("%w: empty key", ErrInvalidKey)

// NewLocal returns an in-process limiter. An option with an invalid value
// is an error wrapping [ErrInvalidOption].
func NewLocal(opts ...Option) (*Local, error) {
	c := newConfig(opts)
	if c.err != nil {
		return nil, c.err
	}
	n := c.shards
	if n <= 0 {
		n = 256
		for n > 1 && c.maxKeys/n < 16 {
			n /= 2
		}
	}
	l := &Local{
		now:        c.now,
		injected:   c.injected,
		seed:       maphash.MakeSeed(),
		mask:       uint64(n - 1),
		shards:     make([]shard, n),
		perShard:   max(1, c.maxKeys/n),
		sweepEvery: int64(c.sweepInterval),
	}
	start := time.Now()
	for i := range l.shards {
		l.shards[i].sweepAt = minSweepAt
		l.shards[i].base = start
	}
	return l, nil
}

// CheckCost returns an error wrapping [ErrInvalidCost] unless cost is
// between 1 and p's burst. Backends call it before deciding.
func CheckCost(p *Plan, cost int) error {
	if cost < 1 || cost > p.Burst {
		return fmt.Errorf("%w: cost %d outside 1..%d (the burst of plan %q)", ErrInvalidCost, cost, p.Burst, p.Name)
	}
	return nil
}

// CheckPlan returns an error wrapping [ErrInvalidPlan] unless p came from
// [NewPlan] or [NewPlans].
func CheckPlan(p *Plan) error {
	if !p.Ready() {
		return errNotReady
	}
	return nil
}

// Take implements [Limiter]. It never returns an error for a valid plan,
// cost and a non-empty key.
func (l *Local) Take(_ context.Context, key string, p *Plan, cost int) (d Decision, err error) {
	if !p.Ready() {
		return Decision{}, errNotReady
	}
	if cost < 1 || cost > p.Burst {
		return Decision{Plan: p}, CheckCost(p, cost)
	}
	if key == "" {
		return Decision{Plan: p}, errEmptyKey
	}
	s := &l.shards[maphash.String(l.seed, key)&l.mask]
	s.mu.Lock()
	// The clock is read under the lock: see the type's documentation.
	var now time.Time
	if l.injected {
		now = l.now()
	} else {
		now = s.base.Add(time.Since(s.base))
	}
	ns := now.UnixNano()
	if ns >= s.nextSweep {
		s.sweep(ns)
		s.nextSweep = ns + l.sweepEvery
		if !l.injected {
			s.base = time.Now()
		}
	}
	b := s.m[key]
	if b == nil {
		b = l.insert(s, key, p, now, ns)
	} else if ns < b.at && l.injected {
		// time.Now is monotonic and read under the lock, so only an
		// injected clock can go backwards: never let lim see that.
		ns = b.at
		now = time.Unix(0, ns)
	}
	if b.plan != p {
		b.reconfigure(p, now)
	}
	b.decide(&d, p, cost, now, ns)
	s.mu.Unlock()
	return d, nil
}

// decide fills d, which is zero, for a request of cost under p at now (ns
// in unix nanoseconds).
func (b *bucket) decide(d *Decision, p *Plan, cost int, now time.Time, ns int64) {
	d.Plan, d.Limit = p, p.Rate.N
	hasQuota := p.Quota.Limit > 0
	if hasQuota && ns >= b.qEnd {
		_, end := periodBounds(p.Quota.Period, p.anchor, p.anchored, floorDiv(ns, 1e9))
		b.qUsed = 0
		b.qEnd = end * 1e9
	}
	tokens := b.tokens
	if elapsed := ns - b.at; elapsed > 0 {
		tokens += float64(elapsed) / 1e9 * float64(p.limit)
		if burst := float64(p.Burst); tokens > burst {
			tokens = burst
		}
	}
	c := float64(cost)
	switch {
	case p.InFlight > 0 && int(b.inflight.Load()) >= p.InFlight:
		d.DeniedBy = ReasonInFlight
		d.RetryAfter = InFlightRetryAfter
	case hasQuota && b.qUsed+int64(cost) > p.Quota.Limit:
		d.DeniedBy = ReasonQuota
		d.RetryAfter = time.Duration(b.qEnd - ns)
	case tokens >= c && b.lim.AllowN(now, cost):
		d.Allowed = true
	default:
		// Ask lim itself, and allow if the mirror was merely behind.
		tokens = b.lim.TokensAt(now)
		if tokens >= c && b.lim.AllowN(now, cost) {
			d.Allowed = true
		} else {
			d.DeniedBy = ReasonRate
			d.RetryAfter = durationFor(c-tokens, p.limit)
			b.tokens, b.at = tokens, ns
		}
	}
	if d.Allowed {
		tokens -= c
		b.tokens, b.at = tokens, ns
		if hasQuota {
			b.qUsed += int64(cost)
		}
		if p.InFlight > 0 {
			b.inflight.Add(1)
			d.Slot = Slot{n: &b.inflight}
		}
	}
	if tokens > 0 {
		d.Remaining = int(tokens)
	}
	d.ResetAfter = durationFor(float64(p.Burst)-tokens, p.limit)
	if hasQuota {
		d.QuotaLimit = p.Quota.Limit
		d.QuotaRemaining = p.Quota.Limit - b.qUsed
		d.QuotaReset = time.Unix(0, b.qEnd).UTC()
	}
}

// durationFor returns the time the bucket takes to refill tokens, rounded
// up to the nanosecond.
func durationFor(tokens float64, limit rate.Limit) time.Duration {
	if tokens <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(tokens / float64(limit) * float64(time.Second)))
}

func (l *Local) insert(s *shard, key string, p *Plan, now time.Time, ns int64) *bucket {
	if s.m == nil {
		s.m = make(map[string]*bucket)
	}
	if len(s.m) >= s.sweepAt {
		s.sweep(ns)
	}
	for len(s.m) >= l.perShard {
		if !s.evictOne(ns) {
			break // every key has requests in flight: they bound the overflow
		}
		l.evicted.Add(1)
	}
	b := &bucket{plan: p, at: ns, tokens: float64(p.Burst)}
	// A new key starts with a full bucket, as if it had been idle long
	// enough to refill: x/time/rate offers no other way to fill a Limiter
	// that is not allocated by NewLimiter.
	past := now.Add(-time.Duration(p.fillTime))
	b.lim.SetBurstAt(past, p.Burst)
	b.lim.SetLimitAt(past, p.limit)
	s.m[strings.Clone(key)] = b
	if len(s.m) > s.peak {
		s.peak = len(s.m)
	}
	return b
}

func (b *bucket) reconfigure(p *Plan, now time.Time) {
	old := b.plan
	b.lim.SetLimitAt(now, p.limit)
	b.lim.SetBurstAt(now, p.Burst)
	b.tokens, b.at = b.lim.TokensAt(now), now.UnixNano()
	if old.Quota.Period != p.Quota.Period || !old.Quota.Anchor.Equal(p.Quota.Anchor) {
		b.qUsed, b.qEnd = 0, 0
	}
	b.plan = p
}

// idle reports whether forgetting b changes no future decision.
func (b *bucket) idle(ns int64) bool {
	p := b.plan
	return b.inflight.Load() == 0 &&
		ns-b.at >= p.fillTime &&
		(p.Quota.Limit == 0 || b.qUsed == 0 || ns >= b.qEnd)
}

// sweep drops the idle buckets of s and, when the map has shrunk to a
// quarter of its peak, rebuilds it so that the memory is returned (Go maps
// never shrink).
func (s *shard) sweep(ns int64) {
	for k, b := range s.m {
		if b.idle(ns) {
			delete(s.m, k)
		}
	}
	n := len(s.m)
	s.sweepAt = max(2*n, minSweepAt)
	if s.peak >= minSweepAt && n < s.peak/4 {
		if n == 0 {
			s.m = nil
		} else {
			m := make(map[string]*bucket, n)
			for k, b := range s.m {
				m[k] = b
			}
			s.m = m
		}
		s.peak = n
	}
}

// evictOne forgets one key of a full shard: an idle one if a small sample
// has one, else the least recently used of the sample that has nothing in
// flight. It reports false when the sample is all in flight.
func (s *shard) evictOne(ns int64) bool {
	const samples = 8
	var (
		victim string
		oldest int64 = math.MaxInt64
		seen   int
	)
	for k, b := range s.m { // map iteration starts at a random entry
		if b.idle(ns) {
			delete(s.m, k)
			return true
		}
		if b.inflight.Load() == 0 && b.at < oldest {
			victim, oldest = k, b.at
		}
		if seen++; seen == samples {
			break
		}
	}
	if oldest == math.MaxInt64 {
		return false
	}
	delete(s.m, victim)
	return true
}

// Sweep drops every idle bucket now (see [WithSweepInterval]) and returns
// the memory of shards that shrank. Take sweeps on its own; Sweep is for
// callers that want memory back at a moment of their choosing.
func (l *Local) Sweep() {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		s.sweep(l.now().UnixNano())
		s.mu.Unlock()
	}
}

// Len returns the number of keys the limiter tracks.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Evicted returns how many keys were forgotten before they were idle because
// the key bound was reached (see [WithMaxKeys]). A growing count means the
// bound is too small.
func (l *Local) Evicted() uint64 { return l.evicted.Load() }

var _ Limiter = (*Local)(nil)

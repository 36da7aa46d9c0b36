package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/time/rate"

	"github.com/tenantkit/tenantkit/internal/shardmap"
)

// Local is the in-process limiter: one token bucket per key, with the
// arithmetic of [rate.Limiter] (tokens refill at the plan's rate up to its
// burst; a request of cost n is allowed when n tokens are there, and a
// denied one spends none), plus the key's quota counters and in-flight
// count, in a sharded map with a bound on the number of keys: 256 shards,
// each with its own lock (8 when GOMAXPROCS is 1 as the limiter is made,
// and fewer when WithMaxKeys leaves a shard under 16 keys). It is safe for
// concurrent use and makes no allocation per decision once a key is known.
//
// A key keeps one rate bucket and one quota counter per period kind (day,
// week or month, and anchor) across plan changes: a request under a new plan
// reconfigures the bucket's rate and burst without refilling it, and counts
// against the counter of its plan's period, which a request under another
// plan never resets. So an upgrade from 5 to 1000 a month with 5 spent leaves
// 995, and alternating between a daily and a monthly plan allows what the
// two counters allow together, not a fresh quota at each switch. A key holds
// at most [MaxQuotaPeriods] counters with quota spent in periods that have not
// ended; a plan that needs one more fails with [ErrCapacity].
//
// Local never forgets quota spent in a period that has not ended, nor a key
// with requests in flight. When the key bound ([WithMaxKeys]) is reached it
// forgets an idle key, else the least recently used key whose state is its
// rate bucket alone (which is lenient by at most one burst for that key); keys
// with requests in flight may take it past the bound by at most their number.
// When the limiter holds its bound of keys and every key of the new key's
// shard holds spent quota, the request fails with an error wrapping
// [ErrCapacity] (and so [ErrUnavailable]: HTTP 503, gRPC Unavailable) and a
// RetryAfter until the first of their periods ends. Give untenanted traffic a
// Local of its own so that it cannot fill the tenants'.
//
// Local is exact under contention. x/time/rate reads the clock before it
// takes the bucket's lock (golang/go#71360), so a goroutine that read the
// time and was then delayed moves the bucket's clock backwards and the
// interval in between is refilled twice. Local reads the clock after it
// takes the shard's lock, and never lets a bucket's time go backwards (an
// injected clock that does, or a step back of the wall clock, is clamped to
// the key's last instant). It reads the monotonic clock only, which costs
// half of what time.Now does, and takes the wall time (which calendar
// quotas need) from an anchor that each shard's time-based sweep reads
// again.
type Local struct {
	now      func() time.Time
	injected bool
	// off anchors the clock: Take reads the monotonic clock alone
	// (time.Since of start, half the cost of time.Now) and adds off, the
	// unix ns of a wall-clock reading less its monotonic reading since the
	// start. A shard's time-based sweep reads the wall clock again, so a
	// step of the wall clock reaches quota periods within one sweep
	// interval. It sits apart from keys and evicted, which inserts write.
	off        atomic.Int64
	offNow     func() int64 // a fresh off: wallOff; tests step the wall clock
	start      time.Time    // the monotonic origin of the clock
	seed       maphash.Seed // the shards' seed (see shardOf)
	shards     []shard      // a power-of-two number, from shardmap.MakeShards
	perShard   int
	sweepEvery int64
	maxKeys    int64
	keys       atomic.Int64 // keys tracked, across shards
	evicted    atomic.Uint64
}

// shard is one lock and the keys it guards, in one 64-byte line
// (TestShardSizes; shardmap.MakeShards panics on a size that is not whole
// lines), so that no shard's fields share a line with its neighbour's lock.
// It holds what every decision reads and what inserts and sweeps count;
// the state few shards need is behind rare. One line rather than two keeps
// the 256 shards' locks in 16 KB, which a core's caches keep warm under a
// decision's other misses (BenchmarkTakeInterleaved: 4% of a decision at
// -cpu 1).
type shard struct {
	// On 64-bit platforms the state is one line and there is no padding;
	// on 32-bit ones it pads the state to the line. It comes first: Go pads
	// a struct that ends in a field of size zero.
	_ [(shardmap.LineSize - unsafe.Sizeof(shardState{})%shardmap.LineSize) % shardmap.LineSize]byte
	shardState
}

// shardState is the fields of a shard.
type shardState struct {
	mu        sync.Mutex
	idx       index // the keys and their buckets
	nextSweep int64 // unix ns of the next time-based sweep
	sweepAt   int32 // key count that triggers the next growth sweep
	peak      int32 // largest key count since the index was last rebuilt
	rare      *shardRare
}

// shardRare is the state of a shard that only some shards need, made on
// first use.
type shardRare struct {
	// fullUntil is, when the shard was last found full of keys that hold
	// spent quota, the unix ns at which the first of them may be forgotten;
	// until then a new key fails without a scan.
	fullUntil int64
	// extra holds the further quota counters of the few buckets whose plans
	// have had more than one period kind. They live here rather than behind
	// a pointer in every bucket so that the common bucket stays at one
	// line. An entry lives as long as its bucket is in the index.
	extra map[*bucket]*[MaxQuotaPeriods - 1]counter
}

// fullUntil returns the shard's shardRare.fullUntil, 0 without one.
func (s *shard) fullUntil() int64 {
	if s.rare == nil {
		return 0
	}
	return s.rare.fullUntil
}

// setFullUntil sets the shard's shardRare.fullUntil.
func (s *shard) setFullUntil(ns int64) {
	if s.rare == nil {
		if ns == 0 {
			return
		}
		s.rare = new(shardRare)
	}
	s.rare.fullUntil = ns
}

// bucket is the state of one key: one 64-byte cache line (TestBucketSize;
// the allocator's 64-byte size class keeps it on a line boundary), with the
// index slot outside it, plus an entry of its shard's extra map for a key
// whose plans have had more than one kind of quota period. A key of up to
// inlineKey bytes is kept in the bucket itself, so that a lookup that
// compares the key touches the line the decision reads anyway; a longer
// key's bucket is the first field of a longBucket, which holds a copy of
// the key (see newBucket).
//
// tokens and at are the rate bucket: the tokens it held at unix ns at,
// refilled with the arithmetic of rate.Limiter (see refill). The shard's
// lock guards every field but inflight, which a Slot gives back without
// the lock.
type bucket struct {
	tokens float64 // tokens at at
	at     int64   // unix ns of the last decision that read or changed the tokens
	plan   *Plan
	// qkind, qused and qend are the inline counter (see counter), spelled
	// out so that inflight fills the four bytes a counter would pad.
	qkind    int64
	qused    int64
	qend     uint32
	inflight atomic.Int32
	key      [inlineKey]byte
}

// inlineKey is the longest key kept in its bucket.
const inlineKey = 16

// refill returns the tokens b holds at ns under p: the tokens at b.at plus
// what p's rate adds since, at most p's burst. It is rate.Limiter's advance:
// the same operations in the same order, so the same float64 results.
func (b *bucket) refill(p *Plan, ns int64) float64 {
	tokens := b.tokens
	if elapsed := ns - b.at; elapsed > 0 {
		tokens += time.Duration(elapsed).Seconds() * float64(p.limit)
		if burst := float64(p.Burst); tokens > burst {
			tokens = burst
		}
	}
	return tokens
}

// longBucket is the bucket of a key longer than inlineKey bytes: the bucket,
// then a copy of the key (the caller's string may alias a buffer). It takes
// the 80-byte size class, off the line boundary; such keys are rare (a
// tenant ID or an address fits in the bucket).
type longBucket struct {
	bucket
	key string
}

// newBucket returns a zero bucket that holds key (see keyOf).
func newBucket(key string) *bucket {
	if len(key) > inlineKey {
		lb := &longBucket{key: strings.Clone(key)}
		return &lb.bucket
	}
	b := new(bucket)
	copy(b.key[:], key)
	return b
}

// keyOf returns the key of b, made by newBucket for a key of n bytes. The
// index only calls it with the length its slot records, so a bucket of a
// long key is always the first field of a longBucket. b.key is never
// written again once b is made, so the string is as immutable as any other.
func (b *bucket) keyOf(n int) string {
	if n > inlineKey {
		return (*longBucket)(unsafe.Pointer(b)).key
	}
	return unsafe.String(&b.key[0], n)
}

// counter is the quota spent by a key in one period of one kind. Period
// ends are whole seconds, so 32 bits of unix seconds hold every end from
// 1970 to 2106; endOf clamps an end outside those years, so quota is counted
// correctly only under a clock within them.
type counter struct {
	kind int64  // the plan's periodKey; 0 for a free slot
	used int64  // quota spent in the period ending at end
	end  uint32 // unix seconds
}

// quota points at one counter of a bucket, inline or in its shard's extra
// map; used is nil for none.
type quota struct {
	used *int64
	end  *uint32
}

// endNs returns the end of q's period in unix ns.
func (q quota) endNs() int64 { return int64(*q.end) * 1e9 }

// endOf returns the unix seconds sec as a counter's end, clamped to what
// 32 bits hold.
func endOf(sec int64) uint32 { return uint32(min(max(sec, 0), math.MaxUint32)) }

// live reports whether a counter that holds used in the period ending at
// end (unix seconds) holds quota spent in a period that has not ended at ns.
func live(used int64, end uint32, ns int64) bool { return used > 0 && ns < int64(end)*1e9 }

// MaxQuotaPeriods is the number of quota period kinds (a period and an
// anchor) for which one key of a [Local] can hold spent quota at once. A
// counter whose period has ended, or which holds nothing, is reused.
const MaxQuotaPeriods = 4

// live reports whether c holds quota spent in a period that has not ended
// at ns.
func (c *counter) live(ns int64) bool { return live(c.used, c.end, ns) }

const minSweepAt = 64

var errNotReady = fmt.Errorf("%w: the plan was not built by NewPlan or NewPlans", ErrInvalidPlan)

var errEmptyKey = fmt.Errorf("%w: empty key", ErrInvalidKey)

var (
	errShardFull = fmt.Errorf("%w: every key holds quota spent in a period that has not ended; raise WithMaxKeys", ErrCapacity)
	errPeriods   = fmt.Errorf("%w: the key holds spent quota for %d other period kinds", ErrCapacity, MaxQuotaPeriods)
)

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
		if runtime.GOMAXPROCS(0) == 1 {
			// One P makes one decision at a time, so shards buy no
			// parallelism, and each costs a decision the miss on its
			// lock's line: 8 keep them in cache (BenchmarkTakeInterleaved
			// at -cpu 1: 4% of a decision against 256). A process whose
			// GOMAXPROCS grows later keeps the 8.
			n = 8
		}
		for n > 1 && c.maxKeys/n < 16 {
			n /= 2
		}
	}
	start := time.Now()
	l := &Local{
		now:        c.now,
		injected:   c.injected,
		start:      start,
		perShard:   max(1, c.maxKeys/n),
		maxKeys:    int64(c.maxKeys),
		sweepEvery: int64(c.sweepInterval),
	}
	l.offNow = l.wallOff
	l.off.Store(start.UnixNano())
	shards := shardmap.MakeShards[string](n, func(_ int, s *shard) { s.sweepAt = minSweepAt })
	l.seed, l.shards = shards.Parts()
	return l, nil
}

// checkCost returns an error wrapping [ErrInvalidCost] unless cost is
// between 1 and p's burst. Backends call it before deciding.
func checkCost(p *Plan, cost int) error {
	if cost < 1 || cost > p.Burst {
		return fmt.Errorf("%w: cost %d outside 1..%d (the burst of plan %q)", ErrInvalidCost, cost, p.Burst, p.Name)
	}
	return nil
}

// checkPlan returns an error wrapping [ErrInvalidPlan] unless p came from
// [NewPlan] or [NewPlans].
func checkPlan(p *Plan) error {
	if !p.Ready() {
		return errNotReady
	}
	return nil
}

// Take implements [Limiter]. For a valid plan, cost and a non-empty key it
// fails only with an error wrapping [ErrCapacity]; see the type's
// documentation.
func (l *Local) Take(_ context.Context, key string, p *Plan, cost int) (d Decision, err error) {
	// Take is small enough to be inlined, so that a caller holding a
	// *Local gets its Decision (104 bytes) written in place by take rather
	// than copied out of Take's frame.
	err = l.take(&d, key, p, cost)
	return d, err
}

// take is Take, filling d, which is zero.
func (l *Local) take(d *Decision, key string, p *Plan, cost int) (err error) {
	if !p.Ready() {
		return errNotReady
	}
	if cost < 1 || cost > p.Burst {
		d.Plan = p
		return checkCost(p, cost)
	}
	if key == "" {
		d.Plan = p
		return errEmptyKey
	}
	// The shard's choice and the clock's reading are shardOf and read
	// written out: Go inlines neither (maphash.Comparable and time.Since
	// take them over its budget), and a call each costs a tenth of a
	// decision.
	h := maphash.Comparable(l.seed, key)
	s := &l.shards[h&uint64(len(l.shards)-1)]
	s.mu.Lock()
	var ns int64
	if l.injected {
		ns = l.now().UnixNano()
	} else {
		ns = l.off.Load() + int64(time.Since(l.start))
	}
	if ns >= s.nextSweep {
		l.tick(s, ns)
	}
	b := s.idx.get(h, key)
	inserted := b == nil
	if inserted {
		var wait int64
		if b, wait, err = l.insert(s, h, key, p, ns); err != nil {
			s.mu.Unlock()
			*d = capacityDecision(p, wait)
			return err
		}
	} else if ns < b.at {
		// The monotonic clock is read under the lock, so only an injected
		// clock, or a step of the wall clock that moved off, can go
		// backwards: never let the bucket see that.
		ns = b.at
	}
	var c quota
	if p.Quota.Limit > 0 {
		if c = s.counter(b, p, ns); c.used == nil {
			first, _ := s.liveEnds(b, ns)
			wait := first - ns
			s.mu.Unlock()
			*d = capacityDecision(p, wait)
			return errPeriods
		}
	}
	if b.plan != p {
		b.reconfigure(p, ns)
	}
	b.decide(d, p, c, cost, ns)
	if inserted && ns < s.fullUntil() && !s.holdsQuota(b, ns) {
		s.setFullUntil(0) // the shard now has a key it may forget
	}
	s.mu.Unlock()
	return nil
}

// shardOf returns the shard of key and key's seeded hash, as
// shardmap.Shards.Index would pick it.
func (l *Local) shardOf(key string) (*shard, uint64) {
	h := maphash.Comparable(l.seed, key)
	return &l.shards[h&uint64(len(l.shards)-1)], h
}

// read returns the time in unix ns under s's lock (see the type's
// documentation), and sweeps s when its interval has passed.
func (l *Local) read(s *shard) int64 {
	var ns int64
	if l.injected {
		ns = l.now().UnixNano()
	} else {
		ns = l.off.Load() + int64(time.Since(l.start))
	}
	if ns >= s.nextSweep {
		l.tick(s, ns)
	}
	return ns
}

// tick sweeps s at ns and schedules its next sweep; without an injected
// clock it also reads the wall clock again (see off).
func (l *Local) tick(s *shard, ns int64) {
	l.keys.Add(-int64(s.sweep(ns)))
	s.nextSweep = ns + l.sweepEvery
	if !l.injected {
		l.off.Store(l.offNow())
	}
}

// wallOff returns off (see Local) from a fresh reading of the wall clock.
func (l *Local) wallOff() int64 {
	now := time.Now()
	return now.UnixNano() - int64(now.Sub(l.start))
}

// capacityDecision is the Decision that goes with ErrCapacity: a retry
// after wait ns, at least a second (and a second when wait is unknown).
func capacityDecision(p *Plan, wait int64) Decision {
	if wait <= 0 || wait > int64(366*24*time.Hour) {
		wait = int64(time.Second)
	}
	return Decision{Plan: p, DeniedBy: ReasonUnavailable, RetryAfter: time.Duration(max(wait, int64(time.Second)))}
}

// seedQuota records that key has spent at least used units of p's quota in
// the quota period that ends at periodEnd: if the limiter's own count for
// that period is lower, it is raised to used. It does nothing for a plan
// without a quota or a periodEnd that is not the end of the current period.
func (l *Local) seedQuota(key string, p *Plan, used int64, periodEnd time.Time) error {
	if !p.Ready() {
		return errNotReady
	}
	if key == "" {
		return errEmptyKey
	}
	if p.Quota.Limit == 0 || used <= 0 {
		return nil
	}
	used = min(used, maxQuota)
	s, h := l.shardOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := l.read(s)
	if _, end := periodBounds(p.Quota.Period, p.anchor, p.anchored, floorDiv(ns, 1e9)); periodEnd.UnixNano() != end*1e9 {
		return nil
	}
	b := s.idx.get(h, key)
	if b == nil {
		var err error
		if b, _, err = l.insert(s, h, key, p, ns); err != nil {
			return err
		}
	}
	c := s.counter(b, p, ns)
	if c.used == nil {
		return errPeriods
	}
	c.roll(p, ns)
	*c.used = max(*c.used, used)
	return nil
}

// more returns the further counters of b, nil if it has none. A shard
// without any pays one length check.
func (s *shard) more(b *bucket) *[MaxQuotaPeriods - 1]counter {
	if s.rare == nil || len(s.rare.extra) == 0 {
		return nil
	}
	return s.rare.extra[b]
}

// counter returns the quota counter of b for p's period kind, taking a
// free slot for a kind b has not held, or none when every slot holds quota
// spent in a period that has not ended.
func (s *shard) counter(b *bucket, p *Plan, ns int64) quota {
	if b.qkind == p.qkind {
		return quota{&b.qused, &b.qend}
	}
	more := s.more(b)
	if more != nil {
		for i := range more {
			if c := &more[i]; c.kind == p.qkind {
				return quota{&c.used, &c.end}
			}
		}
	}
	if !live(b.qused, b.qend, ns) {
		b.qkind, b.qused, b.qend = p.qkind, 0, 0
		return quota{&b.qused, &b.qend}
	}
	if more == nil {
		more = new([MaxQuotaPeriods - 1]counter)
		if s.rare == nil {
			s.rare = new(shardRare)
		}
		if s.rare.extra == nil {
			s.rare.extra = make(map[*bucket]*[MaxQuotaPeriods - 1]counter)
		}
		s.rare.extra[b] = more
	}
	for i := range more {
		if c := &more[i]; !c.live(ns) {
			*c = counter{kind: p.qkind}
			return quota{&c.used, &c.end}
		}
	}
	return quota{}
}

// roll starts the period of p that contains ns if q's has ended.
func (q quota) roll(p *Plan, ns int64) {
	if ns >= q.endNs() {
		q.next(p, ns)
	}
}

// next moves q to the period of p that holds ns, empty; roll's rare case,
// apart so that roll is inlined.
func (q quota) next(p *Plan, ns int64) {
	_, end := periodBounds(p.Quota.Period, p.anchor, p.anchored, floorDiv(ns, 1e9))
	*q.used, *q.end = 0, endOf(end)
}

// holdsQuota reports whether b holds quota spent in a period that has not
// ended at ns.
func (s *shard) holdsQuota(b *bucket, ns int64) bool {
	if live(b.qused, b.qend, ns) {
		return true
	}
	if more := s.more(b); more != nil {
		for i := range more {
			if more[i].live(ns) {
				return true
			}
		}
	}
	return false
}

// liveEnds returns the earliest and the latest end (unix ns) of b's
// counters that hold quota spent in a period that has not ended at ns: when
// b may first take another period kind, and when it stops holding quota.
// Both are ns if no counter does.
func (s *shard) liveEnds(b *bucket, ns int64) (first, last int64) {
	first, last = math.MaxInt64, ns
	if live(b.qused, b.qend, ns) {
		first, last = int64(b.qend)*1e9, int64(b.qend)*1e9
	}
	if more := s.more(b); more != nil {
		for i := range more {
			if c := &more[i]; c.live(ns) {
				first, last = min(first, int64(c.end)*1e9), max(last, int64(c.end)*1e9)
			}
		}
	}
	if first == math.MaxInt64 {
		first = ns
	}
	return first, last
}

// decide fills d, which is zero, for a request of cost under p at ns (unix
// nanoseconds); q is the counter of p's quota, none without one.
func (b *bucket) decide(d *Decision, p *Plan, q quota, cost int, ns int64) {
	d.Plan, d.Limit = p, p.Rate.N
	hasQuota := q.used != nil
	if hasQuota {
		q.roll(p, ns)
	}
	tokens := b.refill(p, ns)
	c := float64(cost)
	switch {
	case p.InFlight > 0 && int(b.inflight.Load()) >= p.InFlight:
		d.DeniedBy = ReasonInFlight
		d.RetryAfter = InFlightRetryAfter
	case hasQuota && *q.used+int64(cost) > p.Quota.Limit:
		d.DeniedBy = ReasonQuota
		d.RetryAfter = time.Duration(q.endNs() - ns)
	case tokens >= c:
		d.Allowed = true
	default:
		// As in rate.Limiter, a denial changes nothing.
		d.DeniedBy = ReasonRate
		d.RetryAfter = durationFor(c-tokens, p.limit)
	}
	if d.Allowed {
		tokens -= c
		b.tokens, b.at = tokens, ns
		if hasQuota {
			*q.used += int64(cost)
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
		d.QuotaRemaining = max(0, p.Quota.Limit-*q.used)
		d.QuotaReset = time.Unix(0, q.endNs()).UTC()
	}
}

// durationFor returns the time the bucket takes to refill tokens, rounded
// up to the nanosecond.
func durationFor(tokens float64, limit rate.Limit) time.Duration {
	if tokens <= 0 {
		return 0
	}
	// math.Ceil, for a positive value below 2^63, without the call that
	// math.Ceil is on amd64 CPUs without SSE4.1 (the default GOAMD64=v1
	// build tests for it on every use).
	ns := tokens / float64(limit) * float64(time.Second)
	d := time.Duration(ns)
	if float64(d) < ns {
		d++
	}
	return d
}

// insert adds key to s, forgetting another key first if s is full (see
// evictOne). A shard whose keys all hold spent quota grows past its share
// of the bound while the limiter as a whole is under it; beyond, insert fails
// with errShardFull and the wait until the shard may forget a key.
func (l *Local) insert(s *shard, h uint64, key string, p *Plan, ns int64) (*bucket, int64, error) {
	if s.idx.live >= s.sweepAt {
		l.keys.Add(-int64(s.sweep(ns)))
	}
	until := s.fullUntil()
	for int(s.idx.live) >= l.perShard || l.keys.Load() >= l.maxKeys {
		if ns >= s.fullUntil() {
			var evicted, inflight bool
			evicted, inflight, until = s.evictOne(ns)
			if evicted {
				l.keys.Add(-1)
				l.evicted.Add(1)
				continue
			}
			if inflight {
				break // keys with requests in flight bound the overflow
			}
			if int(s.idx.live) >= l.perShard {
				s.setFullUntil(until)
			}
		}
		if int(s.idx.live) >= l.perShard && l.keys.Load() < l.maxKeys {
			break
		}
		// The keys of this shard all hold spent quota, and the limiter is
		// at its bound (other shards may have keys to forget, but looking
		// would take their locks: the error is the conservative answer).
		return nil, until - ns, errShardFull
	}
	l.keys.Add(1)
	b := newBucket(key)
	b.plan, b.at, b.tokens = p, ns, float64(p.Burst) // a new key starts full
	s.idx.put(h, len(key), b)
	s.peak = max(s.peak, s.idx.live)
	return b, 0, nil
}

// reconfigure moves b to plan p at ns: the bucket keeps its tokens, refilled
// under its old plan until ns and capped at p's burst, and refills at p's
// rate from then on (what rate.Limiter's SetLimitAt and SetBurstAt do); the
// quota counters are kept, each belongs to its period kind.
func (b *bucket) reconfigure(p *Plan, ns int64) {
	b.tokens = min(b.refill(b.plan, ns), float64(p.Burst))
	b.at = ns
	b.plan = p
}

// idle reports whether forgetting b changes no future decision.
func (s *shard) idle(b *bucket, ns int64) bool {
	return b.inflight.Load() == 0 && ns-b.at >= b.plan.fillTime && !s.holdsQuota(b, ns)
}

// drop forgets the key of index slot i and its bucket, with the bucket's
// further counters.
func (s *shard) drop(i int) {
	b := s.idx.slots[i].b
	s.idx.removeAt(i)
	if s.rare != nil && len(s.rare.extra) > 0 {
		delete(s.rare.extra, b)
	}
}

// sweep drops the idle buckets of s and, when the index has shrunk to a
// quarter of its peak, rebuilds it so that the memory is returned. It
// returns the number of buckets dropped.
func (s *shard) sweep(ns int64) (dropped int) {
	for i := range s.idx.slots {
		if b := s.idx.slots[i].b; b != nil && s.idle(b, ns) {
			s.drop(i)
			dropped++
		}
	}
	if r := s.rare; r != nil && len(r.extra) == 0 {
		r.extra = nil // return its memory too
		if r.fullUntil == 0 {
			s.rare = nil
		}
	}
	n := s.idx.live
	s.sweepAt = max(2*n, minSweepAt)
	if s.peak >= minSweepAt && n < s.peak/4 {
		s.idx.rebuild(int(n))
		if r := s.rare; r != nil && r.extra != nil {
			e := make(map[*bucket]*[MaxQuotaPeriods - 1]counter, len(r.extra))
			for b, c := range r.extra {
				e[b] = c
			}
			r.extra = e
		}
		s.peak = n
	}
	return dropped
}

// evictOne forgets one key of a full shard: an idle one if a small sample
// has one, else the least recently used of the sample whose state is its
// rate bucket alone, else, scanning the whole shard, any such key. When no
// key may be forgotten it reports whether some have requests in flight and
// when the first key's quota periods end (math.MaxInt64 if s is empty).
func (s *shard) evictOne(ns int64) (evicted, inflight bool, until int64) {
	const samples = 8
	var (
		victim       = -1
		oldest int64 = math.MaxInt64
		seen   int
	)
	if n := len(s.idx.slots); n > 0 {
		mask := n - 1
		for j, i := 0, s.idx.randomStart(); j < n && seen < samples; j, i = j+1, (i+1)&mask {
			b := s.idx.slots[i].b
			if b == nil {
				continue
			}
			if s.idle(b, ns) {
				s.drop(i)
				return true, false, 0
			}
			if b.inflight.Load() == 0 && b.at < oldest && !s.holdsQuota(b, ns) {
				victim, oldest = i, b.at
			}
			seen++
		}
	}
	if victim >= 0 {
		s.drop(victim)
		return true, false, 0
	}
	until = math.MaxInt64
	for i := range s.idx.slots {
		b := s.idx.slots[i].b
		if b == nil {
			continue
		}
		if !s.holdsQuota(b, ns) {
			if b.inflight.Load() == 0 {
				s.drop(i)
				return true, false, 0
			}
			inflight = true
			continue
		}
		_, last := s.liveEnds(b, ns)
		until = min(until, last)
	}
	return false, inflight, until
}

// Sweep drops every idle bucket now (see [WithSweepInterval]) and returns
// the memory of shards that shrank. Take sweeps on its own; Sweep is for
// callers that want memory back at a moment of their choosing.
func (l *Local) Sweep() {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		l.keys.Add(-int64(s.sweep(l.now().UnixNano())))
		s.mu.Unlock()
	}
}

// Len returns the number of keys the limiter tracks.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += int(s.idx.live)
		s.mu.Unlock()
	}
	return n
}

// Evicted returns how many keys were forgotten before they were idle because
// the key bound was reached (see [WithMaxKeys]). A growing count means the
// bound is too small.
func (l *Local) Evicted() uint64 { return l.evicted.Load() }

var _ Limiter = (*Local)(nil)

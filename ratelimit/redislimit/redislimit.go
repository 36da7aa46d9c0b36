package redislimit

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/ratelimit/internal/backend"
)

// rl is what the limiter needs of package ratelimit beyond its API.
var rl = backend.Get[ratelimit.Plan, ratelimit.Local]()

// mondayEpoch is 1970-01-05T00:00:00Z, the origin of unanchored weeks.
const mondayEpoch = 4 * 86400

// MaxKeyLen is the longest key Take accepts, in bytes.
const MaxKeyLen = 256

// Limiter shares rate limits and quotas between processes through Redis.
// It implements [ratelimit.Limiter] and is safe for concurrent use. Rate
// and quota are shared; a plan's in-flight cap holds in this process. When
// Redis fails, each plan's [ratelimit.FailurePolicy] applies.
type Limiter struct {
	// Each decision is one EVALSHA of one Lua script (EVAL after
	// NOSCRIPT), which reads the Redis server's clock, checks the GCRA rate
	// and the calendar quota, and writes both only if the request is
	// allowed. A tenant key has one Redis key, "<prefix>{<key>}:q": a hash
	// with its rate state (one for every plan) and one count per kind of
	// quota period it has been limited by (the kind names the period and
	// its anchor), so a change of plan keeps both what the tenant spent and
	// its rate state. The {<key>} hash tag is the key's Redis Cluster slot.
	//
	// A node fault (a transport error, a timeout, a node that is loading,
	// read-only or down) stops the limiter asking that node for the retry
	// interval, then one request probes it again; the first answer resumes
	// shared limiting, with no restart. Under a Redis Cluster client each
	// master has its own such state, so the tenants of the other masters
	// keep shared limiting. An error reply (such as OOM under maxmemory)
	// fails only the decision it answers.

	client        redis.Scripter
	prefix        string
	margin        int64
	retryInterval time.Duration
	timeout       time.Duration
	onError       func(ctx context.Context, err error)

	local    *ratelimit.Local
	inflight *ratelimit.InFlight

	deadlines  deadlines
	one        breaker       // the node of a non-cluster client
	nodes      *nodeBreakers // per master, for a *redis.ClusterClient
	reloader   interface{ ReloadState(context.Context) }
	lastReload atomic.Int64 // unix ns of the last slot-map reload asked for
	outages    atomic.Int64 // node faults seen; seeds the fallback once per outage

	mem     atomic.Pointer[quotaMemory] // made for the first FallbackLocal quota plan
	memOnce sync.Once

	args  sync.Map     // *ratelimit.Plan -> *planArgs
	nargs atomic.Int64 // entries added to args since it was last cleared
}

// New returns a Limiter on client: a redis.UniversalClient (a server,
// Cluster or Sentinel; ElastiCache is either), the client's AutoPipeliner,
// or any other go-redis Scripter; the package documentation lists the
// client settings it needs. A nil client, or an option with an invalid
// value, is an error wrapping [ErrInvalidOption].
func New(client redis.Scripter, opts ...Option) (*Limiter, error) {
	// Measured in BENCHMARKS.md: an AutoPipeliner sends the decisions of
	// concurrent callers together, about 20% more decisions per second on
	// two CPUs with 16 callers per CPU (none on one). A limiter on a
	// Cluster's AutoPipeliner keeps one failure state for the whole
	// cluster; on the *redis.ClusterClient itself, one per master.
	c := newConfig(opts)
	if c.err != nil {
		return nil, c.err
	}
	if err := nilarg.Check("redislimit: New", "the client", client); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	local, err := ratelimit.NewLocal(c.localOpts...)
	if err != nil {
		return nil, fmt.Errorf("%w: WithLocalOptions: %w", ErrInvalidOption, err)
	}
	l := &Limiter{
		client:        client,
		prefix:        c.prefix,
		margin:        int64(c.margin / time.Second),
		retryInterval: c.retryInterval,
		timeout:       c.timeout,
		onError:       c.onError,
		local:         local,
		inflight:      ratelimit.NewInFlight(),
		deadlines:     deadlines{timeout: c.timeout},
	}
	if cc, ok := client.(*redis.ClusterClient); ok {
		l.nodes = &nodeBreakers{cluster: cc}
	}
	if r, ok := client.(interface{ ReloadState(context.Context) }); ok {
		l.reloader = r
	}
	return l, nil
}

// maxCachedPlans bounds the per-plan argument cache.
const maxCachedPlans = 1024

// Indexes in the script's ARGV (0-based).
const (
	argCost     = 2
	argPeriod   = 4 // and 5: the expected quota period
	argCalendar = 7 // to 9: kind, a1, a2 of period_end
)

var errKeyBraces = fmt.Errorf("%w: a key may not contain '{' or '}' (they would break the hash tag)", ratelimit.ErrInvalidKey)

// Take implements [ratelimit.Limiter].
func (l *Limiter) Take(ctx context.Context, key string, p *ratelimit.Plan, cost int) (ratelimit.Decision, error) {
	if err := rl.CheckPlan(p); err != nil {
		return ratelimit.Decision{}, err
	}
	if err := rl.CheckCost(p, cost); err != nil {
		return ratelimit.Decision{Plan: p}, err
	}
	if err := checkKey(key); err != nil {
		return ratelimit.Decision{Plan: p}, err
	}
	var slot ratelimit.Slot
	if p.InFlight > 0 {
		s, ok := l.inflight.Acquire(key, p.InFlight)
		if !ok {
			return ratelimit.Decision{
				Plan:       p,
				Limit:      p.Rate.N,
				DeniedBy:   ratelimit.ReasonInFlight,
				RetryAfter: ratelimit.InFlightRetryAfter,
				QuotaLimit: p.Quota.Limit,
			}, nil
		}
		slot = s
	}
	d, err := l.take(ctx, key, p, cost)
	if err != nil || !d.Allowed {
		slot.Release()
	} else {
		d.Slot = slot
	}
	return d, err
}

// keys returns the Redis key of a decision for key: the tenant's hash.
func (l *Limiter) keys(key string) []string {
	return []string{l.prefix + "{" + key + "}:q"}
}

func (l *Limiter) take(ctx context.Context, key string, p *ratelimit.Plan, cost int) (ratelimit.Decision, error) {
	now := time.Now().UnixNano()
	pa, args, qend := l.argsFor(p, now, cost)
	keys := l.keys(key)
	if err := ctx.Err(); err != nil {
		return ratelimit.Decision{Plan: p}, err // the caller gave up already
	}
	rctx := l.bound(ctx, now)
	br := l.breakerFor(rctx, keys[0])
	if br.skip(now, l.retryInterval) {
		l.reload(now)
		return l.degraded(ctx, key, p, pa, cost, nil)
	}
	// Under FallbackLocal with a quota, the last shared count is remembered
	// for the fallback, and what an earlier fallback allowed goes to Redis.
	var (
		set  *memSet
		e    *memEntry
		tag  uint64
		debt int64
	)
	if pa.remember {
		set, tag, e = l.memory().lookup(key, pa)
		if e != nil {
			if debt = e.takeDebt(tag, qend); debt > 0 {
				args = append(slices.Clip(args), strconv.FormatInt(debt, 10), strconv.FormatInt(qend, 10))
			}
		}
	}
	r, err := takeScript.Run(rctx, l.client, keys, args...).Int64Slice()
	if err == nil && (len(r) < 3 || len(r) > 5) {
		err = fmt.Errorf("unexpected reply %v", r)
	}
	if err != nil {
		if debt > 0 {
			e.giveBack(tag, qend, debt)
		}
		if cerr := ctx.Err(); cerr != nil {
			// The caller gave up or ran out of its own time: its error,
			// and no fault of the node's.
			if !errors.Is(err, cerr) {
				err = fmt.Errorf("redislimit: %w: %w", cerr, err)
			}
			return ratelimit.Decision{Plan: p}, err
		}
		err = fmt.Errorf("redislimit: %w", err)
		if nodeFault(err) {
			l.outages.Add(1)
			br.trip(time.Now().UnixNano(), l.retryInterval)
			l.reload(now)
		}
		if l.onError != nil {
			l.onError(ctx, err)
		}
		return l.degraded(ctx, key, p, pa, cost, err)
	}
	br.reset()
	d := decide(p, pa.interval, cost, qend, r)
	if set != nil && len(r) >= 4 {
		used := r[3]
		if d.Allowed {
			used += int64(cost)
		}
		if e == nil {
			e = set.claim(tag)
		}
		e.record(tag, used, d.QuotaReset.Unix())
	}
	return d, nil
}

// bound returns ctx limited to the decision timeout, or ctx itself when
// it ends earlier.
func (l *Limiter) bound(ctx context.Context, now int64) context.Context {
	if dl, ok := ctx.Deadline(); ok && dl.UnixNano()-now <= int64(l.timeout) {
		return ctx
	}
	return &boundCtx{Context: ctx, d: l.deadlines.get(now)}
}

// decide turns the script's reply r into a Decision: the script returns
// raw state so that this arithmetic runs here and not on the Redis thread.
// interval is the plan's emission interval in µs; qend is the end of the
// quota period the client expected (unix s), for replies that leave it out.
func decide(p *ratelimit.Plan, interval float64, cost int, qend int64, r []int64) ratelimit.Decision {
	const eps = 0.001 // as in the script's capacity: absorbs float rounding
	reason, tat, now := r[0], r[1], r[2]
	ahead := float64(tat - now)                 // µs the bucket is behind being full
	tokens := float64(p.Burst) - ahead/interval // tokens before this request
	us := func(v float64) time.Duration { return time.Duration(math.Ceil(v)) * time.Microsecond }
	d := ratelimit.Decision{
		Allowed:    reason == 0,
		DeniedBy:   ratelimit.Reason(reason),
		Plan:       p,
		Limit:      p.Rate.N,
		ResetAfter: us(ahead),
	}
	if d.Allowed {
		d.Remaining = int(math.Floor(tokens - float64(cost) + eps))
		d.ResetAfter = us(ahead + float64(cost)*interval)
	} else {
		d.Remaining = int(math.Floor(tokens + eps))
	}
	d.Remaining = max(0, d.Remaining)
	if reason == int64(ratelimit.ReasonRate) {
		d.RetryAfter = us((float64(cost) - tokens) * interval)
	}
	if p.Quota.Limit > 0 && len(r) >= 4 {
		used, end := r[3], qend
		if len(r) == 5 {
			end = r[4]
		}
		if d.Allowed {
			used += int64(cost)
		}
		d.QuotaLimit = p.Quota.Limit
		d.QuotaRemaining = max(0, p.Quota.Limit-used)
		d.QuotaReset = time.Unix(end, 0).UTC()
		if reason == int64(ratelimit.ReasonQuota) {
			d.RetryAfter = time.Duration((end-scriptEpoch)*1e6-now) * time.Microsecond
		}
	}
	d.RetryAfter = max(0, d.RetryAfter)
	return d
}

// degraded applies p's failure policy. cause is the Redis error, or nil
// when Redis was skipped because it failed recently.
func (l *Limiter) degraded(ctx context.Context, key string, p *ratelimit.Plan, pa *planArgs, cost int, cause error) (ratelimit.Decision, error) {
	switch p.OnBackendFailure.Mode {
	case ratelimit.FailureOpen:
		return ratelimit.Decision{Allowed: true, Plan: p, Limit: p.Rate.N, Degraded: true}, nil
	case ratelimit.FailureLocal:
		fp := rl.FallbackPlan(p)
		var (
			set *memSet
			e   *memEntry
			tag uint64
		)
		if pa.remember {
			set, tag, e = l.memory().lookup(key, pa)
			if e != nil {
				l.seedLocal(e, tag, key, fp, p.OnBackendFailure.Share)
			}
		}
		d, err := l.local.Take(ctx, key, fp, cost)
		if set != nil && d.Allowed && !d.QuotaReset.IsZero() {
			if e == nil {
				e = set.claim(tag)
			}
			e.owe(tag, int64(cost), d.QuotaReset.Unix())
		}
		d.Plan = p
		d.Degraded = true
		return d, err
	}
	if cause == nil {
		cause = errors.New("redislimit: the Redis node failed less than the retry interval ago")
	}
	retry := max(time.Second, l.retryInterval)
	return ratelimit.Decision{
			Plan:       p,
			Limit:      p.Rate.N,
			DeniedBy:   ratelimit.ReasonUnavailable,
			RetryAfter: retry,
			Degraded:   true,
		},
		&UnavailableError{Err: cause}
}

// UnavailableError is returned by Take when Redis could not decide and the
// plan fails closed. It matches [ratelimit.ErrUnavailable] with errors.Is
// and unwraps to the Redis error.
type UnavailableError struct {
	Err error
}

// Error says that the limiter is unavailable and why.
func (e *UnavailableError) Error() string {
	return ratelimit.ErrUnavailable.Error() + ": " + e.Err.Error()
}

// Unwrap returns the Redis error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is [ratelimit.ErrUnavailable].
func (e *UnavailableError) Is(target error) bool { return target == ratelimit.ErrUnavailable }

func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ratelimit.ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: longer than %d bytes", ratelimit.ErrInvalidKey, MaxKeyLen)
	}
	if strings.ContainsAny(key, "{}") {
		return errKeyBraces
	}
	return nil
}

// planArgs is what the script needs of one plan: the emission interval in
// µs, its ARGV with the cost left at 1, and for a quota the period the
// client expects (recomputed when the local clock leaves it).
type planArgs struct {
	interval float64
	kind     string // the quota's period kind and anchor, naming its fields; "" without a quota
	kindHash uint64 // of kind, for the quota memory
	remember bool   // FallbackLocal with a quota: remember shared quota state
	args     []any  // quota plans: the expected period is filled in per period
	period   atomic.Pointer[expectedPeriod]
}

type expectedPeriod struct {
	start, end int64 // unix ns
	args       []any // the plan's ARGV for this period, cost 1
}

// argsFor returns the plan data of p, the script arguments for a request of
// cost at now (unix ns) and, for a plan with a quota, the end of the period
// the arguments expect (unix s). The common request, of cost 1, gets a slice
// shared with other calls: go-redis copies the arguments into its command
// and never writes to them.
func (l *Limiter) argsFor(p *ratelimit.Plan, now int64, cost int) (*planArgs, []any, int64) {
	v, ok := l.args.Load(p)
	if !ok {
		v, _ = l.args.LoadOrStore(p, l.buildArgs(p))
	}
	pa := v.(*planArgs)
	if !ok && l.nargs.Add(1) > maxCachedPlans {
		// Plans are meant to live as long as the service; a program that
		// makes them per request must not grow this cache without bound.
		l.args.Clear()
		l.nargs.Store(0)
	}
	args, qend := pa.args, int64(0)
	if p.Quota.Limit > 0 {
		ep := pa.period.Load()
		if ep == nil || now < ep.start || now >= ep.end {
			s, e := p.Quota.Bounds(time.Unix(0, now))
			ep = &expectedPeriod{start: s.UnixNano(), end: e.UnixNano(), args: slices.Clone(pa.args)}
			ep.args[argPeriod] = strconv.FormatInt(s.Unix(), 10)
			ep.args[argPeriod+1] = strconv.FormatInt(e.Unix(), 10)
			pa.period.Store(ep)
		}
		args, qend = ep.args, ep.end/1e9
	}
	if cost != 1 {
		args = slices.Clone(args)
		args[argCost] = cost
	}
	return pa, args, qend
}

func (l *Limiter) buildArgs(p *ratelimit.Plan) *planArgs {
	interval := float64(p.Rate.Period.Microseconds()) / float64(p.Rate.N)
	if p.Rate.Period%time.Microsecond != 0 {
		interval = float64(p.Rate.Period) / 1e3 / float64(p.Rate.N)
	}
	pa := &planArgs{interval: interval, args: []any{
		strconv.FormatFloat(interval, 'g', -1, 64),
		strconv.FormatFloat((float64(p.Burst)+0.001)*interval, 'g', -1, 64),
		1, // cost
	}}
	q := p.Quota
	if q.Limit == 0 {
		return pa
	}
	kind, a1, a2 := 0, int64(0), int64(0)
	anchor, anchored := rl.QuotaAnchor(p)
	switch q.Period {
	case ratelimit.Day:
		kind, a1 = 1, anchor
	case ratelimit.Week:
		kind, a1 = 2, anchor
		if !anchored {
			a1 = mondayEpoch
		}
	case ratelimit.Month:
		kind, a1 = 3, 1
		if anchored {
			a1 = int64(q.Anchor.Day())
			a2 = anchor - (anchor/86400)*86400
			if a2 < 0 {
				a2 += 86400
			}
		}
	}
	pa.kind = rl.QuotaKind(p)
	pa.kindHash = maphash.String(kindSeed, pa.kind)
	pa.remember = p.OnBackendFailure.Mode == ratelimit.FailureLocal
	pa.args = append(pa.args,
		strconv.FormatInt(q.Limit, 10),
		"0", "0", // expected quota period, filled in by argsFor
		strconv.FormatInt(l.margin, 10),
		strconv.Itoa(kind),
		strconv.FormatInt(a1, 10),
		strconv.FormatInt(a2, 10),
		"e"+pa.kind, "c"+pa.kind, // the kind's fields in the tenant's hash
	)
	return pa
}

// kindSeed hashes quota kinds for the quota memory; any seed will do.
var kindSeed = maphash.MakeSeed()

func (l *Limiter) memory() *quotaMemory {
	if m := l.mem.Load(); m != nil {
		return m
	}
	l.memOnce.Do(func() { l.mem.Store(&quotaMemory{seed: maphash.MakeSeed()}) })
	return l.mem.Load()
}

var _ ratelimit.Limiter = (*Limiter)(nil)

package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// ErrInvalidPlan reports a plan that cannot be enforced: a missing rate, a
// zero burst, a quota without a period, and so on. Every error returned by
// [NewPlan] and [NewPlans] wraps it; the message names the plan and the
// field.
var ErrInvalidPlan = errors.New("ratelimit: invalid plan")

// MaxRate is the fastest sustained rate a plan may have: one event per
// microsecond for one key. Faster rates cannot be tracked exactly by the
// shared backend, and no single tenant key needs them.
const MaxRate = 1_000_000 // events per second

// maxBurst and maxQuota keep every count exact in a float64 (the shared
// backend's Lua numbers) and far from overflow.
const (
	maxBurst = 1 << 30
	maxQuota = 1 << 50
	// maxFillSeconds bounds the time an empty bucket takes to refill.
	maxFillSeconds = 10 * 366 * 86400
)

// Rate is a sustained rate: N events per Period. It is the speed at which a
// plan's bucket refills, not how many requests may arrive at once; that is
// the plan's Burst.
//
// Build one with [PerSecond], [PerMinute], [PerHour] or [Per].
type Rate struct {
	N      int           // events allowed per Period, at least 1
	Period time.Duration // length of the period, positive
}

// PerSecond returns a rate of n events per second.
func PerSecond(n int) Rate { return Rate{N: n, Period: time.Second} }

// PerMinute returns a rate of n events per minute.
func PerMinute(n int) Rate { return Rate{N: n, Period: time.Minute} }

// PerHour returns a rate of n events per hour.
func PerHour(n int) Rate { return Rate{N: n, Period: time.Hour} }

// Per returns a rate of n events per period.
func Per(n int, period time.Duration) Rate { return Rate{N: n, Period: period} }

// IsZero reports whether r is the zero Rate (no rate set).
func (r Rate) IsZero() bool { return r == Rate{} }

// Limit returns r as a [rate.Limit] (events per second).
func (r Rate) Limit() rate.Limit {
	if r.N <= 0 || r.Period <= 0 {
		return 0
	}
	return rate.Limit(float64(r.N) / r.Period.Seconds())
}

// Interval returns the time one event's worth of capacity takes to refill
// (Period/N), the emission interval of the GCRA formulation.
func (r Rate) Interval() time.Duration {
	if r.N <= 0 || r.Period <= 0 {
		return 0
	}
	return r.Period / time.Duration(r.N)
}

// String returns the rate as "N/period", for example "100/1m0s".
func (r Rate) String() string { return strconv.Itoa(r.N) + "/" + r.Period.String() }

// Period is the calendar period of a [Quota].
type Period uint8

// Quota periods. Day, Week and Month are calendar periods in UTC unless the
// quota has an anchor: a day starts at 00:00 UTC, a week on Monday at 00:00
// UTC (ISO 8601), a month on the 1st at 00:00 UTC.
const (
	NoPeriod Period = iota // no quota
	Day
	Week
	Month
)

// String returns "day", "week", "month" or "none".
func (p Period) String() string {
	switch p {
	case Day:
		return "day"
	case Week:
		return "week"
	case Month:
		return "month"
	case NoPeriod:
		return "none"
	}
	return "Period(" + strconv.Itoa(int(p)) + ")"
}

// Quota caps the total cost a key may spend in a calendar period, like the
// quota of an Amazon API Gateway usage plan. Unused quota does not carry
// over; a new period starts at zero.
//
// Build one with [Daily], [Weekly] or [Monthly]; the zero Quota means no
// quota.
type Quota struct {
	Limit  int64  // total cost allowed per period, at least 1
	Period Period // Day, Week or Month
	// Anchor, when set, moves the period boundaries to a billing date: Day
	// and Week periods start at the anchor's instant plus whole days or
	// weeks, Month periods start on the anchor's day of the month (the last
	// day of shorter months) at the anchor's time of day, all in UTC. The
	// anchor may lie in the past or the future; it is used to the second.
	Anchor time.Time
}

// Daily returns a quota of limit per calendar day (UTC).
func Daily(limit int64) Quota { return Quota{Limit: limit, Period: Day} }

// Weekly returns a quota of limit per ISO week (Monday 00:00 UTC).
func Weekly(limit int64) Quota { return Quota{Limit: limit, Period: Week} }

// Monthly returns a quota of limit per calendar month (UTC).
func Monthly(limit int64) Quota { return Quota{Limit: limit, Period: Month} }

// AnchoredAt returns a copy of q whose periods start at anchor (a billing
// date) instead of calendar boundaries; see [Quota.Anchor].
func (q Quota) AnchoredAt(anchor time.Time) Quota {
	q.Anchor = anchor
	return q
}

// IsZero reports whether q is the zero Quota (no quota).
func (q Quota) IsZero() bool { return q.Limit == 0 && q.Period == NoPeriod && q.Anchor.IsZero() }

// String returns the quota as "limit/period", or "none".
func (q Quota) String() string {
	if q.IsZero() {
		return "none"
	}
	s := strconv.FormatInt(q.Limit, 10) + "/" + q.Period.String()
	if !q.Anchor.IsZero() {
		s += " from " + q.Anchor.UTC().Format(time.RFC3339)
	}
	return s
}

// FailureMode says what a shared backend does when it cannot reach its store.
type FailureMode uint8

// Failure modes; see [FailurePolicy].
const (
	// FailureClosed denies the request with an error wrapping
	// [ErrUnavailable] (HTTP 503, gRPC Unavailable). It is the default.
	FailureClosed FailureMode = iota
	// FailureOpen allows the request unlimited (Decision.Degraded is set).
	FailureOpen
	// FailureLocal decides with an in-process limiter that holds a share of
	// the plan's rate, burst and quota.
	FailureLocal
)

// String returns "closed", "open" or "local".
func (m FailureMode) String() string {
	switch m {
	case FailureClosed:
		return "closed"
	case FailureOpen:
		return "open"
	case FailureLocal:
		return "local"
	}
	return "FailureMode(" + strconv.Itoa(int(m)) + ")"
}

// FailurePolicy is what a plan does when a shared backend (Redis) fails. The
// in-process limiter ignores it. The zero value fails closed.
type FailurePolicy struct {
	Mode FailureMode
	// Share is, for FailureLocal, the fraction in (0, 1] of the plan's rate,
	// burst and quota that each process enforces on its own while the
	// backend is down; with N replicas behind a balancer, 1/N keeps the
	// total near the plan.
	Share float64
}

// FailClosed returns the policy that denies requests while the backend is
// down (the default).
func FailClosed() FailurePolicy { return FailurePolicy{Mode: FailureClosed} }

// FailOpen returns the policy that allows requests while the backend is down.
func FailOpen() FailurePolicy { return FailurePolicy{Mode: FailureOpen} }

// FallbackLocal returns the policy that enforces share (in (0, 1]) of the
// plan in process while the backend is down.
func FallbackLocal(share float64) FailurePolicy {
	return FailurePolicy{Mode: FailureLocal, Share: share}
}

// Plan is the usage plan of a tier: a sustained rate with a burst, an
// optional quota per calendar period and an optional cap on requests in
// flight.
//
//	free := ratelimit.Plan{
//		Rate:  ratelimit.PerMinute(100), // refills 100 requests per minute...
//		Burst: 20,                       // ...of which at most 20 at once
//		Quota: ratelimit.Monthly(10_000),
//	}
//
// A Plan is a description; limiters take the validated copy that [NewPlan]
// or [NewPlans] returns, and refuse any other.
type Plan struct {
	// Name identifies the plan in response headers, error bodies and
	// metrics. [NewPlans] sets it to the tier name when empty. It uses the
	// tenant ID alphabet: ASCII letters, digits, '-', '_', '.'.
	Name string
	// Rate is the sustained rate at which the bucket refills. Required.
	Rate Rate
	// Burst is the size of the bucket: how many requests (of cost 1) may
	// arrive at once after a quiet spell. Required, at least 1. A request
	// costing more than Burst can never be allowed.
	Burst int
	// Quota optionally caps the total cost per day, week or month.
	Quota Quota
	// InFlight optionally caps the requests of one key that may be in
	// progress at once in this process; 0 means no cap. Every allowed
	// Decision holding a slot must be released with [Decision.Release].
	InFlight int
	// OnBackendFailure is what a shared backend does when its store is
	// unreachable. The zero value fails closed.
	OnBackendFailure FailurePolicy

	// Filled in by NewPlan.
	ready    bool
	limit    rate.Limit
	fillTime int64 // ns for an empty bucket to fill
	fallback *Plan
	anchor   int64  // quota anchor in unix seconds
	anchored bool   // the quota has an anchor
	qkind    int64  // periodKey of the quota; 0 without one
	qname    string // periodName of the quota; "" without one
}

// NewPlan validates p and returns the copy that limiters accept. The error
// wraps [ErrInvalidPlan] and says which field is wrong and why.
func NewPlan(p Plan) (*Plan, error) {
	if p.Name == "" {
		return nil, planErr(p.Name, "Name", "is empty: every plan needs a name for its headers and errors")
	}
	if err := validName(p.Name); err != nil {
		return nil, planErr(p.Name, "Name", err.Error())
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	c := p
	c.compile()
	return &c, nil
}

// MustPlan is like [NewPlan] but panics on an invalid plan. It is meant for
// package-level plan tables and tests.
func MustPlan(p Plan) *Plan {
	c, err := NewPlan(p)
	if err != nil {
		panic(err)
	}
	return c
}

func (p *Plan) validate() error {
	name := p.Name
	switch {
	case p.Rate.IsZero():
		return planErr(name, "Rate", "is not set: give the sustained rate, for example ratelimit.PerMinute(100)")
	case p.Rate.N < 1:
		return planErr(name, "Rate", fmt.Sprintf("has N = %d: the number of events per period must be at least 1", p.Rate.N))
	case p.Rate.Period <= 0:
		return planErr(name, "Rate", fmt.Sprintf("has Period %v: the period must be positive", p.Rate.Period))
	case float64(p.Rate.N)/p.Rate.Period.Seconds() > MaxRate:
		return planErr(name, "Rate", fmt.Sprintf("%v is faster than %d per second per key", p.Rate, MaxRate))
	case p.Burst < 1:
		return planErr(name, "Burst", fmt.Sprintf("is %d: Burst is the number of requests allowed at once and must be at least 1 (Rate only sets how fast it refills)", p.Burst))
	case p.Burst > maxBurst:
		return planErr(name, "Burst", fmt.Sprintf("is %d, above the maximum %d", p.Burst, maxBurst))
	case float64(p.Burst)/float64(p.Rate.Limit()) > maxFillSeconds:
		return planErr(name, "Burst", fmt.Sprintf("of %d takes more than ten years to refill at %v", p.Burst, p.Rate))
	case p.InFlight < 0:
		return planErr(name, "InFlight", fmt.Sprintf("is %d: use 0 for no cap or a positive count", p.InFlight))
	}
	q := p.Quota
	if !q.IsZero() {
		switch {
		case q.Period != Day && q.Period != Week && q.Period != Month:
			return planErr(name, "Quota", fmt.Sprintf("has period %v: use ratelimit.Daily, Weekly or Monthly", q.Period))
		case q.Limit < 1:
			return planErr(name, "Quota", fmt.Sprintf("has Limit %d: a quota allows at least 1 per period; leave Quota zero for none", q.Limit))
		case q.Limit > maxQuota:
			return planErr(name, "Quota", fmt.Sprintf("has Limit %d, above the maximum %d", q.Limit, int64(maxQuota)))
		case !q.Anchor.IsZero() && (q.Anchor.Year() < 1970 || q.Anchor.Year() > 9999):
			return planErr(name, "Quota", "has an anchor outside the years 1970 to 9999")
		}
	}
	f := p.OnBackendFailure
	switch f.Mode {
	case FailureClosed, FailureOpen:
		if f.Share != 0 {
			return planErr(name, "OnBackendFailure", fmt.Sprintf("has Share %v with mode %v: Share applies only to FallbackLocal", f.Share, f.Mode))
		}
	case FailureLocal:
		if !(f.Share > 0 && f.Share <= 1) {
			return planErr(name, "OnBackendFailure", fmt.Sprintf("has Share %v: FallbackLocal needs a share in (0, 1]", f.Share))
		}
	default:
		return planErr(name, "OnBackendFailure", fmt.Sprintf("has unknown mode %v", f.Mode))
	}
	return nil
}

func (p *Plan) compile() {
	p.ready = true
	p.limit = p.Rate.Limit()
	fill := float64(p.Burst) / float64(p.limit) * float64(time.Second)
	p.fillTime = int64(math.Ceil(fill)) + 1
	if !p.Quota.Anchor.IsZero() {
		p.Quota.Anchor = p.Quota.Anchor.UTC().Truncate(time.Second)
		p.anchor = p.Quota.Anchor.Unix()
		p.anchored = true
	}
	if p.Quota.Limit > 0 {
		p.qkind, p.qname = periodKey(p.Quota.Period, p.anchor, p.anchored)
	}
	if p.OnBackendFailure.Mode == FailureLocal {
		p.fallback = p.scaled(p.OnBackendFailure.Share)
	}
}

// periodKey names a kind of quota period, which plans whose quotas have the
// same period boundaries share and a limiter keeps one count for: two
// anchors of the same phase (see periodPhase) name the same kind. The
// number, for [Local], is never 0; the name is what a shared backend
// stores the count under.
func periodKey(p Period, anchor int64, anchored bool) (int64, string) {
	day, sec := periodPhase(p, anchor, anchored)
	key := (int64(day)*secondsPerDay+sec)<<2 | int64(p)
	s := strconv.FormatInt(sec, 10)
	switch p {
	case Day:
		return key, "d" + s
	case Week:
		return key, "w" + s
	}
	return key, "m" + strconv.Itoa(day) + ":" + s
}

// scaled returns the in-process plan enforcing share of p: the rate is
// stretched exactly (N per Period/share), burst and quota are rounded down
// but never below 1.
func (p *Plan) scaled(share float64) *Plan {
	s := Plan{
		Name:  p.Name,
		Rate:  Rate{N: p.Rate.N, Period: time.Duration(math.Round(float64(p.Rate.Period) / share))},
		Burst: max(1, int(math.Floor(float64(p.Burst)*share+1e-9))),
	}
	if !p.Quota.IsZero() {
		s.Quota = p.Quota
		s.Quota.Limit = max(1, int64(math.Floor(float64(p.Quota.Limit)*share+1e-9)))
	}
	s.compile()
	return &s
}

// Ready reports whether p came from [NewPlan] or [NewPlans] and so may be
// given to a limiter.
func (p *Plan) Ready() bool { return p != nil && p.ready }

// String describes the plan, for logs and error details.
func (p *Plan) String() string {
	if p == nil {
		return "<nil plan>"
	}
	s := p.Name + ": " + strconv.Itoa(p.Rate.N) + " per " + p.Rate.Period.String() + ", burst " + strconv.Itoa(p.Burst)
	if !p.Quota.IsZero() {
		s += ", quota " + p.Quota.String()
	}
	if p.InFlight > 0 {
		s += ", in flight " + strconv.Itoa(p.InFlight)
	}
	return s
}

// PlanError is the error for an invalid plan; it wraps [ErrInvalidPlan].
type PlanError struct {
	Plan   string // plan (or tier) name, possibly empty
	Field  string // the offending field
	Reason string // what is wrong and what to do instead
}

// Error names the plan, the field and what is wrong.
func (e *PlanError) Error() string {
	name := e.Plan
	if name == "" {
		name = "(unnamed)"
	}
	return "ratelimit: invalid plan " + strconv.Quote(name) + ": " + e.Field + " " + e.Reason
}

// Unwrap returns [ErrInvalidPlan].
func (e *PlanError) Unwrap() error { return ErrInvalidPlan }

func planErr(name, field, reason string) error {
	return &PlanError{Plan: name, Field: field, Reason: reason}
}

// validName checks a plan or tier name: the tenant ID alphabet, 1 to 64
// bytes, starting with a letter or digit. Names go into header values and
// store keys.
func validName(s string) error {
	if len(s) == 0 || len(s) > 64 {
		return errors.New("must be 1 to 64 bytes")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if i == 0 && !alnum {
			return errors.New("must start with an ASCII letter or digit")
		}
		if !alnum && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("has byte %d outside ASCII letters, digits, '-', '_' and '.'", i)
		}
	}
	return nil
}

// Plans maps tier names to plans. A tier that is not listed, and the empty
// tier, get the default plan, which is required: no request is ever
// unlimited by accident.
type Plans struct {
	def   *Plan
	tiers map[string]*Plan
}

// NewPlans validates def and every plan in tiers and returns the table. A
// plan with an empty Name takes its tier's name; the default's is
// "default". The error wraps [ErrInvalidPlan].
func NewPlans(def Plan, tiers map[string]Plan) (*Plans, error) {
	if def.Name == "" {
		def.Name = "default"
	}
	d, err := NewPlan(def)
	if err != nil {
		return nil, err
	}
	ps := &Plans{def: d, tiers: make(map[string]*Plan, len(tiers))}
	for tier, p := range tiers {
		if err := validName(tier); err != nil {
			return nil, planErr(tier, "tier name", err.Error())
		}
		if p.Name == "" {
			p.Name = tier
		}
		c, err := NewPlan(p)
		if err != nil {
			return nil, fmt.Errorf("tier %q: %w", tier, err)
		}
		ps.tiers[tier] = c
	}
	return ps, nil
}

// For returns the plan of tier, or the default plan when the tier is empty
// or unknown. It never returns nil for a *Plans built by [NewPlans].
func (ps *Plans) For(tier string) *Plan {
	if p, ok := ps.tiers[tier]; ok {
		return p
	}
	return ps.def
}

// Lookup returns the plan of tier and whether the tier is listed.
func (ps *Plans) Lookup(tier string) (*Plan, bool) {
	p, ok := ps.tiers[tier]
	return p, ok
}

// Default returns the default plan.
func (ps *Plans) Default() *Plan { return ps.def }

package httpmw

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/internal/outcome"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/tenant"
)

// RateLimitOption configures [RateLimit].
type RateLimitOption func(*rateLimitConfig)

type rateLimitConfig struct {
	invalid    string // the first invalid option
	cost       func(*http.Request) int
	untenanted func(*http.Request) string
	anonymous  ratelimit.Limiter // set by WithUntenantedLimiter
	anonLocal  ratelimit.Limiter // made by WithUntenantedKey
	onDecision func(*http.Request, ratelimit.Decision, error)
}

func (c *rateLimitConfig) fail(option string) {
	if c.invalid == "" {
		c.invalid = option
	}
}

// WithCost sets the cost of a request (default 1), for endpoints that are
// heavier than others. A cost above the plan's burst is answered 500.
func WithCost(cost func(*http.Request) int) RateLimitOption {
	return func(c *rateLimitConfig) {
		// Such a cost can never be allowed: a configuration error.
		if cost == nil {
			c.fail("WithCost(nil)")
			return
		}
		c.cost = cost
	}
}

// WithUntenantedKey limits requests without a tenant (public routes) under
// the default plan, keyed by key(r), for example the client address.
// Without it, or when key returns "", such a request is answered 401.
//
// They are decided by the limiter of [WithUntenantedLimiter], by default by
// an in-process [ratelimit.Local] of [ratelimit.DefaultUntenantedMaxKeys]
// keys that the middleware built with this option value share. Give the
// default plan no quota.
func WithUntenantedKey(key func(*http.Request) string) RateLimitOption {
	// A request is never let through unlimited because it has no tenant.
	// Keys get the prefix "anon:", which no tenant ID can have, and never go
	// to the tenants' limiter, so that many of them cannot crowd tenants out
	// of its key bound. With a quota on the default plan, untenanted keys
	// that spent it fill the local bound, and further new ones are answered
	// 503 until the period ends.
	var local ratelimit.Limiter
	if key != nil {
		local = newUntenantedLocal()
	}
	return func(c *rateLimitConfig) {
		if key == nil {
			c.fail("WithUntenantedKey(nil)")
			return
		}
		c.untenanted, c.anonLocal = key, local
	}
}

// WithUntenantedLimiter sets the limiter that decides for requests without
// a tenant (see [WithUntenantedKey], which it needs), for example a shared
// redislimit.Limiter. It must not be the tenants' limiter when that one is
// in-process.
func WithUntenantedLimiter(l ratelimit.Limiter) RateLimitOption {
	return func(c *rateLimitConfig) {
		if d := nilarg.Describe(l); d != "" {
			c.fail("WithUntenantedLimiter(" + d + ")")
			return
		}
		c.anonymous = l
	}
}

func newUntenantedLocal() ratelimit.Limiter {
	l, err := ratelimit.NewLocal(ratelimit.WithMaxKeys(ratelimit.DefaultUntenantedMaxKeys))
	if err != nil {
		panic(err) // the options are constants
	}
	return l
}

// WithDecisionHook sets a function called with every decision (and the
// error, if any) before the response is written, for metrics and logs.
func WithDecisionHook(f func(*http.Request, ratelimit.Decision, error)) RateLimitOption {
	return func(c *rateLimitConfig) {
		if f == nil {
			c.fail("WithDecisionHook(nil)")
			return
		}
		c.onDecision = f
	}
}

// RateLimit returns middleware that limits each tenant of
// [tenant.FromContext] (so it runs after [Authenticate]) under the plan of
// its tier in plans, and answers a denied request 429 with Retry-After.
//
// Every limited response carries the RateLimit-Policy and RateLimit fields
// of the IETF httpapi draft, one policy for the plan's rate and one, named
// "<plan>-quota", for its quota:
//
//	RateLimit-Policy: "free";q=100;w=60, "free-quota";q=10000;w=2592000
//	RateLimit: "free";r=42;t=18, "free-quota";r=9000;t=86400
//
// A denial's problem body names the policy ("free", "free-quota" or
// "free-inflight") and the reason ("rate", "quota" or "in-flight"). An
// unavailable or full limiter is answered 503, a canceled request 499, a
// passed deadline 504; a request without a tenant 401, unless
// [WithUntenantedKey] keys it.
//
// RateLimit panics if l or plans is nil or a typed nil, or if an option is
// invalid ([ErrInvalidOption]).
func RateLimit(l ratelimit.Limiter, plans *ratelimit.Plans, opts ...RateLimitOption) func(http.Handler) http.Handler {
	// The draft is draft-ietf-httpapi-ratelimit-headers. 503 comes when the
	// backend is down and the plan fails closed, or an in-process limiter is
	// full (ratelimit.ErrCapacity), always with Retry-After. The in-flight
	// slot of an allowed request is released when the handler returns,
	// panics included.
	mustDependency("RateLimit", "limiter", l)
	mustDependency("RateLimit", "plans", plans)
	var c rateLimitConfig
	for _, o := range opts {
		if o == nil {
			c.fail("a nil RateLimitOption")
			continue
		}
		o(&c)
	}
	if c.anonymous != nil && c.untenanted == nil {
		c.fail("WithUntenantedLimiter without WithUntenantedKey")
	}
	mustValidOptions("RateLimit", c.invalid)
	anon := c.anonymous
	if anon == nil {
		anon = c.anonLocal
	}
	var policies sync.Map // *ratelimit.Plan -> string: RateLimit-Policy value
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var key string
			var plan *ratelimit.Plan
			lim := l
			if t, ok := tenant.FromContext(r.Context()); ok {
				key, plan = t.ID(), plans.For(t.Plan())
			} else if c.untenanted != nil {
				if k := c.untenanted(r); k != "" {
					key, plan, lim = outcome.AnonymousKey(k), plans.Default(), anon
				}
			}
			if plan == nil {
				writeOutcome(w, outcome.NoTenant(), "")
				return
			}
			cost := 1
			if c.cost != nil {
				cost = c.cost(r)
			}
			d, err := lim.Take(r.Context(), key, plan, cost)
			if c.onDecision != nil {
				c.onDecision(r, d, err)
			}
			o := outcome.Limit(r.Context(), d, err)
			if err != nil {
				writeOutcome(w, o, "")
				return
			}
			h := w.Header()
			pol, ok := policies.Load(plan)
			if !ok {
				pol, _ = policies.LoadOrStore(plan, rateLimitPolicyField(plan))
			}
			// The keys are written in their canonical form (what Set would
			// store), which spares Set a canonicalisation that allocates
			// for these two names.
			h["Ratelimit-Policy"] = []string{pol.(string)}
			var now time.Time
			if d.QuotaLimit > 0 { // only the quota's reset needs the wall clock
				now = time.Now()
			}
			if v := rateLimitField(d, now); v != "" {
				h["Ratelimit"] = []string{v}
			}
			if o.Kind != outcome.OK {
				writeOutcome(w, o, "")
				return
			}
			defer d.Release()
			next.ServeHTTP(w, r)
		})
	}
}

// rateLimitPolicyField returns the RateLimit-Policy field value of p: its rate as q
// requests per w seconds (w=1 when the period is not a whole number of
// seconds) and, if p has a quota, the quota per its nominal period (a month
// counts 30 days).
func rateLimitPolicyField(p *ratelimit.Plan) string {
	q, w := int64(p.Rate.N), int64(p.Rate.Period/time.Second)
	if p.Rate.Period%time.Second != 0 {
		q, w = max(1, int64(math.Floor(float64(p.Rate.N)/p.Rate.Period.Seconds()))), 1
	}
	b := make([]byte, 0, 64)
	b = appendItem(b, p.Name, 'q', q, 'w', w)
	if p.Quota.Limit > 0 {
		b = append(b, ", "...)
		b = appendItem(b, p.Name+outcome.QuotaSuffix, 'q', p.Quota.Limit, 'w', p.Quota.Period.NominalSeconds())
	}
	return string(b)
}

// rateLimitField returns the RateLimit field value of d at now: remaining
// requests (r) and seconds until the bucket is full again (t) for the rate,
// and quota left and seconds to the period's end for the quota (now is
// read only then). It returns "" when d carries no counts: a denial by the
// in-flight cap (which no window describes), or a fail-open decision.
func rateLimitField(d ratelimit.Decision, now time.Time) string {
	if d.Plan == nil || d.DeniedBy == ratelimit.ReasonInFlight || d.DeniedBy == ratelimit.ReasonUnavailable ||
		(d.Degraded && d.Plan.OnBackendFailure.Mode == ratelimit.FailureOpen) {
		return ""
	}
	var buf [96]byte // on the stack: the string is the one allocation
	b := buf[:0]
	b = appendItem(b, d.Plan.Name, 'r', int64(d.Remaining), 't', ceilSeconds(d.ResetAfter))
	if d.QuotaLimit > 0 {
		b = append(b, ", "...)
		b = appendItem(b, d.Plan.Name+outcome.QuotaSuffix, 'r', d.QuotaRemaining, 't', ceilSeconds(d.QuotaReset.Sub(now)))
	}
	return string(b)
}

// appendItem appends a structured-field list item: a string naming the
// policy and two integer parameters. Plan names use only characters that
// need no escaping in a string.
func appendItem(b []byte, name string, k1 byte, v1 int64, k2 byte, v2 int64) []byte {
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ';', k1, '=')
	b = strconv.AppendInt(b, v1, 10)
	b = append(b, ';', k2, '=')
	return strconv.AppendInt(b, v2, 10)
}

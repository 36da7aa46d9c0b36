// Package backend gives the shared backends of package ratelimit
// (ratelimit/redislimit) the parts of its plans and in-process limiter that
// no user calls, without exporting them from ratelimit.
//
// Package ratelimit registers its functions in an init function. This
// package cannot import ratelimit (ratelimit imports it), so [Funcs] is
// typed by ratelimit's types as type parameters, and a backend fetches the
// functions once, at its own initialisation, with [Get].
package backend

import "time"

// Funcs are ratelimit's functions for backends; P is ratelimit.Plan and L
// is ratelimit.Local.
type Funcs[P, L any] struct {
	// CheckPlan returns an error wrapping ratelimit.ErrInvalidPlan unless
	// p came from NewPlan or NewPlans.
	CheckPlan func(p *P) error
	// CheckCost returns an error wrapping ratelimit.ErrInvalidCost unless
	// cost is between 1 and p's burst.
	CheckCost func(p *P, cost int) error
	// QuotaKind names the quota's kind of period ("" without a quota): plans
	// whose quotas have the same period boundaries have the same kind, and
	// a backend keeps one count per kind and key.
	QuotaKind func(p *P) string
	// QuotaAnchor returns the quota's anchor in unix seconds, and false when
	// the quota follows calendar periods.
	QuotaAnchor func(p *P) (unixSeconds int64, ok bool)
	// FallbackPlan returns the in-process plan enforced while the shared
	// store is down under ratelimit.FallbackLocal, or nil for other
	// policies. It has p's name, period and anchor, the share of its rate,
	// burst and quota, and no in-flight cap; its quota has p's kind.
	FallbackPlan func(p *P) *P
	// SeedQuota records in l that key has spent at least used units of p's
	// quota in the period that ends at periodEnd. It does nothing for a
	// plan without a quota or a periodEnd that is not the end of the
	// current period.
	SeedQuota func(l *L, key string, p *P, used int64, periodEnd time.Time) error
}

var funcs any // a Funcs[ratelimit.Plan, ratelimit.Local]

// Register is called once, by package ratelimit's init.
func Register[P, L any](f Funcs[P, L]) { funcs = f }

// Get returns the registered functions. It panics if P and L are not the
// types they were registered with.
func Get[P, L any]() Funcs[P, L] { return funcs.(Funcs[P, L]) }

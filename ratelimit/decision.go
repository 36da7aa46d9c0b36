package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"
)

// Limiter is implemented by every backend: the in-process [Local] and the
// shared redislimit.Limiter.
type Limiter interface {
	// Take spends cost units for key under plan and reports the decision.
	//
	// The plan must come from [NewPlan] or [NewPlans]; cost must be between
	// 1 and the plan's Burst. A denied request spends nothing: not rate, not
	// quota, not an in-flight slot. An allowed Decision may hold an in-flight
	// slot, which the caller must give back with [Decision.Release] when the
	// request ends, on every path (use defer).
	//
	// A non-nil error means no decision could be made. It wraps
	// [ErrUnavailable] when the backend is down and the plan fails closed,
	// or when an in-process limiter is full ([ErrCapacity]); the Decision
	// then carries a RetryAfter for the client. It wraps
	// [ErrInvalidPlan], [ErrInvalidCost] or [ErrInvalidKey] for bad input.
	Take(ctx context.Context, key string, plan *Plan, cost int) (Decision, error)
}

// Errors returned by Take. Each is matched with errors.Is.
var (
	// ErrUnavailable reports that a shared backend could not decide and the
	// plan fails closed. HTTP maps it to 503, gRPC to Unavailable.
	ErrUnavailable = errors.New("ratelimit: limiter backend unavailable")
	// ErrInvalidCost reports a cost below 1 or above the plan's burst (such
	// a request could never be allowed).
	ErrInvalidCost = errors.New("ratelimit: invalid cost")
	// ErrInvalidKey reports an empty key, or one a backend cannot store.
	ErrInvalidKey = errors.New("ratelimit: invalid key")
)

// ErrCapacity reports that the in-process limiter could not track one more
// key, or one more quota period for a key, without forgetting quota spent in
// a period that has not ended. It wraps [ErrUnavailable] (HTTP 503, gRPC
// Unavailable), and the Decision carries a RetryAfter until the first such
// period ends.
var ErrCapacity error = capacityError{}

type capacityError struct{}

func (capacityError) Error() string { return "ratelimit: in-process limiter full" }
func (capacityError) Unwrap() error { return ErrUnavailable }

// ErrInvalidOption is wrapped by the error a constructor returns for an
// option with an invalid value.
var ErrInvalidOption = errors.New("ratelimit: invalid option")

// Reason says which limit denied a request.
type Reason uint8

// Reasons.
const (
	ReasonNone        Reason = iota // allowed
	ReasonRate                      // the rate bucket is empty
	ReasonQuota                     // the period's quota is spent
	ReasonInFlight                  // too many requests of this key in progress
	ReasonUnavailable               // the backend is down and the plan fails closed
)

// String returns "rate", "quota", "in-flight", "unavailable" or "" for
// ReasonNone: stable values for logs and metric attributes.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return ""
	case ReasonRate:
		return "rate"
	case ReasonQuota:
		return "quota"
	case ReasonInFlight:
		return "in-flight"
	case ReasonUnavailable:
		return "unavailable"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// InFlightRetryAfter is the RetryAfter of a request denied by the in-flight
// cap: no clock says when a request in progress ends, so clients are told to
// come back after a short while.
const InFlightRetryAfter = time.Second

// Decision is the outcome of [Limiter.Take].
type Decision struct {
	Allowed  bool   // the request may proceed
	DeniedBy Reason // which limit denied it; ReasonNone when allowed
	// Degraded is set when a shared backend could not be reached and the
	// decision came from the plan's failure policy (fail open or local
	// fallback).
	Degraded bool
	Plan     *Plan // the plan the decision was made under

	Limit      int           // the plan's rate: Limit events per Plan.Rate.Period
	Remaining  int           // requests of cost 1 the rate would allow right now
	RetryAfter time.Duration // when denied, the wait before a retry can succeed; 0 when allowed
	ResetAfter time.Duration // time until the rate bucket is full again

	QuotaLimit     int64     // the quota per period; 0 when the plan has none
	QuotaRemaining int64     // quota left in the current period
	QuotaReset     time.Time // end of the current quota period (UTC); zero without quota

	// Slot is the in-flight slot the request holds, if the plan caps
	// requests in flight; see Release.
	Slot Slot
}

// Release gives back the in-flight slot the decision holds, if any. Call it
// exactly once when the request ends, on every path (defer it). It is a no-op
// for decisions without a slot, and allocation free.
func (d Decision) Release() { d.Slot.Release() }

// Slot is an in-flight slot held by one request. The zero Slot holds
// nothing. Backends create slots with [InFlight.Acquire].
type Slot struct {
	n *atomic.Int32
}

// Release gives the slot back. Call it once per acquired slot.
func (s Slot) Release() {
	if s.n != nil {
		s.n.Add(-1)
	}
}

// Held reports whether the slot holds an in-flight place.
func (s Slot) Held() bool { return s.n != nil }

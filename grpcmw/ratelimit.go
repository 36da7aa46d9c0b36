package grpcmw

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tenantkit/tenantkit/internal/outcome"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/tenant"
)

// RateLimitOption configures [UnaryServerRateLimit] and
// [StreamServerRateLimit]. They panic, naming the option, when an option was
// given an invalid value (a nil function or limiter): an interceptor
// constructor has no error to return, and such a server would fail on its
// first call.
type RateLimitOption func(*rateLimitConfig)

type rateLimitConfig struct {
	invalid    string // the first invalid option
	cost       func(ctx context.Context, fullMethod string) int
	untenanted func(ctx context.Context) string
	anonymous  ratelimit.Limiter // set by RateLimitUntenantedLimiter
	anonLocal  ratelimit.Limiter // made by RateLimitUntenanted
	onDecision func(ctx context.Context, fullMethod string, d ratelimit.Decision, err error)
}

func (c *rateLimitConfig) fail(option string) {
	if c.invalid == "" {
		c.invalid = option
	}
}

// RateLimitCost sets the cost of a call (default 1) from its context and
// full method name, for methods heavier than others. A cost above the plan's
// burst can never be allowed and is answered Internal: it is a
// configuration error.
func RateLimitCost(cost func(ctx context.Context, fullMethod string) int) RateLimitOption {
	return func(c *rateLimitConfig) {
		if cost == nil {
			c.fail("RateLimitCost(nil)")
		}
		c.cost = cost
	}
}

// RateLimitUntenanted limits calls that carry no tenant under the default
// plan, keyed by key(ctx) (for example the peer address) with the prefix
// "anon:", which no tenant ID can have. Without this option, or when key
// returns "", such a call fails with Unauthenticated: a call is never let
// through unlimited because it has no tenant.
//
// Untenanted keys are never decided by the tenants' limiter, so that many of
// them cannot crowd tenants out of its key bound: they go to the limiter set
// by [RateLimitUntenantedLimiter], by default to an in-process
// [ratelimit.Local] bounded to [ratelimit.DefaultUntenantedMaxKeys] keys,
// which the interceptors built with this option value share (pass the same
// value to the unary and the stream interceptor). Give the default plan no
// quota, or untenanted keys that spent quota fill that bound and further new
// ones fail with Unavailable until the period ends.
func RateLimitUntenanted(key func(ctx context.Context) string) RateLimitOption {
	var local ratelimit.Limiter
	if key != nil {
		local = newUntenantedLocal()
	}
	return func(c *rateLimitConfig) {
		if key == nil {
			c.fail("RateLimitUntenanted(nil)")
		}
		c.untenanted, c.anonLocal = key, local
	}
}

// RateLimitUntenantedLimiter sets the limiter that decides for calls
// without a tenant (see [RateLimitUntenanted], which it needs), for example
// a shared redislimit.Limiter or a [ratelimit.Local] of another size. It must
// not be the tenants' limiter when that one is in-process.
func RateLimitUntenantedLimiter(l ratelimit.Limiter) RateLimitOption {
	return func(c *rateLimitConfig) {
		if l == nil {
			c.fail("RateLimitUntenantedLimiter(nil)")
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

// RateLimitOnDecision sets a function called with every decision (and the
// error, if any), for metrics and logs.
func RateLimitOnDecision(f func(ctx context.Context, fullMethod string, d ratelimit.Decision, err error)) RateLimitOption {
	return func(c *rateLimitConfig) {
		if f == nil {
			c.fail("RateLimitOnDecision(nil)")
		}
		c.onDecision = f
	}
}

// UnaryServerRateLimit returns an interceptor that limits each tenant (from
// [tenant.FromContext], so it runs after the authentication interceptor)
// under the plan of its tier in plans.
//
// A denied call fails with codes.ResourceExhausted and two details: a
// google.rpc.RetryInfo with the delay before a retry can succeed, and a
// google.rpc.QuotaFailure whose violation names the tenant (subject
// "tenant:<id>") and the violated policy (quota_id "<plan>", "<plan>-quota"
// or "<plan>-inflight", as in package httpmw). When the limiter's backend is
// down and the plan fails closed, or an in-process limiter is full
// ([ratelimit.ErrCapacity]), the call fails with codes.Unavailable and a
// RetryInfo; a call whose client gave up fails with codes.Canceled, one
// whose deadline passed with codes.DeadlineExceeded. The in-flight slot of an allowed call is released when the
// handler returns, panics included.
//
// It panics for a nil limiter or plans, and for an invalid option.
func UnaryServerRateLimit(l ratelimit.Limiter, plans *ratelimit.Plans, opts ...RateLimitOption) grpc.UnaryServerInterceptor {
	c := newRateLimitConfig(l, plans, opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		d, err := c.take(ctx, l, plans, info.FullMethod)
		if err != nil {
			return nil, err
		}
		defer d.Release()
		return handler(ctx, req)
	}
}

// StreamServerRateLimit is [UnaryServerRateLimit] for streams. A stream is
// limited once, when it opens; its in-flight slot is held until the handler
// returns.
func StreamServerRateLimit(l ratelimit.Limiter, plans *ratelimit.Plans, opts ...RateLimitOption) grpc.StreamServerInterceptor {
	c := newRateLimitConfig(l, plans, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		d, err := c.take(ss.Context(), l, plans, info.FullMethod)
		if err != nil {
			return err
		}
		defer d.Release()
		return handler(srv, ss)
	}
}

func newRateLimitConfig(l ratelimit.Limiter, plans *ratelimit.Plans, opts []RateLimitOption) *rateLimitConfig {
	if l == nil || plans == nil {
		panic("grpcmw: rate limit interceptor with a nil limiter or plans")
	}
	c := &rateLimitConfig{}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil RateLimitOption")
			continue
		}
		o(c)
	}
	if c.anonymous != nil && c.untenanted == nil && c.invalid == "" {
		c.fail("RateLimitUntenantedLimiter without RateLimitUntenanted")
	}
	if c.invalid != "" {
		panic("grpcmw: rate limit interceptor with invalid option " + c.invalid)
	}
	if c.anonymous == nil {
		c.anonymous = c.anonLocal
	}
	return c
}

// take decides for the call and returns its status error when it may not
// proceed.
func (c *rateLimitConfig) take(ctx context.Context, l ratelimit.Limiter, plans *ratelimit.Plans, method string) (ratelimit.Decision, error) {
	var key, subject string
	var plan *ratelimit.Plan
	if t, ok := tenant.FromContext(ctx); ok {
		key, subject, plan = t.ID(), outcome.Subject(t), plans.For(t.Tier())
	} else if c.untenanted != nil {
		if k := c.untenanted(ctx); k != "" {
			key = outcome.AnonymousKey(k)
			subject, plan, l = key, plans.Default(), c.anonymous
		}
	}
	if plan == nil {
		return ratelimit.Decision{}, statusFor(outcome.NoTenant(), "")
	}
	cost := 1
	if c.cost != nil {
		cost = c.cost(ctx, method)
	}
	d, err := l.Take(ctx, key, plan, cost)
	if c.onDecision != nil {
		c.onDecision(ctx, method, d, err)
	}
	if o := outcome.Limit(ctx, d, err); o.Kind != outcome.OK {
		return d, statusFor(o, subject)
	}
	return d, nil
}

// withDetails returns s with details attached, or s alone if they cannot
// be (they always can: the messages are well formed).
func withDetails(s *status.Status, details ...protoadapt.MessageV1) error {
	if sd, err := s.WithDetails(details...); err == nil {
		return sd.Err()
	}
	return s.Err()
}

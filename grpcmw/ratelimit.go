package grpcmw

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/internal/outcome"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/tenant"
)

// RateLimitOption configures [UnaryServerRateLimit] and
// [StreamServerRateLimit].
type RateLimitOption func(*rateLimitConfig)

type rateLimitConfig struct {
	invalid    string // the first invalid option
	cost       func(ctx context.Context, fullMethod string) int
	untenanted func(ctx context.Context) string
	anonymous  ratelimit.Limiter // set by WithUntenantedLimiter
	anonLocal  ratelimit.Limiter // made by WithUntenantedKey
	onDecision func(ctx context.Context, fullMethod string, d ratelimit.Decision, err error)
}

func (c *rateLimitConfig) fail(option string) {
	if c.invalid == "" {
		c.invalid = option
	}
}

// WithCost sets the cost of a call (default 1) from its context and full
// method name, for methods heavier than others. A cost above the plan's
// burst fails with Internal.
func WithCost(cost func(ctx context.Context, fullMethod string) int) RateLimitOption {
	return func(c *rateLimitConfig) {
		// Such a cost can never be allowed: a configuration error.
		if cost == nil {
			c.fail("WithCost(nil)")
			return
		}
		c.cost = cost
	}
}

// WithUntenantedKey limits calls without a tenant under the default plan,
// keyed by key(ctx), for example the peer address. Without it, or when key
// returns "", such a call fails with Unauthenticated.
//
// They are decided by the limiter of [WithUntenantedLimiter], by default by
// an in-process [ratelimit.Local] of [ratelimit.DefaultUntenantedMaxKeys]
// keys that the interceptors built with this option value share (pass the
// same value to the unary and the stream interceptor). Give the default
// plan no quota.
func WithUntenantedKey(key func(ctx context.Context) string) RateLimitOption {
	// A call is never let through unlimited because it has no tenant. Keys
	// get the prefix "anon:", which no tenant ID can have, and never go to
	// the tenants' limiter, so that many of them cannot crowd tenants out of
	// its key bound. With a quota on the default plan, untenanted keys that
	// spent it fill the local bound, and further new ones fail with
	// Unavailable until the period ends.
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

// WithUntenantedLimiter sets the limiter that decides for calls without a
// tenant (see [WithUntenantedKey], which it needs), for example a shared
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
// error, if any), for metrics and logs.
func WithDecisionHook(f func(ctx context.Context, fullMethod string, d ratelimit.Decision, err error)) RateLimitOption {
	return func(c *rateLimitConfig) {
		if f == nil {
			c.fail("WithDecisionHook(nil)")
			return
		}
		c.onDecision = f
	}
}

// UnaryServerRateLimit returns an interceptor that limits each tenant of
// [tenant.FromContext] (so it runs after [UnaryServerAuthenticate]) under
// the plan of its tier in plans.
//
// A denied call fails with codes.ResourceExhausted, a google.rpc.RetryInfo
// and a google.rpc.QuotaFailure naming the tenant ("tenant:<id>") and the
// violated policy ("<plan>", "<plan>-quota" or "<plan>-inflight"). An
// unavailable or full limiter fails the call with Unavailable, a canceled
// call with Canceled, a passed deadline with DeadlineExceeded; a call
// without a tenant with Unauthenticated, unless [WithUntenantedKey] keys
// it.
//
// It panics if l or plans is nil or a typed nil, or if an option is invalid
// ([ErrInvalidOption]).
func UnaryServerRateLimit(l ratelimit.Limiter, plans *ratelimit.Plans, opts ...RateLimitOption) grpc.UnaryServerInterceptor {
	// The policy names are those of httpmw. Unavailable, always with a
	// RetryInfo, comes when the backend is down and the plan fails closed,
	// or an in-process limiter is full (ratelimit.ErrCapacity). The
	// in-flight slot of an allowed call is released when the handler
	// returns, panics included.
	c := newRateLimitConfig("UnaryServerRateLimit", l, plans, opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		d, err := c.take(ctx, l, plans, info.FullMethod)
		if err != nil {
			return nil, err
		}
		defer d.Release()
		return handler(ctx, req)
	}
}

// StreamServerRateLimit is [UnaryServerRateLimit] for streams: a stream is
// limited once, when it opens, and holds its in-flight slot until the
// handler returns. It panics as UnaryServerRateLimit does.
func StreamServerRateLimit(l ratelimit.Limiter, plans *ratelimit.Plans, opts ...RateLimitOption) grpc.StreamServerInterceptor {
	c := newRateLimitConfig("StreamServerRateLimit", l, plans, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		d, err := c.take(ss.Context(), l, plans, info.FullMethod)
		if err != nil {
			return err
		}
		defer d.Release()
		return handler(srv, ss)
	}
}

// newRateLimitConfig builds the config of ctor; it panics as the
// constructors document.
func newRateLimitConfig(ctor string, l ratelimit.Limiter, plans *ratelimit.Plans, opts []RateLimitOption) *rateLimitConfig {
	mustDependency(ctor, "limiter", l)
	mustDependency(ctor, "plans", plans)
	c := &rateLimitConfig{}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil RateLimitOption")
			continue
		}
		o(c)
	}
	if c.anonymous != nil && c.untenanted == nil {
		c.fail("WithUntenantedLimiter without WithUntenantedKey")
	}
	mustValidOptions(ctor, c.invalid)
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
		key, subject, plan = t.ID(), outcome.Subject(t), plans.For(t.Plan())
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

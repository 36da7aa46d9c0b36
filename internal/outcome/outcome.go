// Package outcome is the one decision table of the transport adapters: how
// the error of a credential check, or the decision and error of a limiter,
// becomes an outcome, and the texts and policy names the adapters write for
// it. httpmw and grpcmw translate an Outcome to their protocol and nothing
// more, so the two can never disagree on what happened.
package outcome

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/tenant"
)

// Kind is what happened to a request.
type Kind uint8

// Kinds. Each maps to one HTTP status and one gRPC code (see the adapters).
const (
	OK              Kind = iota // go on
	Unauthenticated             // no credential, a bad one, or no tenant to limit
	Forbidden                   // a verified tenant refused by a check
	Unavailable                 // keys or the limiter cannot decide now; retry later
	Canceled                    // the caller gave up
	Deadline                    // the request's deadline passed
	Rate                        // the rate limit is exceeded
	Quota                       // the period's quota is spent
	InFlight                    // too many requests of the tenant in progress
	Internal                    // a misconfiguration, such as a cost above the burst
)

var kindNames = [...]string{"ok", "unauthenticated", "forbidden", "unavailable", "canceled", "deadline",
	"rate", "quota", "in-flight", "internal"}

// String returns a stable lower-case name, such as "in-flight".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Outcome is a classified result.
type Outcome struct {
	Kind Kind
	// Missing is set for Unauthenticated when no credential was presented
	// at all (RFC 6750 section 3.1: a challenge without an error code).
	Missing bool
	// Message is the text for the client: fixed, or the name of a token
	// error's reason; never a credential or a part of one.
	Message string
	// RetryAfter is the wait before a retry can succeed, for Unavailable,
	// Rate, Quota and InFlight; 0 otherwise.
	RetryAfter time.Duration
	// Policy names the violated policy for Rate, Quota and InFlight (see
	// PolicyName), and Limit is that policy's limit.
	Policy string
	Limit  int64
	// Reason says why a Forbidden tenant was refused, when the refusal
	// was a *tenant.Refusal (a directory's "tenant-suspended", say): the
	// last part of the problem type URI (ProblemTypePrefix + Reason) over
	// HTTP and, upper-cased with '-' as '_', the ErrorInfo reason over
	// gRPC; "" for any other refusal.
	Reason string
}

// ProblemTypePrefix starts the problem type URI of a refusal with a Reason.
const ProblemTypePrefix = "urn:tenantkit:problem:"

// ErrorInfoDomain is the domain of the gRPC ErrorInfo of a refusal with a
// Reason.
const ErrorInfoDomain = "tenantkit"

// Texts of the outcomes that do not depend on the request.
const (
	MsgMissing            = "a bearer token is required"
	MsgInvalid            = "the bearer token is not valid"
	MsgForbidden          = "the tenant is not allowed"
	MsgUnavailable        = "the credential cannot be checked now; retry later"
	MsgNoTenant           = "the request carries no verified tenant, so no rate limit plan applies"
	MsgLimiterUnavailable = "the rate limiter is unavailable; retry later"
	MsgLimiterInternal    = "the rate limiter could not decide"
	MsgCanceled           = "the request was canceled"
	MsgDeadline           = "the request's deadline passed before it was decided"
)

// IssuerRetryAfter is the RetryAfter of an Unavailable credential check: no
// clock says when an issuer is back, so clients come back after a while.
const IssuerRetryAfter = 5 * time.Second

// AnonymousPrefix starts the limiter key of a request without a tenant; no
// tenant ID can contain ':', so no such key is a tenant's.
const AnonymousPrefix = "anon:"

// AnonymousKey returns the limiter key of an untenanted request keyed k.
func AnonymousKey(k string) string { return AnonymousPrefix + k }

// Subject returns the subject of a quota violation for a tenant's key:
// "tenant:<id>". An anonymous key is its own subject.
func Subject(t tenant.Tenant) string { return "tenant:" + t.ID() }

// ended returns the outcome of a request whose context ended, or false.
func ended(ctx context.Context, err error) (Outcome, bool) {
	cause := ctx.Err()
	if cause == nil {
		// The context may not say so yet, but an error that wraps a
		// context error outside a server-side failure is the request's.
		switch {
		case errors.Is(err, tenant.ErrUnavailable), errors.Is(err, ratelimit.ErrUnavailable):
			// An issuer fetch or a limiter backend timed out on its own
			// bound: that is the server's failure, not the caller's.
			return Outcome{}, false
		case errors.Is(err, context.Canceled):
			cause = context.Canceled
		case errors.Is(err, context.DeadlineExceeded):
			cause = context.DeadlineExceeded
		default:
			return Outcome{}, false
		}
	}
	if errors.Is(cause, context.DeadlineExceeded) {
		return Outcome{Kind: Deadline, Message: MsgDeadline}, true
	}
	return Outcome{Kind: Canceled, Message: MsgCanceled}, true
}

// Auth classifies err, the error of extracting a tenant from a request
// (tenant.ExtractAny) with context ctx. A failure while ctx has ended is
// Canceled or Deadline, whatever the error: a key fetch or check cut short
// by the caller proves nothing about the credential.
func Auth(ctx context.Context, err error) Outcome {
	if err == nil {
		return Outcome{Kind: OK}
	}
	if o, ok := ended(ctx, err); ok {
		return o
	}
	// A refusal that says why (a directory's suspension, say) carries its
	// reason and public text itself, so the table needs no knowledge of
	// who refused.
	var r *tenant.Refusal
	switch {
	case errors.As(err, &r):
		return Outcome{Kind: Forbidden, Message: r.Message, Reason: r.Reason}
	case errors.Is(err, tenant.ErrForbidden):
		return Outcome{Kind: Forbidden, Message: MsgForbidden}
	case errors.Is(err, tenant.ErrUnavailable):
		return Outcome{Kind: Unavailable, Message: MsgUnavailable, RetryAfter: IssuerRetryAfter}
	case errors.Is(err, tenant.ErrAbsent):
		return Outcome{Kind: Unauthenticated, Missing: true, Message: MsgMissing}
	}
	// Anything else rejects the credential, as the TokenVerifier contract
	// says; an unknown error fails closed as a bad credential.
	msg := MsgInvalid
	var te *tenant.TokenError
	if errors.As(err, &te) && te.Reason != nil {
		msg = te.Reason.Error() // a fixed reason text, never token bytes
	} else if errors.Is(err, tenant.ErrInvalidBearer) {
		msg = tenant.ErrInvalidBearer.Error()
	}
	return Outcome{Kind: Unauthenticated, Message: msg}
}

// NoTenant is the outcome of a request that reaches a limiter without a
// tenant and without a key for untenanted requests.
func NoTenant() Outcome {
	return Outcome{Kind: Unauthenticated, Missing: true, Message: MsgNoTenant}
}

// Limit classifies the result of [ratelimit.Limiter.Take] made with context
// ctx. A failure while ctx has ended is Canceled or Deadline; a backend that
// is down (ratelimit.ErrUnavailable) is Unavailable; any other error is
// Internal (bad cost, key or plan).
func Limit(ctx context.Context, d ratelimit.Decision, err error) Outcome {
	if err != nil {
		if o, ok := ended(ctx, err); ok {
			return o
		}
		if errors.Is(err, ratelimit.ErrUnavailable) {
			return Outcome{Kind: Unavailable, Message: MsgLimiterUnavailable, RetryAfter: max(time.Second, d.RetryAfter)}
		}
		return Outcome{Kind: Internal, Message: MsgLimiterInternal}
	}
	if d.Allowed {
		return Outcome{Kind: OK}
	}
	o := Outcome{Message: DenialMessage(d), RetryAfter: d.RetryAfter, Policy: PolicyName(d)}
	p := d.Plan
	switch d.DeniedBy {
	case ratelimit.ReasonQuota:
		o.Kind = Quota
		if p != nil {
			o.Limit = p.Quota.Limit
		}
	case ratelimit.ReasonInFlight:
		o.Kind = InFlight
		if p != nil {
			o.Limit = int64(p.InFlight)
		}
	case ratelimit.ReasonUnavailable:
		return Outcome{Kind: Unavailable, Message: MsgLimiterUnavailable, RetryAfter: max(time.Second, d.RetryAfter)}
	default:
		o.Kind = Rate
		if p != nil {
			o.Limit = int64(p.Rate.N)
		}
	}
	return o
}

// Policy name suffixes: the quota and in-flight policies of plan "free" are
// "free-quota" and "free-inflight"; its rate policy is "free".
const (
	QuotaSuffix    = "-quota"
	InFlightSuffix = "-inflight"
)

// PolicyName returns the name of the policy that denied d: the plan's name
// for the rate, "<plan>-quota" for the quota, "<plan>-inflight" for the
// in-flight cap.
func PolicyName(d ratelimit.Decision) string {
	name := ""
	if d.Plan != nil {
		name = d.Plan.Name
	}
	switch d.DeniedBy {
	case ratelimit.ReasonQuota:
		return name + QuotaSuffix
	case ratelimit.ReasonInFlight:
		return name + InFlightSuffix
	}
	return name
}

// DenialMessage describes the limit that denied d.
func DenialMessage(d ratelimit.Decision) string {
	p := d.Plan
	if p == nil {
		return "the request is over its limit"
	}
	switch d.DeniedBy {
	case ratelimit.ReasonQuota:
		return "the quota of plan " + strconv.Quote(p.Name) + " (" + p.Quota.String() + ") is spent; it resets at " +
			d.QuotaReset.UTC().Format(time.RFC3339)
	case ratelimit.ReasonInFlight:
		return "plan " + strconv.Quote(p.Name) + " allows " + strconv.Itoa(p.InFlight) + " requests in progress at once"
	}
	return "the rate limit of plan " + strconv.Quote(p.Name) + " (" + strconv.Itoa(p.Rate.N) + " per " +
		p.Rate.Period.String() + ", burst " + strconv.Itoa(p.Burst) + ") is exceeded"
}

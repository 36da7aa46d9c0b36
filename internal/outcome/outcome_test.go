package outcome_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/internal/outcome"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/tenant"
)

// errKeysUnavailable stands for authn.ErrKeysUnavailable, which this package
// must classify without importing authn.
var errKeysUnavailable = fmt.Errorf("authn: issuer keys unavailable: %w", tenant.ErrUnavailable)

func ctxs() (live, canceled, expired context.Context) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	e, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	cancel2()
	return context.Background(), c, e
}

// TestAuth checks the classification of credential errors, and that a
// request whose context ended is never Unauthenticated.
func TestAuth(t *testing.T) {
	live, canceled, expired := ctxs()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want outcome.Kind
	}{
		{"nil", live, nil, outcome.OK},
		{"missing", live, tenant.ErrMissingBearer, outcome.Unauthenticated},
		{"invalid", live, &tenant.TokenError{Reason: errors.New("token expired")}, outcome.Unauthenticated},
		{"forbidden", live, fmt.Errorf("suspended: %w", tenant.ErrForbidden), outcome.Forbidden},
		{"keys unavailable", live, errKeysUnavailable, outcome.Unavailable},
		// The issuer's own fetch timeout is the server's failure.
		{"fetch timed out", live, fmt.Errorf("%w: no key set: %w", errKeysUnavailable, context.DeadlineExceeded), outcome.Unavailable},
		{"canceled fetch", live, fmt.Errorf("tenant: verify: %w", context.Canceled), outcome.Canceled},
		{"deadline fetch", live, fmt.Errorf("tenant: verify: %w", context.DeadlineExceeded), outcome.Deadline},
		{"canceled context, invalid token", canceled, &tenant.TokenError{Reason: errors.New("rejected")}, outcome.Canceled},
		{"expired context, keys unavailable", expired, errKeysUnavailable, outcome.Deadline},
		{"unknown error fails closed", live, errors.New("something"), outcome.Unauthenticated},
	} {
		if got := outcome.Auth(tc.ctx, tc.err); got.Kind != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got.Kind, tc.want)
		}
	}
	if o := outcome.Auth(live, tenant.ErrMissingBearer); !o.Missing || o.Message != outcome.MsgMissing {
		t.Errorf("missing: %+v", o)
	}
	if o := outcome.Auth(live, tenant.ErrInvalidBearer); o.Missing || o.Message != tenant.ErrInvalidBearer.Error() {
		t.Errorf("invalid bearer: %+v", o)
	}
}

// TestAuthDirectory checks that a directory's refusal says which, and that
// a directory that cannot answer is Unavailable.
func TestAuthDirectory(t *testing.T) {
	live, canceled, _ := ctxs()
	for _, tc := range []struct {
		err    error
		reason string
		msg    string
	}{
		{directory.ErrSuspended, "tenant-suspended", "the tenant is suspended"},
		{directory.ErrOffboarded, "tenant-offboarded", "the tenant is offboarded"},
		{fmt.Errorf("wrapped: %w", directory.ErrUnknownTenant), "tenant-unknown", "the tenant is not known to the tenant directory"},
		{tenant.ErrForbidden, "", outcome.MsgForbidden},
		// Any verifier or check hook can say why: the table knows no
		// directory.
		{fmt.Errorf("check: %w", &tenant.Refusal{Reason: "contract-expired", Message: "the contract has expired"}), "contract-expired", "the contract has expired"},
	} {
		o := outcome.Auth(live, tc.err)
		if o.Kind != outcome.Forbidden || o.Reason != tc.reason || o.Message != tc.msg {
			t.Errorf("%v: %+v, want Forbidden reason %q message %q", tc.err, o, tc.reason, tc.msg)
		}
	}
	down := fmt.Errorf("%w: %w", directory.ErrUnavailable, context.DeadlineExceeded)
	if o := outcome.Auth(live, down); o.Kind != outcome.Unavailable || o.Message != outcome.MsgUnavailable || o.RetryAfter <= 0 {
		t.Errorf("directory down: %+v", o)
	}
	if o := outcome.Auth(canceled, down); o.Kind != outcome.Canceled {
		t.Errorf("directory down, caller gone: %+v", o)
	}
}

// TestLimit checks the classification of limiter results.
func TestLimit(t *testing.T) {
	live, canceled, _ := ctxs()
	p, err := ratelimit.NewPlan(ratelimit.Plan{Name: "free", Rate: ratelimit.PerMinute(60), Burst: 5,
		Quota: ratelimit.Daily(100), InFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	unavailable := fmt.Errorf("redislimit: %w: %w", ratelimit.ErrUnavailable, context.DeadlineExceeded)
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		d      ratelimit.Decision
		err    error
		want   outcome.Kind
		policy string
		limit  int64
	}{
		{"allowed", live, ratelimit.Decision{Allowed: true, Plan: p}, nil, outcome.OK, "", 0},
		{"rate", live, ratelimit.Decision{DeniedBy: ratelimit.ReasonRate, Plan: p, RetryAfter: time.Second}, nil, outcome.Rate, "free", 60},
		{"quota", live, ratelimit.Decision{DeniedBy: ratelimit.ReasonQuota, Plan: p}, nil, outcome.Quota, "free-quota", 100},
		{"in-flight", live, ratelimit.Decision{DeniedBy: ratelimit.ReasonInFlight, Plan: p}, nil, outcome.InFlight, "free-inflight", 2},
		// A backend that timed out on its own bound is down, not the caller's deadline.
		{"backend down", live, ratelimit.Decision{Plan: p}, unavailable, outcome.Unavailable, "", 0},
		{"capacity", live, ratelimit.Decision{Plan: p}, ratelimit.ErrCapacity, outcome.Unavailable, "", 0},
		{"caller gone", canceled, ratelimit.Decision{Plan: p}, unavailable, outcome.Canceled, "", 0},
		{"canceled error", live, ratelimit.Decision{Plan: p}, fmt.Errorf("redislimit: %w", context.Canceled), outcome.Canceled, "", 0},
		{"bad cost", live, ratelimit.Decision{Plan: p}, ratelimit.ErrInvalidCost, outcome.Internal, "", 0},
	} {
		got := outcome.Limit(tc.ctx, tc.d, tc.err)
		if got.Kind != tc.want || got.Policy != tc.policy || got.Limit != tc.limit {
			t.Errorf("%s: %+v, want %v policy %q limit %d", tc.name, got, tc.want, tc.policy, tc.limit)
		}
		if got.Kind == outcome.Unavailable && got.RetryAfter < time.Second {
			t.Errorf("%s: RetryAfter %v, want at least 1s", tc.name, got.RetryAfter)
		}
	}
}

func TestKindString(t *testing.T) {
	if outcome.InFlight.String() != ratelimit.ReasonInFlight.String() || outcome.Quota.String() != ratelimit.ReasonQuota.String() ||
		outcome.Rate.String() != ratelimit.ReasonRate.String() {
		t.Error("the denial kinds must read as the limiter's reasons: they are the problem body's reason")
	}
	if outcome.Kind(200).String() != "Kind(200)" {
		t.Error(outcome.Kind(200).String())
	}
}

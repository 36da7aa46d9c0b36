package featureflag

import (
	"errors"
	"fmt"

	"github.com/tenantkit/tenantkit/tenant"
)

// ErrInvalidOption is wrapped by the error [NewGuard] returns for an
// invalid option; the message names the option.
var ErrInvalidOption = errors.New("featureflag: invalid option")

// ErrOverride is wrapped by the error of an evaluation (or the reason a
// tracking event is dropped) whose evaluation context names a tenant other
// than the verified tenant of its context.Context: another targeting key, a
// tenant attribute with another value, or a tenant-like attribute the guard
// does not set. It wraps [tenant.ErrMismatch].
var ErrOverride = fmt.Errorf("featureflag: the evaluation context overrides the verified tenant: %w", tenant.ErrMismatch)

// ErrNoTenant is wrapped by the error of an evaluation whose evaluation
// context names a tenant (a targeting key or a tenant attribute) while its
// context.Context carries no verified tenant. It wraps [tenant.ErrNoTenant].
var ErrNoTenant = fmt.Errorf("featureflag: the evaluation context names a tenant without a verified one: %w", tenant.ErrNoTenant)

// RefusalError says why the guard refused an evaluation context: which
// member (the targeting key, or an attribute path such as
// "profile.tenant") named another tenant. It never holds the offending
// value. It wraps [ErrOverride] or [ErrNoTenant].
type RefusalError struct {
	// Member is "targetingKey" or the attribute's path, dot-separated for
	// nested values, with keys quoted by %q when they contain a dot.
	Member string
	// Reason says what was wrong with the member.
	Reason string
	class  error
}

func (e *RefusalError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.class, e.Member, e.Reason)
}

// Unwrap returns [ErrOverride] or [ErrNoTenant].
func (e *RefusalError) Unwrap() error { return e.class }

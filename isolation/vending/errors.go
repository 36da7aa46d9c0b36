package vending

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/tenantkit/tenantkit/isolation"
)

// Errors of the credential vendor. An [STSError] matches the one its error
// code stands for with errors.Is.
var (
	// ErrThrottled reports that STS throttled AssumeRole.
	ErrThrottled = errors.New("vending: STS throttled the request")
	// ErrAccessDenied reports that the caller may not assume the role (or
	// set the session tags or source identity).
	ErrAccessDenied = errors.New("vending: access denied by STS")
	// ErrExpiredToken reports that the vendor's own credentials have
	// expired.
	ErrExpiredToken = errors.New("vending: caller's security token expired")
	// ErrMalformedPolicy reports that STS refused the session policy as
	// malformed.
	ErrMalformedPolicy = errors.New("vending: STS refused the session policy as malformed")
	// ErrCredentialsMismatch reports an STS answer that is not for the
	// session asked for (an assumed-role ARN with another session name, or
	// no credentials). The credentials are discarded.
	ErrCredentialsMismatch = errors.New("vending: STS answered for another session")
	// ErrTenantMismatch reports that credentials vended for one tenant were
	// asked for under a context that carries another tenant.
	ErrTenantMismatch = errors.New("vending: credentials belong to another tenant")
)

// STSError is a failed AssumeRole call. It wraps the SDK's error (so
// errors.As finds smithy.APIError and the sts/types exceptions) and matches
// [ErrThrottled], [isolation.ErrPolicyTooLarge], [ErrAccessDenied], [ErrExpiredToken]
// or [ErrMalformedPolicy] with errors.Is according to its Code.
type STSError struct {
	TenantID string
	RoleARN  string
	Code     string // the STS error code, "" if the call failed before STS answered
	Err      error
}

// Error names the role and the tenant, then the SDK's error.
func (e *STSError) Error() string {
	return fmt.Sprintf("vending: AssumeRole %s for tenant %s: %v", e.RoleARN, e.TenantID, e.Err)
}

// Unwrap returns e.Err.
func (e *STSError) Unwrap() error { return e.Err }

// Is matches the sentinel the error code stands for.
func (e *STSError) Is(target error) bool {
	switch target {
	case ErrThrottled:
		switch e.Code {
		case "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
			"TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "SlowDown":
			return true
		}
	case isolation.ErrPolicyTooLarge:
		return e.Code == "PackedPolicyTooLarge"
	case ErrAccessDenied:
		return e.Code == "AccessDenied" || e.Code == "AccessDeniedException"
	case ErrExpiredToken:
		return e.Code == "ExpiredToken" || e.Code == "ExpiredTokenException"
	case ErrMalformedPolicy:
		return e.Code == "MalformedPolicyDocument"
	}
	return false
}

func newSTSError(tenantID, roleARN string, err error) *STSError {
	e := &STSError{TenantID: tenantID, RoleARN: roleARN, Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code = ae.ErrorCode()
	}
	return e
}

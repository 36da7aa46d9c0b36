package authn

import (
	"errors"
	"fmt"

	"github.com/tenantkit/tenantkit/tenant"
)

// Reasons a token is rejected. Each is returned wrapped in a *TokenError,
// which also matches [tenant.ErrInvalidToken].
var (
	ErrMalformed      = errors.New("malformed token")
	ErrTooLarge       = errors.New("token exceeds the size limit")
	ErrAlgorithm      = errors.New("signing algorithm not allowed")
	ErrHeader         = errors.New("forbidden header parameter")
	ErrCritical       = errors.New("unsupported critical header parameter")
	ErrMissingKeyID   = errors.New("token header has no key ID")
	ErrUnknownKey     = errors.New("no key with this key ID")
	ErrSignature      = errors.New("signature invalid")
	ErrExpired        = errors.New("token expired")
	ErrNotYetValid    = errors.New("token not valid yet")
	ErrIssuedInFuture = errors.New("token issued in the future")
	ErrMissingExpiry  = errors.New("token has no expiry")
	ErrIssuer         = errors.New("issuer not trusted")
	ErrAudience       = errors.New("audience not accepted")
	ErrClientID       = errors.New("client ID not accepted")
	ErrTokenUse       = errors.New("token use not accepted")
	// ErrTokenType: the token is of a type that does not authenticate a
	// request, by its "typ" header (see Issuer.Types) or its "events"
	// claim: a logout token, a security event token, an internal
	// assertion at a bearer verifier, or the reverse.
	ErrTokenType   = errors.New("token type not accepted")
	ErrTenantClaim = errors.New("tenant claim missing or invalid")
	// ErrTenantNotAllowed: the token names a tenant its issuer may not
	// assert (see Issuer.Tenants). It is a 401, not a 403: the token does
	// not prove the tenant, as if its issuer were not trusted for it.
	ErrTenantNotAllowed = errors.New("issuer may not assert this tenant")
	ErrTierClaim        = errors.New("tier claim invalid")
	ErrDuplicateClaim   = errors.New("duplicate or case-variant claim")
	ErrMissingClaim     = errors.New("required claim missing")
	ErrRejected         = errors.New("rejected by check")
	errUnknownReason    = errors.New("token rejected")
)

// ErrKeysUnavailable reports that a token could not be checked because its
// issuer's keys were never fetched and the issuer is unreachable. It is a
// server-side failure (503 / Unavailable), not a bad credential, so it wraps
// [tenant.ErrUnavailable] and not [tenant.ErrInvalidToken]. Errors matching
// it name the issuer and wrap the fetch failure.
var ErrKeysUnavailable = fmt.Errorf("authn: issuer keys unavailable: %w", tenant.ErrUnavailable)

// ErrConfig reports an invalid Verifier, Issuer, KeyRing or Assertion: a
// constructor's arguments, or an option ([ErrInvalidOption] wraps it).
var ErrConfig = errors.New("authn: invalid configuration")

// ErrInvalidOption is wrapped by the error [NewVerifier] and [NewAssertion]
// return for an option with an invalid value, or one that does not apply to
// the constructor; the message names the option. It wraps [ErrConfig].
var ErrInvalidOption error = invalidOption{}

type invalidOption struct{}

func (invalidOption) Error() string { return "authn: invalid option" }
func (invalidOption) Unwrap() error { return ErrConfig }

func tokenErr(reason error, detail string) *tenant.TokenError {
	return &tenant.TokenError{Reason: reason, Detail: detail}
}

package tenant

import (
	"errors"
	"fmt"
)

// ErrInvalidToken is wrapped by every error that rejects a credential, so a
// transport can map all of them to 401 / Unauthenticated with one errors.Is.
// The specific reason is wrapped too: errors.Is(err, ErrExpired) works.
var ErrInvalidToken = errors.New("tenant: invalid token")

// Reasons a token is rejected. Each is returned wrapped in a *TokenError,
// which also matches ErrInvalidToken.
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
	ErrInvalidBearer    = errors.New("malformed Authorization header")
	errUnknownReason    = errors.New("token rejected")
)

// ErrKeysUnavailable reports that a token could not be checked because its
// issuer's keys were never fetched and the issuer is unreachable. It is a
// server-side failure (503 / Unavailable), not a bad credential, so it does
// not wrap ErrInvalidToken. Errors matching it name the issuer and wrap
// the fetch failure.
var ErrKeysUnavailable = errors.New("tenant: issuer keys unavailable")

// ErrConfig reports an invalid Verifier, Issuer or option.
var ErrConfig = errors.New("tenant: invalid configuration")

// TokenError is the error a Verifier returns for a rejected token. Its
// message names the reason and, where known, the issuer and key ID; it never
// contains the token or any part of it.
type TokenError struct {
	Reason error  // one of the Err* reasons above
	Issuer string // the trusted issuer involved, if the token got that far
	KeyID  string // the key ID from the header, if the token got that far
	Detail string // a fixed description of what failed; never token bytes
}

func (e *TokenError) Error() string {
	msg := "tenant: invalid token: " + e.Reason.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Issuer != "" {
		msg += " (issuer " + e.Issuer
		if e.KeyID != "" {
			msg += ", kid " + e.KeyID
		}
		msg += ")"
	}
	return msg
}

// Unwrap makes errors.Is match both ErrInvalidToken and the reason.
func (e *TokenError) Unwrap() []error { return []error{ErrInvalidToken, e.Reason} }

func tokenErr(reason error, detail string) *TokenError {
	return &TokenError{Reason: reason, Detail: detail}
}

// ErrForbidden marks a verified tenant that is not allowed in (for example
// by a WithCheck allow-list). Transports answer it with 403 /
// PermissionDenied rather than 401 / Unauthenticated.
var ErrForbidden = errors.New("tenant: forbidden")

// ErrAbsent is wrapped by the error a Propagator's Extract returns when the
// carrier holds no credential of its format at all, as opposed to one that
// fails to verify.
var ErrAbsent = errors.New("tenant: no credential present")

// ErrMissingBearer reports a request without a bearer token: no
// Authorization header, or one of another scheme. It wraps ErrAbsent.
var ErrMissingBearer = fmt.Errorf("%w: no bearer token", ErrAbsent)

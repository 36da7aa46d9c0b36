package tenant

import (
	"errors"
	"fmt"
)

// ErrInvalidToken is wrapped by every error that rejects a credential, so a
// transport can map all of them to 401 / Unauthenticated with one errors.Is.
// The specific reason is wrapped too: errors.Is(err, authn.ErrExpired)
// works.
var ErrInvalidToken = errors.New("tenant: invalid token")

// ErrInvalidBearer reports an Authorization header (or authorization
// metadata value) that is not a well-formed bearer credential, or a
// credential field that holds more than one value.
var ErrInvalidBearer = errors.New("malformed Authorization header")

// ErrUnavailable is wrapped by the error a TokenVerifier returns when it
// cannot decide now (an issuer's keys cannot be fetched, a directory does
// not answer): a server-side failure, answered with 503 / Unavailable and
// never with 401.
var ErrUnavailable = errors.New("tenant: credential cannot be checked now")

// ErrConfig reports a propagator used without what it needs, such as a
// Relay without a Verifier.
var ErrConfig = errors.New("tenant: invalid configuration")

// TokenError is the error a TokenVerifier returns for a rejected credential.
// Its message names the reason and, where known, the issuer and key ID; it
// never contains the credential or any part of it.
type TokenError struct {
	Reason error  // why: ErrMismatch, ErrInvalidBearer or a verifier's reason
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

// Refusal refuses a verified tenant for a reason the caller may be told:
// Reason is a short slug (such as "tenant-suspended") that the adapters put
// into the problem type and the gRPC ErrorInfo, Message a fixed public
// text. It matches ErrForbidden. A directory or a check hook returns one
// (or an error wrapping one) to say why; any other ErrForbidden is answered
// without a reason.
type Refusal struct {
	Reason  string
	Message string
}

func (r *Refusal) Error() string { return "tenant: forbidden: " + r.Message }

// Unwrap makes errors.Is(err, ErrForbidden) match.
func (r *Refusal) Unwrap() error { return ErrForbidden }

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

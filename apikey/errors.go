package apikey

import (
	"errors"

	"github.com/tenantkit/tenantkit/tenant"
)

// Issuer is the issuer of the Tenants a Verifier proves, and of its errors.
const Issuer = "apikey"

// Reasons a key is refused. The errors a Verifier returns are
// *tenant.TokenError values wrapping tenant.ErrInvalidToken and one of
// these.
var (
	ErrMalformedKey = errors.New("apikey: malformed key")
	ErrUnknownKey   = errors.New("apikey: unknown key")
	ErrRevoked      = errors.New("apikey: key revoked")
	ErrExpired      = errors.New("apikey: key expired")
)

// ErrInvalidOption is wrapped by the error of a constructor given an
// invalid option.
var ErrInvalidOption = errors.New("apikey: invalid option")

// malformed is the one error of every malformed key: it names no key ID,
// since a malformed key has none that can be trusted.
var malformed = &tenant.TokenError{Reason: ErrMalformedKey, Issuer: Issuer, Detail: "not a well-formed API key"}

func refused(reason error, keyID, detail string) error {
	return &tenant.TokenError{Reason: reason, Issuer: Issuer, KeyID: keyID, Detail: detail}
}

// errBadKeyID is the error of ValidateKeyID.
var errBadKeyID = errors.New("apikey: not a well-formed key ID")

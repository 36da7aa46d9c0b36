package kmsenvelope

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/tenantkit/tenantkit/tenant"
)

// ErrInvalidOption is wrapped by the error [New] returns for an option with
// an invalid value, a nil client or a nil key resolver; the message names
// the option or parameter.
var ErrInvalidOption = errors.New("kmsenvelope: invalid option")

// ErrNoTenant is returned when the context carries no tenant; no KMS call
// is made. It wraps [tenant.ErrNoTenant].
var ErrNoTenant = fmt.Errorf("kmsenvelope: %w", tenant.ErrNoTenant)

// ErrNoKey is wrapped by the error returned when the tenant's key cannot be
// resolved: the [KeyResolver] failed (its error is wrapped too) or returned
// something that is not a KMS key ID or key ARN. No KMS call is made.
var ErrNoKey = errors.New("kmsenvelope: no usable KMS key for the tenant")

// ErrDecrypt is wrapped by every error of [Envelope.Decrypt] that says the
// ciphertext cannot be opened for the context's tenant: it is malformed,
// tampered with, sealed for another tenant or with other associated data,
// or KMS refused its data key under the tenant's encryption context. No
// plaintext is returned with it.
var ErrDecrypt = errors.New("kmsenvelope: cannot decrypt")

// ErrMalformed is returned for input that is not a ciphertext of this
// package's format; it wraps [ErrDecrypt].
var ErrMalformed = fmt.Errorf("%w: malformed ciphertext", ErrDecrypt)

// ErrWrongTenant is returned when the ciphertext names another tenant than
// the context's; it wraps [ErrDecrypt]. No KMS call is made. A ciphertext
// whose tenant was rewritten fails with [ErrDecrypt] instead, when KMS or
// the authentication tag refuses it.
var ErrWrongTenant = fmt.Errorf("%w: sealed for another tenant", ErrDecrypt)

// ErrShredded is wrapped by the error returned when KMS refuses the
// tenant's key because it is disabled, pending deletion or deleted
// (DisabledException, KMSInvalidStateException, NotFoundException): the
// tenant's data is crypto-shredded for as long as the key stays so. The
// SDK's error is wrapped too. KMS also answers NotFoundException for a key
// of another region or account than the client's, so for a tenant never
// shredded it points at the placement or the client's configuration.
var ErrShredded = errors.New("kmsenvelope: tenant key disabled or deleted")

// ErrKMS is wrapped by the error returned when a KMS call fails for another
// reason (network, throttling, access denied, an answer of the wrong
// shape); the SDK's error is wrapped too, so errors.As to its types works.
// A canceled or expired context is returned as the context's error.
var ErrKMS = errors.New("kmsenvelope: KMS call failed")

// kmsError classifies err, the error of the KMS call op.
func kmsError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("kmsenvelope: %s: %w", op, ctxErr)
	}
	class := ErrKMS
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "DisabledException", "KMSInvalidStateException", "NotFoundException":
			class = ErrShredded
		case "InvalidCiphertextException", "IncorrectKeyException":
			if op == "Decrypt" {
				class = ErrDecrypt
			}
		}
	}
	return fmt.Errorf("kmsenvelope: %s: %w: %w", op, class, err)
}

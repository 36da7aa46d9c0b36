package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/tenantkit/tenantkit/tenant"
)

// ErrMalformedItem is wrapped by the error returned for an item that does
// not have the shape the package documents: a status outside the status
// map, an attribute of the wrong type, a key record without its tenant or
// hash. Such an item is never read as a valid one (a tenant whose status
// cannot be read is not active).
var ErrMalformedItem = errors.New("dynamostore: malformed item")

// ErrUnavailable is wrapped, together with [tenant.ErrUnavailable], by the
// error returned when DynamoDB does not answer: a network failure, a
// throttled request, a server error, a missing table. Check either with
// errors.Is; the SDK's error is wrapped too (errors.As to
// *types.ProvisionedThroughputExceededException works). A canceled or
// expired context is returned as the context's error, not as this one.
var ErrUnavailable = errors.New("dynamostore: DynamoDB unavailable")

// unavailable wraps err, the error of the DynamoDB call op, for the
// callers: the context's error when ctx is done, else ErrUnavailable and
// tenant.ErrUnavailable.
func unavailable(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("dynamostore: %s: %w", op, ctxErr)
	}
	return &unavailableError{op: op, err: err}
}

type unavailableError struct {
	op  string
	err error
}

func (e *unavailableError) Error() string {
	return "dynamostore: " + e.op + ": DynamoDB unavailable: " + e.err.Error()
}

func (e *unavailableError) Unwrap() []error {
	return []error{ErrUnavailable, tenant.ErrUnavailable, e.err}
}

// Throttled reports whether err (from a Directory or a KeyStore) is
// DynamoDB refusing a request for capacity: throttling, provisioned
// throughput exceeded or the account's request limit.
func Throttled(err error) bool {
	var pt *types.ProvisionedThroughputExceededException
	var th *types.ThrottlingException
	var rl *types.RequestLimitExceeded
	if errors.As(err, &pt) || errors.As(err, &th) || errors.As(err, &rl) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "Throttling":
			return true
		}
	}
	return false
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedItem}, args...)...)
}

package authorizer

import (
	"errors"
	"fmt"
)

// ErrInvalidOption is wrapped by the error [New] returns for an invalid
// option or argument; the message names it.
var ErrInvalidOption = errors.New("authorizer: invalid option")

// ErrUnauthorized is the error the TOKEN authorizer ([Authorizer.Token])
// returns for a missing or rejected credential. Its text is exactly
// "Unauthorized", which API Gateway answers with 401.
var ErrUnauthorized = errors.New("Unauthorized")

// ErrUnavailable is returned by every handler when the caller cannot be
// checked now (an issuer's keys, the directory, the API-key store or STS
// do not answer). API Gateway answers an authorizer error with 500 and
// caches nothing, so the caller is neither admitted nor locked out for the
// cache's TTL. The message is fixed; the cause is only logged.
var ErrUnavailable = errors.New("authorizer: the caller cannot be checked now")

// ErrMethodARN is wrapped by the error of [ParseMethodARN] for an ARN that
// is not an execute-api method or route ARN.
var ErrMethodARN = errors.New("authorizer: invalid method ARN")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}

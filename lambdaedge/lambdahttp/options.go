package lambdahttp

import (
	"errors"
	"fmt"

	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

// ErrInvalidOption is wrapped by the error [New] returns for an invalid
// option or argument; the message names it.
var ErrInvalidOption = errors.New("lambdahttp: invalid option")

// Option configures an [Adapter].
type Option func(*config)

type config struct {
	verifier tenant.TokenVerifier
	authOpts []httpmw.AuthOption
	spoof    []string
	invalid  error
}

func (c *config) fail(format string, args ...any) {
	if c.invalid == nil {
		c.invalid = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithReverify ignores the authorizer context and verifies every request's
// credential again with v, through httpmw.Authenticate(v, opts...): the
// mode for a function that something other than API Gateway can invoke
// (an ALB, a function URL, another account's caller), and the only mode
// that serves ALB events.
func WithReverify(v tenant.TokenVerifier, opts ...httpmw.AuthOption) Option {
	return func(c *config) {
		if v == nil {
			c.fail("WithReverify(nil)")
			return
		}
		c.verifier, c.authOpts = v, opts
	}
}

// WithSpoofableHeaders adds names to the headers removed from every
// request before the handler runs (on top of tenant.SpoofableNames and
// Tenant-Assertion), in the mode that trusts the authorizer context.
func WithSpoofableHeaders(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			if n == "" {
				c.fail(`WithSpoofableHeaders("")`)
				return
			}
		}
		c.spoof = append(c.spoof, names...)
	}
}

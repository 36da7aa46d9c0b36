package featureflag

import (
	"context"
	"fmt"
)

// Option configures a [Guard].
type Option func(*config)

type config struct {
	onRefuse func(ctx context.Context, flagKey string, err error)
	idNames  map[string]bool // folded names that must hold the tenant ID
	err      error
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithRefusalHandler calls f for every evaluation or tracking event the
// guard refuses, with the flag key (the event name for tracking) and the
// error, a *[RefusalError]; use it to log or count refusals by flag. f
// runs on the evaluating goroutine and must be quick.
func WithRefusalHandler(f func(ctx context.Context, flagKey string, err error)) Option {
	return func(c *config) {
		if f == nil {
			c.fail("WithRefusalHandler: a nil function")
			return
		}
		c.onRefuse = f
	}
}

// WithTenantIDAttributes names more attributes that the service's flag
// rules read as the tenant ID (for example "orgId" or "accountId"): the
// guard then accepts them only with the verified tenant's ID as value, in
// any case and separator variant of the name, at any depth. The targeting
// key and the names that begin with "tenant" are always guarded.
func WithTenantIDAttributes(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			f := foldName(n)
			if f == "" {
				c.fail("WithTenantIDAttributes(%q): a name without letters or digits", n)
				return
			}
			if c.idNames == nil {
				c.idNames = map[string]bool{}
			}
			c.idNames[f] = true
		}
	}
}

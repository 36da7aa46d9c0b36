package grpcmw

import (
	"errors"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/tenant"
)

// ErrInvalidOption is wrapped by the value a constructor of this package
// panics with when an option was given an invalid value; the message names
// the constructor and the option.
var ErrInvalidOption = errors.New("grpcmw: invalid option")

// Each option checks its own value and records the first problem in its
// config; the constructor panics once all options are applied (see
// internal/nilarg for why constructors panic).

func mustValidOptions(ctor, invalid string) {
	nilarg.MustValidOptions("grpcmw", ctor, invalid, ErrInvalidOption)
}

func mustDependency(ctor, param string, v any) { nilarg.MustDependency("grpcmw", ctor, param, v) }

func mustPropagator(ctor string, p tenant.Propagator) { nilarg.MustPropagator("grpcmw", ctor, p) }

// Package nilarg tells the constructors of tenantkit's packages whether a
// dependency they were given is nil, so that they fail at construction, with
// the parameter's name, instead of on the first request.
package nilarg

import (
	"fmt"
	"reflect"

	"github.com/tenantkit/tenantkit/tenant"
)

// Check returns an error "<pkg>: <param> is nil" (or "is a nil *T") when v
// is nil or an interface holding a nil pointer, func, map, chan or slice,
// and nil otherwise. It reflects, so callers use it at construction only.
func Check(pkg, param string, v any) error {
	if d := describe(v); d != "" {
		return fmt.Errorf("%s: %s is %s", pkg, param, d)
	}
	return nil
}

// IsNil reports whether v is nil or holds a typed nil.
func IsNil(v any) bool { return describe(v) != "" }

// Describe returns "nil" for nil, "a nil *T" for a typed nil, and ""
// otherwise.
func Describe(v any) string { return describe(v) }

func describe(v any) string {
	if v == nil {
		return "nil"
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Chan, reflect.Slice, reflect.Interface, reflect.UnsafePointer:
		if rv.IsNil() {
			return fmt.Sprintf("a nil %T", v)
		}
	}
	return ""
}

// The middleware constructors of httpmw and grpcmw return handlers or
// interceptors, not errors, so they fail at construction by panicking, as
// http.Handle does for a nil handler: a server built from them would
// otherwise fail on its first request.

// OptionError is the panic value of a middleware constructor given an
// invalid option. It wraps its package's ErrInvalidOption.
type OptionError struct {
	Pkg, Ctor, Option string
	Sentinel          error
}

func (e *OptionError) Error() string { return e.Pkg + ": " + e.Ctor + ": invalid option " + e.Option }

func (e *OptionError) Unwrap() error { return e.Sentinel }

// MustValidOptions panics with an *OptionError when invalid, the first
// invalid option given to ctor of package pkg, is set.
func MustValidOptions(pkg, ctor, invalid string, sentinel error) {
	if invalid != "" {
		panic(&OptionError{Pkg: pkg, Ctor: ctor, Option: invalid, Sentinel: sentinel})
	}
}

// MustDependency panics when v, the parameter param of ctor, is nil or
// holds a typed nil.
func MustDependency(pkg, ctor, param string, v any) {
	if d := describe(v); d != "" {
		panic(fmt.Errorf("%s: %s: %s is %s", pkg, ctor, param, d))
	}
}

// MustPropagator is MustDependency for a propagator, and for the Verifier
// of a tenant.Relay, which may be nil (the Relay then only injects) but
// not a typed nil.
func MustPropagator(pkg, ctor string, p tenant.Propagator) {
	MustDependency(pkg, ctor, "propagator", p)
	var v tenant.TokenVerifier
	switch r := p.(type) {
	case tenant.Relay:
		v = r.Verifier
	case *tenant.Relay:
		v = r.Verifier
	}
	if v != nil {
		if d := describe(v); d != "" {
			panic(fmt.Errorf("%s: %s: propagator is a tenant.Relay whose Verifier is %s", pkg, ctor, d))
		}
	}
}

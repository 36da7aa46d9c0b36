package httpmw

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/tenantkit/tenantkit/tenant"
)

// ErrInvalidOption is wrapped by the value a constructor of this package
// panics with when an option was given an invalid value; the message names
// the constructor and the option.
var ErrInvalidOption = errors.New("httpmw: invalid option")

// The constructors return middleware, not errors, so an invalid option
// panics when the middleware is built, as http.Handle does for a nil
// handler: a server built from it would fail on its first request instead.
// Each option checks its own value and records the first problem in its
// config (an invalid field of the config struct); the constructor panics
// with an optionError once all options are applied.

// optionError is the panic value of a constructor given an invalid option.
type optionError struct{ ctor, option string }

func (e *optionError) Error() string { return "httpmw: " + e.ctor + ": invalid option " + e.option }

func (e *optionError) Unwrap() error { return ErrInvalidOption }

// mustValidOptions panics when invalid, the first invalid option of a
// config of ctor, is set.
func mustValidOptions(ctor, invalid string) {
	if invalid != "" {
		panic(&optionError{ctor: ctor, option: invalid})
	}
}

// mustDependency panics when v, the parameter param of ctor, is nil or an
// interface holding a nil pointer (or func, map, chan, slice): such a
// dependency would fail on the first request, not here. It reflects once,
// at construction; requests never pay for it.
func mustDependency(ctor, param string, v any) {
	if d := nilValue(v); d != "" {
		panic(fmt.Errorf("httpmw: %s: %s is %s", ctor, param, d))
	}
}

// nilValue describes v when it is nil ("nil") or holds a typed nil ("a nil
// *authn.Verifier"), and returns "" otherwise.
func nilValue(v any) string {
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

// mustPropagator is mustDependency for the propagator p of ctor, and for
// the Verifier of a tenant.Relay, which may be nil (the Relay then only
// injects) but not a typed nil.
func mustPropagator(ctor string, p tenant.Propagator) {
	mustDependency(ctor, "propagator", p)
	var v tenant.TokenVerifier
	switch r := p.(type) {
	case tenant.Relay:
		v = r.Verifier
	case *tenant.Relay:
		v = r.Verifier
	}
	if v != nil {
		if d := nilValue(v); d != "" {
			panic(fmt.Errorf("httpmw: %s: propagator is a tenant.Relay whose Verifier is %s", ctor, d))
		}
	}
}

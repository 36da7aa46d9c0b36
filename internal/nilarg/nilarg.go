// Package nilarg tells the constructors of tenantkit's packages whether a
// dependency they were given is nil, so that they fail at construction, with
// the parameter's name, instead of on the first request.
package nilarg

import (
	"fmt"
	"reflect"
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

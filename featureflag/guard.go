package featureflag

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/tenantkit/tenantkit/tenant"
)

// Guard keeps flag evaluations on the verified tenant: an evaluation
// context whose targeting key or tenant attributes name another tenant is
// refused, and a context that names none gets the verified tenant's. Use it
// as a provider wrapper ([Guard.Provider], which sees the context after
// every hook has run) or as an OpenFeature hook; it is safe for
// concurrent use.
//
// The verified tenant is the one of the context.Context passed to the
// evaluation ([tenant.FromContext]), which only tenantkit's middleware
// sets. The guard refuses, with an error wrapping [ErrOverride]:
//
//   - a targeting key other than the tenant ID;
//   - [TenantIDAttribute] or [TenantTierAttribute] with another value, or a
//     tier when the tenant has none;
//   - any attribute, at any depth of nested maps, slices and structs, whose
//     name folds to "targetingkey", "tenantid" or "tenanttier" (case,
//     separators such as '.', '_', '-' and spaces, and Unicode letters
//     that fold to ASCII are ignored) with another value, or folds to any
//     other name beginning with "tenant";
//   - a context nested deeper than 32 levels or with more than 10,000
//     values, which it does not inspect.
//
// Without a verified tenant it refuses, wrapping [ErrNoTenant], a context
// that names a tenant, and lets through one that names none. A refused
// evaluation returns the caller's default value.
type Guard struct {
	cfg     config
	refused atomic.Uint64
}

// NewGuard returns a Guard. Options: [WithRefusalHandler],
// [WithTenantIDAttributes].
func NewGuard(opts ...Option) (*Guard, error) {
	g := &Guard{}
	for _, o := range opts {
		if o == nil {
			g.cfg.fail("a nil Option")
			continue
		}
		o(&g.cfg)
	}
	if g.cfg.err != nil {
		return nil, g.cfg.err
	}
	return g, nil
}

// Refused returns how many evaluations and tracking events the guard has
// refused.
func (g *Guard) Refused() uint64 { return g.refused.Load() }

var _ openfeature.Hook = (*Guard)(nil)

// Before checks the merged evaluation context of an evaluation and returns
// the verified tenant's targeting key and attributes to merge over it, or
// a *[RefusalError], which makes the SDK return the default value. As a
// hook it sees the context as the hooks before it left it: register it
// last, or prefer [Guard.Provider].
func (g *Guard) Before(ctx context.Context, hc openfeature.HookContext, _ openfeature.HookHints) (*openfeature.EvaluationContext, error) {
	ec := hc.EvaluationContext()
	t, err := g.check(ctx, ec.TargetingKey(), ec.Attributes())
	if err != nil {
		g.refuse(ctx, hc.FlagKey(), err)
		return nil, err
	}
	if t.IsZero() || targets(t, ec.TargetingKey(), ec.Attribute) {
		return nil, nil
	}
	forced := EvaluationContext(t)
	return &forced, nil
}

// targets reports whether a context with targeting key tk and attributes
// attr already names t in full, so that there is nothing to fill in.
func targets(t tenant.Tenant, tk string, attr func(string) any) bool {
	if tk != t.ID() || attr(TenantIDAttribute) != t.ID() {
		return false
	}
	if t.Tier() == "" {
		return attr(TenantTierAttribute) == nil
	}
	return attr(TenantTierAttribute) == t.Tier()
}

// After does nothing.
func (g *Guard) After(context.Context, openfeature.HookContext, openfeature.InterfaceEvaluationDetails, openfeature.HookHints) error {
	return nil
}

// Error does nothing.
func (g *Guard) Error(context.Context, openfeature.HookContext, error, openfeature.HookHints) {}

// Finally does nothing.
func (g *Guard) Finally(context.Context, openfeature.HookContext, openfeature.InterfaceEvaluationDetails, openfeature.HookHints) {
}

func (g *Guard) refuse(ctx context.Context, flagKey string, err error) {
	g.refused.Add(1)
	if g.cfg.onRefuse != nil {
		g.cfg.onRefuse(ctx, flagKey, err)
	}
}

// Limits of the inspection of nested attribute values: past them the
// guard cannot show that no nested member names another tenant, so it
// refuses.
const (
	maxDepth  = 32
	maxValues = 10_000
)

// check returns the verified tenant of ctx (zero when there is none) if
// the targeting key tk and the attributes are consistent with it.
func (g *Guard) check(ctx context.Context, tk string, attrs map[string]any) (tenant.Tenant, error) {
	t, ok := tenant.FromContext(ctx)
	c := checker{g: g, t: t, has: ok}
	if err := c.all(tk, attrs); err != nil {
		c = checker{g: g, t: t, has: ok, paths: true}
		if perr := c.all(tk, attrs); perr != nil {
			err = perr
		}
		return tenant.Tenant{}, err
	}
	return t, nil
}

func (c *checker) all(tk string, attrs map[string]any) error {
	if tk != "" {
		if err := c.identity("targetingKey", tk, roleID); err != nil {
			return err
		}
	}
	for k, v := range attrs {
		if err := c.member(k, k, v, 1); err != nil {
			return err
		}
	}
	return nil
}

type role uint8

const (
	roleNone  role = iota
	roleID         // must be the tenant ID
	roleTier       // must be the tenant's tier
	roleOther      // tenant-like, never accepted
)

type checker struct {
	g      *Guard
	t      tenant.Tenant
	has    bool
	values int
	// paths makes the walk build the path of each nested member, for the
	// refusal; the first walk goes without (it costs an allocation per
	// nested member), a refused context is walked again with.
	paths bool
}

// roleOf classifies an attribute name by its folded form.
func (c *checker) roleOf(name string) role {
	var buf [64]byte
	f := appendFolded(buf[:0], name)
	switch {
	case string(f) == "targetingkey" || string(f) == "tenantid" || c.g.cfg.idNames[string(f)]:
		return roleID
	case string(f) == "tenanttier":
		return roleTier
	case len(f) >= 6 && string(f[:6]) == "tenant":
		return roleOther
	}
	return roleNone
}

func (c *checker) refusal(class error, path, reason string) error {
	return &RefusalError{Member: path, Reason: reason, class: class}
}

// identity checks a member of role r (not roleNone) whose value is v.
func (c *checker) identity(path string, v any, r role) error {
	if !c.has {
		return c.refusal(ErrNoTenant, path, "names a tenant")
	}
	s, isString := v.(string)
	switch r {
	case roleID:
		if !isString || s != c.t.ID() {
			return c.refusal(ErrOverride, path, "is not the verified tenant ID")
		}
	case roleTier:
		if c.t.Tier() == "" {
			return c.refusal(ErrOverride, path, "sets a tier the verified tenant does not have")
		}
		if !isString || s != c.t.Tier() {
			return c.refusal(ErrOverride, path, "is not the verified tenant's tier")
		}
	default:
		return c.refusal(ErrOverride, path, "is a tenant attribute the guard does not accept")
	}
	return nil
}

// member checks the member name (at path) with value v, then v's nested
// members.
func (c *checker) member(path, name string, v any, depth int) error {
	if r := c.roleOf(name); r != roleNone {
		if err := c.identity(path, v, r); err != nil {
			return err
		}
	}
	return c.nested(path, v, depth)
}

func (c *checker) childPath(path, name string) string {
	if !c.paths {
		return ""
	}
	if strings.ContainsAny(name, ".\"") || name == "" {
		name = strconv.Quote(name)
	}
	return path + "." + name
}

func (c *checker) indexPath(path string, i int) string {
	if !c.paths {
		return ""
	}
	return path + "[" + strconv.Itoa(i) + "]"
}

// nested walks the members of v.
func (c *checker) nested(path string, v any, depth int) error {
	c.values++
	if c.values > maxValues {
		return c.refusal(ErrOverride, path, "the context holds too many values to inspect")
	}
	switch v := v.(type) {
	case nil, string, bool, int, int64, float64, []byte:
		// Bytes are a leaf: no provider reads member names in them.
		return nil
	case map[string]any:
		if depth >= maxDepth && len(v) > 0 {
			return c.refusal(ErrOverride, path, "is nested too deep to inspect")
		}
		for k, x := range v {
			if err := c.member(c.childPath(path, k), k, x, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []any:
		if depth >= maxDepth && len(v) > 0 {
			return c.refusal(ErrOverride, path, "is nested too deep to inspect")
		}
		for i, x := range v {
			if err := c.nested(c.indexPath(path, i), x, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return c.reflected(path, reflect.ValueOf(v), depth)
}

// reflected walks values of other types: maps with string keys, slices,
// arrays, pointers, interfaces and structs (by field name and by the name
// of its json tag, which a provider that marshals the context would use).
func (c *checker) reflected(path string, rv reflect.Value, depth int) error {
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
		depth++
	}
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
	default:
		return nil
	}
	if depth >= maxDepth {
		return c.refusal(ErrOverride, path, "is nested too deep to inspect")
	}
	switch rv.Kind() {
	case reflect.Map:
		it := rv.MapRange()
		for it.Next() {
			k := it.Key()
			var name string
			if k.Kind() == reflect.String {
				name = k.String()
			} else {
				name = formatKey(k)
			}
			if err := c.memberValue(c.childPath(path, name), name, it.Value(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			if err := c.valueAt(c.indexPath(path, i), rv.Index(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Struct:
		rt := rv.Type()
		for i := range rt.NumField() {
			f := rt.Field(i)
			if !f.IsExported() {
				continue
			}
			names := []string{f.Name}
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
				names = append(names, tag)
			}
			for _, n := range names {
				if err := c.memberValue(c.childPath(path, n), n, rv.Field(i), depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func formatKey(k reflect.Value) string {
	if k.CanInterface() {
		if s, ok := k.Interface().(interface{ String() string }); ok {
			return s.String()
		}
	}
	return ""
}

// memberValue is member for a reflected value.
func (c *checker) memberValue(path, name string, rv reflect.Value, depth int) error {
	if r := c.roleOf(name); r != roleNone {
		var v any
		if rv.IsValid() && rv.CanInterface() {
			v = rv.Interface()
		}
		if err := c.identity(path, v, r); err != nil {
			return err
		}
	}
	return c.valueAt(path, rv, depth)
}

func (c *checker) valueAt(path string, rv reflect.Value, depth int) error {
	if !rv.IsValid() {
		return nil
	}
	if rv.CanInterface() {
		return c.nested(path, rv.Interface(), depth)
	}
	c.values++
	if c.values > maxValues {
		return c.refusal(ErrOverride, path, "the context holds too many values to inspect")
	}
	return c.reflected(path, rv, depth)
}

// foldName maps an attribute name to the form the guard compares: letters
// in lower case, folded to ASCII where a case variant is ASCII (the Kelvin
// sign is k, the long s is s) and from their full-width forms, and every
// character that is neither a letter nor a digit dropped, so that
// "Tenant.ID", "tenant_id", "TENANT-ID" and "tenantId" are all "tenantid".
func foldName(name string) string {
	var buf [64]byte
	return string(appendFolded(buf[:0], name))
}

func appendFolded(b []byte, name string) []byte {
	for _, r := range name {
		r = foldRune(r)
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b = append(b, byte(r))
		case r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
	}
	return b
}

func foldRune(r rune) rune {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	// Full-width ASCII (U+FF01 to U+FF5E).
	if 0xFF01 <= r && r <= 0xFF5E {
		return foldRune(r - 0xFEE0)
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < 0x80 {
			return foldRune(f)
		}
	}
	return r
}

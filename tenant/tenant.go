package tenant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxIDLen is the longest tenant ID (and tier name) accepted, in bytes.
const MaxIDLen = 64

// ErrNoTenant reports that a context carries no tenant where one is required.
var ErrNoTenant = errors.New("tenant: no tenant in context")

// ErrInvalidID reports a tenant ID or tier name that breaks the ID rules; see
// [ValidateID].
var ErrInvalidID = errors.New("tenant: invalid tenant ID")

// ErrInvalidTier reports a tier name that breaks the ID rules. An error
// wrapping it also matches [ErrInvalidID], since tier names follow those
// rules.
var ErrInvalidTier = errors.New("tenant: invalid tier")

// Tenant is the verified identity of the tenant a request acts for.
//
// Its fields are unexported so that every Tenant in a program went through
// [New] or a [Verifier]: the ID and tier of any non-zero Tenant are valid
// by construction and safe to paste into IAM policies, keys and headers. The
// zero Tenant means "no tenant".
//
// Formatting a Tenant with any verb prints its ID and tier only (%#v adds
// the issuer). The credential that proved it (the token, the subject and
// the other claims) sits two pointers away, so that even fmt's raw printing
// of a Tenant in an unexported struct field, which calls no method, shows
// addresses and never a credential.
type Tenant struct {
	id     string
	tier   string
	plan   string // the tier whose rate-limit plan applies, "" for tier
	issuer string // the "iss" of the credential, "" for New

	// *credential is nil only in the zero Tenant. It is embedded so that
	// t.token, t.subject and t.claims read through it.
	*credential

	_ [0]func() // not comparable: compare IDs, or use Same
}

// credential is one pointer between a Tenant and its secrets. One is not
// enough: fmt prints a field of a bad verb (such as %s on a pointer) by
// printing the pointer at depth 0, which shows the struct it points to, but
// it does so with %v, under which the next pointer is printed as an
// address.
type credential struct{ *secrets }

// secrets is what a Tenant keeps of the token that proved it.
type secrets struct {
	token   string // the verified bearer token, for relay to the next hop
	subject string
	claims  map[string]any
}

// newCredential returns a credential of one allocation.
func newCredential(s secrets) *credential {
	box := &struct {
		c credential
		s secrets
	}{s: s}
	box.c.secrets = &box.s
	return &box.c
}

// noCredential is the credential of Tenants built with New. Nothing writes
// through a credential, so one value serves them all.
var noCredential = newCredential(secrets{})

// New returns a Tenant with the given ID and tier after checking both with
// [ValidateID]. An empty tier is allowed and means "no tier". A bad ID
// yields an error wrapping [ErrInvalidID], a bad tier one wrapping
// [ErrInvalidTier]; both quote the value, shortened and escaped.
//
// New is for code that is itself the proof of identity: tests, background
// jobs that act for a tenant they loaded from trusted storage, or an adapter
// for an authentication scheme tenantkit does not know. Request handlers get
// their Tenant from the middleware instead.
func New(id, tier string) (Tenant, error) {
	if err := checkName(ErrInvalidID, id); err != nil {
		return Tenant{}, err
	}
	if tier != "" {
		if err := checkName(ErrInvalidTier, tier); err != nil {
			return Tenant{}, err
		}
	}
	return Tenant{id: id, tier: tier, credential: noCredential}, nil
}

// Proof is what a verifier learned from the credential that proved a
// tenant. The Tenant keeps it and never prints it.
type Proof struct {
	Issuer  string         // the credential's issuer ("iss")
	Subject string         // its subject ("sub")
	Token   string         // the credential itself, which Relay sends on
	Claims  map[string]any // its verified claims; the Tenant keeps the map
}

// Verified returns the Tenant that credential p proved, after checking id
// and tier as New does. It is for implementations of [TokenVerifier]: a
// Tenant it returns is trusted as far as that verifier is, so only code
// that checked the credential calls it.
func Verified(id, tier string, p Proof) (Tenant, error) {
	t, err := New(id, tier)
	if err != nil {
		return Tenant{}, err
	}
	t.issuer = p.Issuer
	t.credential = newCredential(secrets{token: p.Token, subject: p.Subject, claims: p.Claims})
	return t, nil
}

// ID returns the tenant ID; it is empty only for the zero Tenant.
func (t Tenant) ID() string { return t.id }

// Tier returns the tenant's subscription tier, or "" if none is known.
func (t Tenant) Tier() string { return t.tier }

// Plan returns the tier whose rate-limit plan applies to the tenant: the
// plan override set by [Tenant.WithPlan], or else [Tenant.Tier].
func (t Tenant) Plan() string {
	if t.plan != "" {
		return t.plan
	}
	return t.tier
}

// WithTier returns a copy of t with another tier, keeping its issuer,
// subject, claims and token, after checking tier as [New] does ("" means
// no tier). It does not allocate.
//
// It is for trusted code that knows better than the credential, such as a
// tenant directory (package directory) whose answer overrides the token's
// tier claim; it proves nothing, so request code never calls it.
func (t Tenant) WithTier(tier string) (Tenant, error) {
	if err := checkTier(tier); err != nil {
		return Tenant{}, err
	}
	t.tier = tier
	return t, nil
}

// WithPlan returns a copy of t whose rate-limit plan is that of tier plan
// ("" removes the override), keeping everything else, including its tier:
// [Tenant.Plan] returns plan, [Tenant.Tier] is unchanged. It checks plan as
// [New] checks a tier and does not allocate. Like [Tenant.WithTier] it is
// for trusted code such as a tenant directory. The override is local to
// the process: an outgoing assertion carries the tier, not the plan.
func (t Tenant) WithPlan(plan string) (Tenant, error) {
	if err := checkTier(plan); err != nil {
		return Tenant{}, err
	}
	t.plan = plan
	return t, nil
}

// checkTier is checkName for a tier, where "" means none. It is one call,
// so that WithTier and WithPlan inline.
func checkTier(tier string) error {
	if tier == "" || idProblem(tier) == "" {
		return nil
	}
	return checkName(ErrInvalidTier, tier)
}

// Subject returns the subject (the "sub" claim) of the credential that proved
// the tenant, or "" when the Tenant was built with [New].
func (t Tenant) Subject() string {
	if t.credential == nil {
		return ""
	}
	return t.subject
}

// Issuer returns the issuer (the "iss" claim) of the credential that proved
// the tenant: a trusted Issuer's URL, or an Assertion's issuer. It is ""
// when the Tenant was built with [New].
func (t Tenant) Issuer() string { return t.issuer }

// IsZero reports whether t is the zero Tenant.
func (t Tenant) IsZero() bool { return t.id == "" }

// Claim returns the verified claim name of the token that proved the tenant.
// Values are as decoded by encoding/json: string, float64, bool, nil,
// []any or map[string]any. Callers must not modify returned maps or slices:
// they are shared by every request that presents the same token.
func (t Tenant) Claim(name string) (any, bool) {
	if t.credential == nil {
		return nil, false
	}
	v, ok := t.claims[name]
	return v, ok
}

// String returns the tenant ID and tier, for logs and test failures.
func (t Tenant) String() string {
	if t.tier == "" {
		return t.id
	}
	return t.id + " (" + t.tier + ")"
}

// GoString returns a Go-like rendering of the ID, tier and issuer, for %#v.
// It leaves out the credential.
func (t Tenant) GoString() string {
	return "tenant.Tenant{ID:" + strconv.Quote(t.id) + ", Tier:" + strconv.Quote(t.tier) + ", Issuer:" + strconv.Quote(t.issuer) + "}"
}

// Format implements fmt.Formatter so that every verb, flag and width
// formats String (or, for %#v, GoString) and nothing else.
func (t Tenant) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, t.GoString())
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), t.String())
}

// ValidateID reports whether id is a valid tenant ID: 1 to [MaxIDLen] bytes
// of ASCII letters, digits, '-', '_' and '.', starting with a letter or a
// digit. The rule is strict because IDs end up in IAM policy documents,
// DynamoDB keys, S3 prefixes, metric attributes and header values, where a
// '*', '?', '/', '$', '{', a quote, a space or a control character would
// widen or break what the ID is meant to select. The error wraps
// [ErrInvalidID] and never echoes the offending input, which may be hostile.
func ValidateID(id string) error {
	if why := idProblem(id); why != "" {
		return fmt.Errorf("%w: %s", ErrInvalidID, why)
	}
	return nil
}

// ValidateTier reports whether tier is a valid tier name: the rules of
// [ValidateID]. The error wraps [ErrInvalidTier] and [ErrInvalidID] and
// never echoes the input.
func ValidateTier(tier string) error {
	if why := idProblem(tier); why != "" {
		return &nameError{kind: ErrInvalidTier, why: why}
	}
	return nil
}

// idProblem says why id breaks the ID rules, or returns "" if it does not.
// The answer never contains id.
func idProblem(id string) string {
	if len(id) == 0 {
		return "empty"
	}
	if len(id) > MaxIDLen {
		return fmt.Sprintf("longer than %d bytes", MaxIDLen)
	}
	if !isAlnum(id[0]) {
		return "must start with a letter or digit"
	}
	for i := 1; i < len(id); i++ {
		c := id[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return fmt.Sprintf("byte %d is not a letter, digit, '-', '_' or '.'", i)
		}
	}
	return ""
}

// nameError is a bad tenant ID or tier name given by trusted code (New,
// WithDefaultTier): unlike ValidateID's error it quotes the value, which
// is not a secret and tells the caller what to fix.
type nameError struct {
	kind   error // ErrInvalidID or ErrInvalidTier
	value  string
	quoted bool // value is trusted input, so the message may quote it
	why    string
}

func (e *nameError) Error() string {
	if !e.quoted {
		return e.kind.Error() + ": " + e.why
	}
	return e.kind.Error() + " " + quoteBounded(e.value) + ": " + e.why
}

// Unwrap matches the kind and, for a tier, ErrInvalidID too.
func (e *nameError) Unwrap() []error {
	if e.kind == ErrInvalidID {
		return []error{ErrInvalidID}
	}
	return []error{e.kind, ErrInvalidID}
}

// checkName is ValidateID for trusted input, with an error naming the kind
// of name and quoting the value.
func checkName(kind error, s string) error {
	if why := idProblem(s); why != "" {
		return &nameError{kind: kind, value: s, quoted: true, why: why}
	}
	return nil
}

// quoteBounded quotes s with Go escapes, cut to MaxIDLen bytes so that an
// oversized value cannot flood a log line.
func quoteBounded(s string) string {
	if len(s) > MaxIDLen {
		return strconv.Quote(s[:MaxIDLen]) + "..."
	}
	return strconv.Quote(s)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Context keys are unexported types so no other package can read or forge
// them.
type (
	tenantKey     struct{}
	tenantlessKey struct{}
)

// NewContext returns a copy of ctx that carries t. A zero t is not stored:
// the returned context then carries whatever ctx carried.
func NewContext(ctx context.Context, t Tenant) context.Context {
	if t.IsZero() {
		return ctx
	}
	// A pointer costs the same allocation as boxing the value, and reading
	// it back copies the Tenant once instead of twice. Nothing writes
	// through it: a Tenant is immutable.
	return context.WithValue(ctx, tenantKey{}, &t)
}

// FromContext returns the tenant carried by ctx, if any.
func FromContext(ctx context.Context) (Tenant, bool) {
	if p, ok := ctx.Value(tenantKey{}).(*Tenant); ok {
		return *p, true
	}
	return Tenant{}, false
}

// Require returns the tenant carried by ctx, or an error wrapping
// [ErrNoTenant].
func Require(ctx context.Context) (Tenant, error) {
	if t, ok := FromContext(ctx); ok {
		return t, nil
	}
	return Tenant{}, ErrNoTenant
}

// WithoutTenant marks ctx as deliberately tenant-less: outgoing calls made
// with it (health checks, calls to shared control-plane services) are allowed
// to carry no tenant. The mark is ignored when ctx also carries a tenant, so
// it can never hide one.
func WithoutTenant(ctx context.Context) context.Context {
	return context.WithValue(ctx, tenantlessKey{}, true)
}

// IsTenantless reports whether ctx was marked with [WithoutTenant] and
// carries no tenant.
func IsTenantless(ctx context.Context) bool {
	if _, ok := FromContext(ctx); ok {
		return false
	}
	marked, _ := ctx.Value(tenantlessKey{}).(bool)
	return marked
}

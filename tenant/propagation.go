package tenant

import (
	"context"
	"errors"
	"fmt"
)

// Header and metadata keys the propagators use. HTTP header names are
// case-insensitive; gRPC metadata keys are lower case.
const (
	AuthorizationKey = "Authorization"
	AssertionKey     = "Tenant-Assertion"
	// APIKeyKey is the header of API keys (package apikey). A key is
	// never sent on: CheckOutgoing refuses a request that carries one.
	APIKeyKey = "X-API-Key"
)

// ErrMismatch reports that two credentials of one request or call name
// different tenants: an outgoing request that already carries another
// tenant's credential, or an incoming one whose relayed token and assertion
// disagree.
var ErrMismatch = errors.New("tenant: credentials name different tenants")

// ErrNoCredential reports that the tenant in a context has no credential the
// propagator can send on: relay needs a Tenant that a Verifier produced from
// a bearer token, not one built with New.
var ErrNoCredential = errors.New("tenant: no credential to propagate")

// Carrier is where a propagator reads and writes its fields. It has the
// method set of OpenTelemetry's propagation.TextMapCarrier.
//
// Keys are matched case-insensitively, as HTTP header names and gRPC
// metadata keys are: Get returns the first value of key under any letter
// case, and Set replaces every value of key under any letter case with
// value. The carriers of packages httpmw and grpcmw follow this rule and
// also implement ValuesCarrier. OpenTelemetry's propagation.HeaderCarrier
// serves for a header whose keys are all canonical (as net/http builds
// them), but it does not see a key stored in another case.
type Carrier interface {
	Get(key string) string
	Set(key, value string)
	Keys() []string
}

// ValuesCarrier is a Carrier that returns every value of a key: the values
// stored under every letter case of key, in any order. It has the method
// set of OpenTelemetry's propagation.ValuesGetter. CheckOutgoing and
// ExtractAny use Values, when a carrier has it, to see a credential that is
// repeated; from a plain Carrier they read one value per letter case of the
// key that Keys reports.
type ValuesCarrier interface {
	Carrier
	Values(key string) []string
}

// Propagator moves the tenant of a context across a process boundary:
// Inject writes a credential for the tenant in ctx into the carrier of an
// outgoing request, Extract verifies the credential of an incoming one.
// When c holds no credential of the propagator's format, Extract returns an
// error wrapping ErrAbsent, so that callers can try the next format.
type Propagator interface {
	Inject(ctx context.Context, c Carrier) error
	Extract(ctx context.Context, c Carrier) (Tenant, error)
	// Fields names the carrier keys the propagator uses.
	Fields() []string
}

// Relay propagates the verified bearer token itself: the next hop receives
// the same "Authorization: Bearer" token the edge received and verifies it
// again, against the same issuers. With the verified-token cache that costs
// a map lookup. Use it when every service trusts the same issuers and the
// token's audience covers them.
type Relay struct {
	Verifier TokenVerifier
}

// Inject writes the bearer token of the tenant in ctx.
func (r Relay) Inject(ctx context.Context, c Carrier) error {
	t, err := Require(ctx)
	if err != nil {
		return err
	}
	if t.token == "" {
		return ErrNoCredential
	}
	c.Set(AuthorizationKey, "Bearer "+t.token)
	return nil
}

// Extract verifies the bearer token in c. It returns ErrMissingBearer
// (which wraps ErrAbsent) when there is none or c uses another scheme, and
// an error wrapping ErrConfig when r has no Verifier.
func (r Relay) Extract(ctx context.Context, c Carrier) (Tenant, error) {
	v := c.Get(AuthorizationKey)
	if v == "" {
		return Tenant{}, ErrMissingBearer
	}
	token, err := splitBearer(v)
	if err != nil {
		return Tenant{}, err
	}
	if r.Verifier == nil {
		return Tenant{}, fmt.Errorf("%w: Relay has no Verifier", ErrConfig)
	}
	return r.Verifier.Verify(ctx, token)
}

// Fields returns the Authorization key.
func (r Relay) Fields() []string { return []string{AuthorizationKey} }

// Same reports whether a and b are the same tenant on the same tier, the
// test two credentials of one request must pass.
func Same(a, b Tenant) bool { return a.id == b.id && a.tier == b.tier }

// CheckOutgoing is the rule every client adapter applies before injecting.
//
// ctx must carry a tenant, else it returns ErrNoTenant, unless ctx was
// marked with WithoutTenant. Every tenant credential already in c is then
// checked, whatever its format, under every letter case of its key, value
// by value: a bearer token in Authorization, any Tenant-Assertion, and any
// value of a field of props. A bearer token that a Relay of props verifies
// but may not send on (its Tenant holds no token to relay, as with an API
// key) and any X-API-Key are refused with ErrMismatch: such credentials
// stop at the service they were given to. Each must verify with one of props and name
// the tenant of ctx (Same); otherwise, or when none of props can verify its
// format (an assertion when props holds only Relay), or when the call is
// tenant-less, CheckOutgoing returns an error wrapping ErrMismatch, which
// never quotes the credential. An Authorization value of another scheme
// (Basic, for one) is not a tenant credential and is not checked.
//
// send reports whether the adapter should inject: it is false for a
// tenant-less call, and when the credential of every one of props is
// already in c exactly once and names this tenant (it then goes out as it
// is, not twice). When send is true the adapter injects with a carrier
// whose Set replaces the credential under every letter case.
func CheckOutgoing(ctx context.Context, c Carrier, props ...Propagator) (t Tenant, send bool, err error) {
	t, ok := FromContext(ctx)
	if !ok && !IsTenantless(ctx) {
		return Tenant{}, false, ErrNoTenant
	}
	chk := outgoingCheck{ctx: ctx, c: c, t: t, has: ok, props: props}
	if len(props) <= len(chk.small) {
		chk.found = chk.small[:len(props)]
	} else {
		chk.found = make([]int, len(props))
	}
	for i, f := range credentialFields {
		if err := chk.field(f, i); err != nil {
			return Tenant{}, false, err
		}
	}
	for i, p := range props {
		for _, f := range fieldsOf(p) {
			if fieldSeen(f, props[:i]) {
				continue
			}
			if err := chk.field(f, -1); err != nil {
				return Tenant{}, false, err
			}
		}
	}
	if !ok {
		return Tenant{}, false, nil
	}
	for _, n := range chk.found {
		if n != 1 {
			return t, true, nil
		}
	}
	return t, len(props) == 0, nil
}

// credentialFields are the keys of the tenant credentials tenantkit
// defines; CheckOutgoing checks them whichever propagators it is given.
var credentialFields = [...]string{AuthorizationKey, AssertionKey, APIKeyKey}

// relayFields is Relay's field list, so that the hot path does not
// allocate the slice Relay.Fields returns.
var relayFields = []string{AuthorizationKey}

func isRelay(p Propagator) bool {
	switch p.(type) {
	case Relay, *Relay:
		return true
	}
	return false
}

func fieldsOf(p Propagator) []string {
	switch p.(type) {
	case Relay, *Relay:
		return relayFields
	}
	return p.Fields()
}

// TokenVerifier is what propagators and transports need from a verifier: a
// credential in, a tenant or a typed error out. authn.Verifier and
// authn.Assertion implement it; tests and custom schemes can supply their
// own.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (Tenant, error)
}

// fieldSeen reports whether f is a built-in credential field or a field of
// one of props, so that CheckOutgoing checks each field once.
func fieldSeen(f string, props []Propagator) bool {
	if containsFold(credentialFields[:], f) {
		return true
	}
	for _, p := range props {
		if containsFold(fieldsOf(p), f) {
			return true
		}
	}
	return false
}

// outgoingCheck holds the state of one CheckOutgoing.
type outgoingCheck struct {
	ctx   context.Context
	c     Carrier
	t     Tenant
	has   bool // ctx carries t
	props []Propagator
	found []int // credentials of props[i] found naming t
	small [4]int
}

// field checks every value of field. builtin is its index in
// credentialFields, or -1.
func (o *outgoingCheck) field(field string, builtin int) error {
	if vc, ok := o.c.(ValuesCarrier); ok {
		values := vc.Values(field)
		for _, v := range values {
			if err := o.value(field, builtin, v, len(values)); err != nil {
				return err
			}
		}
		return nil
	}
	// A plain Carrier: one value per letter case of the key.
	n := countValues(o.c, field)
	for _, k := range o.c.Keys() {
		if equalFoldASCII(k, field) {
			if err := o.value(field, builtin, o.c.Get(k), n); err != nil {
				return err
			}
		}
	}
	return nil
}

func mismatch(detail string) error { return fmt.Errorf("%w: %s", ErrMismatch, detail) }

// value checks one value v of field; n is how many values field has.
func (o *outgoingCheck) value(field string, builtin int, v string, n int) error {
	if v == "" {
		return nil
	}
	handled := false
	for i, p := range o.props {
		fields := fieldsOf(p)
		if !containsFold(fields, field) {
			continue
		}
		var (
			other Tenant
			err   error
		)
		if len(fields) == 1 {
			// The propagator sees this value alone, so that each value
			// of a repeated field is verified, not just the first.
			other, err = p.Extract(o.ctx, fieldValue{key: field, value: v})
		} else {
			if n > 1 {
				return mismatch("the request repeats a credential field")
			}
			other, err = p.Extract(o.ctx, o.c)
		}
		switch {
		case errors.Is(err, ErrAbsent):
			continue
		case err != nil:
			return mismatch("the request already carries a credential that does not verify")
		case !o.has:
			return mismatch("a tenant-less call carries a tenant credential")
		case !Same(other, o.t):
			return mismatch("the request already carries a credential of another tenant")
		case isRelay(p) && other.token == "":
			return mismatch("the request carries a bearer credential that is never relayed")
		}
		handled = true
		o.found[i]++
	}
	if handled {
		return nil
	}
	switch builtin {
	case 0: // Authorization: only a bearer token is a tenant credential
		if _, err := splitBearer(v); errors.Is(err, ErrMissingBearer) {
			return nil
		}
		return mismatch("the request carries a bearer token this client cannot verify")
	case 1:
		return mismatch("the request carries a tenant assertion this client cannot verify")
	case 2:
		return mismatch("the request carries an API key, which is never sent on")
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, k := range list {
		if equalFoldASCII(k, s) {
			return true
		}
	}
	return false
}

// fieldValue is a read-only carrier holding one value of one field.
type fieldValue struct{ key, value string }

func (f fieldValue) Get(key string) string {
	if equalFoldASCII(key, f.key) {
		return f.value
	}
	return ""
}
func (fieldValue) Set(string, string) {}
func (f fieldValue) Keys() []string   { return []string{f.key} }

// ExtractAny is the rule every server adapter applies: each propagator
// whose credential is present in c must verify, and all that verify must
// name the same tenant (else ErrMismatch). A credential field that holds
// more than one value (in one letter case or several) is refused with
// ErrInvalidBearer, since it is ambiguous which one a proxy in front
// checked. It returns ErrMissingBearer when no propagator finds a
// credential.
func ExtractAny(ctx context.Context, c Carrier, props ...Propagator) (Tenant, error) {
	var (
		found Tenant
		seen  bool
	)
	for _, p := range props {
		for _, f := range fieldsOf(p) {
			if countValues(c, f) > 1 {
				return Tenant{}, ErrInvalidBearer
			}
		}
		t, err := p.Extract(ctx, c)
		if errors.Is(err, ErrAbsent) {
			continue
		}
		if err != nil {
			return Tenant{}, err
		}
		if seen && !Same(found, t) {
			return Tenant{}, &TokenError{Reason: ErrMismatch, Detail: "relayed token and assertion name different tenants"}
		}
		found, seen = t, true
	}
	if !seen {
		return Tenant{}, ErrMissingBearer
	}
	return found, nil
}

// countValues returns how many values key has in c, in every letter case.
func countValues(c Carrier, key string) int {
	if vc, ok := c.(ValuesCarrier); ok {
		return len(vc.Values(key))
	}
	n := 0
	for _, k := range c.Keys() {
		if equalFoldASCII(k, key) {
			n++
		}
	}
	return n
}

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
// method set of OpenTelemetry's propagation.TextMapCarrier, so
// propagation.HeaderCarrier(h) serves for an http.Header; package grpcmw
// provides one for gRPC metadata.
type Carrier interface {
	Get(key string) string
	Set(key, value string)
	Keys() []string
}

// Propagator moves the tenant of a context across a process boundary:
// Inject writes a credential for the tenant in ctx into the carrier of an
// outgoing request, Extract verifies the credential of an incoming one.
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

// Extract verifies the bearer token in c. It returns ErrMissingBearer when
// there is none.
func (r Relay) Extract(ctx context.Context, c Carrier) (Tenant, error) {
	v := c.Get(AuthorizationKey)
	if v == "" {
		return Tenant{}, ErrMissingBearer
	}
	token, err := splitBearer(v)
	if err != nil {
		return Tenant{}, err
	}
	return r.Verifier.Verify(ctx, token)
}

// Fields returns the Authorization key.
func (r Relay) Fields() []string { return []string{AuthorizationKey} }

// Same reports whether a and b are the same tenant on the same tier, the
// test two credentials of one request must pass.
func Same(a, b Tenant) bool { return a.id == b.id && a.tier == b.tier }

// CheckOutgoing is the rule every client adapter applies before injecting:
// ctx must carry a tenant (else ErrNoTenant, unless ctx was marked with
// WithoutTenant, which returns ok=false and no error), and any credential
// already present in c must prove the same tenant (else ErrMismatch).
// Credentials are checked with the given propagators' Extract.
func CheckOutgoing(ctx context.Context, c Carrier, props ...Propagator) (t Tenant, ok bool, err error) {
	t, ok = FromContext(ctx)
	if !ok {
		if IsTenantless(ctx) {
			return Tenant{}, false, nil
		}
		return Tenant{}, false, ErrNoTenant
	}
	for _, p := range props {
		if !present(c, p) {
			continue
		}
		other, err := p.Extract(ctx, c)
		if err != nil {
			return Tenant{}, false, fmt.Errorf("%w: the request already carries a credential that does not verify", ErrMismatch)
		}
		if !Same(other, t) {
			return Tenant{}, false, fmt.Errorf("%w: the request already carries a credential of another tenant", ErrMismatch)
		}
	}
	return t, true, nil
}

// ExtractAny is the rule every server adapter applies: each propagator whose
// fields are present in c must verify, and all that verify must name the
// same tenant (else ErrMismatch). It returns ErrMissingBearer when none of
// the propagators' fields is present.
func ExtractAny(ctx context.Context, c Carrier, props ...Propagator) (Tenant, error) {
	var (
		found Tenant
		seen  bool
	)
	for _, p := range props {
		if !present(c, p) {
			continue
		}
		t, err := p.Extract(ctx, c)
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

// present reports whether any of p's fields is set in c. The propagators of
// this package are asked directly, since Fields allocates its result and
// this runs on every request.
func present(c Carrier, p Propagator) bool {
	switch p.(type) {
	case Relay:
		return c.Get(AuthorizationKey) != ""
	case *Assertion:
		return c.Get(AssertionKey) != ""
	}
	for _, f := range p.Fields() {
		if c.Get(f) != "" {
			return true
		}
	}
	return false
}

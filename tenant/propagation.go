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
// (which wraps ErrAbsent) when there is none or c uses another scheme.
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

// CheckOutgoing is the rule every client adapter applies before injecting.
// ctx must carry a tenant, else it returns ErrNoTenant, unless ctx was
// marked with WithoutTenant. Any credential already in c must prove the same
// tenant, else ErrMismatch (credentials are checked with the propagators'
// Extract). send reports whether the adapter should inject: it is false for
// a tenant-less call and for one that already carries this tenant's
// credential, which then goes out as it is rather than twice.
func CheckOutgoing(ctx context.Context, c Carrier, props ...Propagator) (t Tenant, send bool, err error) {
	t, ok := FromContext(ctx)
	if !ok {
		if IsTenantless(ctx) {
			return Tenant{}, false, nil
		}
		return Tenant{}, false, ErrNoTenant
	}
	send = true
	for _, p := range props {
		other, err := p.Extract(ctx, c)
		switch {
		case errors.Is(err, ErrAbsent):
			continue
		case err != nil:
			return Tenant{}, false, fmt.Errorf("%w: the request already carries a credential that does not verify", ErrMismatch)
		case !Same(other, t):
			return Tenant{}, false, fmt.Errorf("%w: the request already carries a credential of another tenant", ErrMismatch)
		}
		send = false
	}
	return t, send, nil
}

// ExtractAny is the rule every server adapter applies: each propagator
// whose credential is present in c must verify, and all that verify must
// name the same tenant (else ErrMismatch). It returns ErrMissingBearer when
// no propagator finds a credential.
func ExtractAny(ctx context.Context, c Carrier, props ...Propagator) (Tenant, error) {
	var (
		found Tenant
		seen  bool
	)
	for _, p := range props {
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

// Package tenanttest builds the identity fixtures the transport tests share:
// a real loopback OIDC issuer with a Verifier trusting it, and assertion
// propagators on fresh key rings.
package tenanttest

import (
	"context"
	"testing"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/tenant"
)

// Audience is the audience of the fixture's tokens.
const Audience = "api"

// Suspended is a tenant ID the fixture's verifier refuses with
// tenant.ErrForbidden, for 403 / PermissionDenied tests.
const Suspended = "suspended"

// Fixture is an issuer and a verifier that trusts it.
type Fixture struct {
	IDP      *authntest.Issuer
	Verifier *authn.Verifier
}

// New starts an issuer and a verifier; both stop when the test ends.
func New(tb testing.TB, opts ...authn.Option) *Fixture {
	tb.Helper()
	idp := authntest.NewIssuer(tb, authntest.WithAudience(Audience))
	opts = append([]authn.Option{authn.WithCheck(func(_ context.Context, t tenant.Tenant) error {
		if t.ID() == Suspended {
			return tenant.ErrForbidden
		}
		return nil
	})}, opts...)
	return &Fixture{IDP: idp, Verifier: authntest.NewVerifier(tb, idp, opts...)}
}

// Token mints a valid token for tenant id; tier is left out when empty.
func (f *Fixture) Token(id, tier string) string {
	c := map[string]any{"aud": Audience, "custom:tenant_id": id}
	if tier != "" {
		c["custom:tier"] = tier
	}
	return f.IDP.TokenWithClaims(c)
}

// Tenant verifies a fresh token for id and returns the tenant, as a server
// would have it in its context (relayable).
func (f *Fixture) Tenant(tb testing.TB, id, tier string) tenant.Tenant {
	tb.Helper()
	t, err := f.Verifier.Verify(context.Background(), f.Token(id, tier))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// Assertion returns an assertion propagator for aud on a new Ed25519 ring.
func Assertion(tb testing.TB, aud string, opts ...authn.Option) *authn.Assertion {
	tb.Helper()
	a, err := authn.NewAssertion(authntest.NewRing(tb).Signing, aud, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

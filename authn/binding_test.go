package authn_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/tenant"
)

// The platform's user pool and a customer's own IdP (federated for tenant
// "globex") are trusted side by side. Without a binding, the customer's
// IdP could mint a token for any tenant; such a configuration is refused.
func TestSeveralIssuersNeedTenantBinding(t *testing.T) {
	platform, customer := startIssuer(t), startIssuer(t)
	v, err := authn.NewVerifier([]authn.Issuer{
		{URL: platform.URL(), JWKSURL: platform.JWKSURL(), Audiences: []string{"api"}},
		{URL: customer.URL(), JWKSURL: customer.JWKSURL(), Audiences: []string{"api"}},
	})
	if err == nil {
		defer v.Close()
		tn, err := v.Verify(context.Background(), customer.TokenWithClaims(claims(customer, map[string]any{"custom:tenant_id": "acme"})))
		t.Fatalf("two issuers without tenant binding accepted; the customer IdP asserts acme: %v, %v", tn, err)
	}
	if !errors.Is(err, authn.ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
}

func TestIssuerTenantBinding(t *testing.T) {
	platform, customer := startIssuer(t), startIssuer(t)
	v := newVerifier(t, []authn.Issuer{
		{URL: platform.URL(), JWKSURL: platform.JWKSURL(), Audiences: []string{"api"}, AnyTenant: true},
		{URL: customer.URL(), JWKSURL: customer.JWKSURL(), Audiences: []string{"api"}, Tenants: []string{"globex", "globex-eu"}},
	})
	ctx := context.Background()
	for _, tc := range []struct {
		is     string
		token  string
		issuer string
	}{
		{"platform asserts acme", platform.TokenWithClaims(claims(platform, map[string]any{"custom:tenant_id": "acme"})), platform.URL()},
		{"platform asserts globex", platform.TokenWithClaims(claims(platform, map[string]any{"custom:tenant_id": "globex"})), platform.URL()},
		{"customer asserts globex", customer.TokenWithClaims(claims(customer, map[string]any{"custom:tenant_id": "globex"})), customer.URL()},
		{"customer asserts globex-eu", customer.TokenWithClaims(claims(customer, map[string]any{"custom:tenant_id": "globex-eu"})), customer.URL()},
	} {
		for range 2 { // verified, then from the cache
			tn, err := v.Verify(ctx, tc.token)
			if err != nil {
				t.Fatalf("%s: %v", tc.is, err)
			}
			if tn.Issuer() != tc.issuer {
				t.Fatalf("%s: Issuer() = %q, want %q", tc.is, tn.Issuer(), tc.issuer)
			}
		}
	}
	for _, id := range []string{"acme", "GLOBEX", "globex-us", "globex.eu"} {
		token := customer.TokenWithClaims(claims(customer, map[string]any{"custom:tenant_id": id}))
		for range 2 {
			tn, err := v.Verify(ctx, token)
			if !errors.Is(err, authn.ErrTenantNotAllowed) || !errors.Is(err, tenant.ErrInvalidToken) {
				t.Fatalf("customer IdP asserts %s: %v, %v; want ErrTenantNotAllowed", id, tn, err)
			}
			var te *tenant.TokenError
			if !errors.As(err, &te) || te.Issuer != customer.URL() {
				t.Fatalf("error %v does not name the issuer", err)
			}
			assertNoTokenBytes(t, err, token)
		}
	}
	if n, err := tenant.New("acme", ""); err != nil || n.Issuer() != "" {
		t.Fatalf("New: Issuer() = %q, %v", n.Issuer(), err)
	}
}

func TestIssuerTenantBindingConfig(t *testing.T) {
	for name, is := range map[string]authn.Issuer{
		"invalid tenant ID":     {URL: "https://idp.example", AnyAudience: true, Tenants: []string{"*"}},
		"empty tenant ID":       {URL: "https://idp.example", AnyAudience: true, Tenants: []string{""}},
		"Tenants and AnyTenant": {URL: "https://idp.example", AnyAudience: true, Tenants: []string{"acme"}, AnyTenant: true},
	} {
		v, err := authn.NewVerifier([]authn.Issuer{is})
		if !errors.Is(err, authn.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
		if v != nil {
			v.Close()
		}
	}
	// One issuer needs no binding: it speaks for every tenant, as before.
	v, err := authn.NewVerifier([]authn.Issuer{{URL: "https://idp.example", AnyAudience: true}})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
}

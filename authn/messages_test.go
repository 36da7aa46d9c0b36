package authn_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/tenant"
)

// A rejected tenant or tier claim names the claim the verifier looked for,
// so an issuer that uses another claim name sees which one to configure.
func TestClaimErrorsNameTheClaim(t *testing.T) {
	a := startIssuer(t)
	tok := func(claims map[string]any) string {
		c := map[string]any{"aud": "api"}
		for k, v := range claims {
			c[k] = v
		}
		return a.TokenWithClaims(c)
	}
	for _, tc := range []struct {
		name   string
		opts   []authn.Option
		claims map[string]any
		reason error
		want   string
	}{
		{"default claim missing", nil, map[string]any{"tenant_id": "acme"}, authn.ErrTenantClaim,
			`claim "custom:tenant_id" missing`},
		{"configured claim missing", []authn.Option{authn.WithTenantClaim("org")}, map[string]any{"custom:tenant_id": "acme"}, authn.ErrTenantClaim,
			`claim "org" missing`},
		{"tenant claim not a string", nil, map[string]any{"custom:tenant_id": 7}, authn.ErrTenantClaim,
			`claim "custom:tenant_id" is not a string`},
		{"tenant claim not an ID", []authn.Option{authn.WithTenantClaim("org")}, map[string]any{"org": "a b"}, authn.ErrTenantClaim,
			`claim "org" is not a valid tenant ID`},
		{"tier claim not a string", nil, map[string]any{"custom:tenant_id": "acme", "custom:tier": 3}, authn.ErrTierClaim,
			`claim "custom:tier" is not a string`},
		{"tier claim not a name", []authn.Option{authn.WithTierClaim("plan")}, map[string]any{"custom:tenant_id": "acme", "plan": "Free Tier"}, authn.ErrTierClaim,
			`claim "plan" is not a valid tier name`},
		{"case-variant tenant claim", nil, map[string]any{"custom:tenant_id": "acme", "Custom:Tenant_ID": "other"}, authn.ErrDuplicateClaim,
			`tenant claim "custom:tenant_id"`},
		{"required claim", []authn.Option{authn.WithRequiredClaims("scope")}, map[string]any{"custom:tenant_id": "acme"}, authn.ErrMissingClaim,
			`claim "scope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, issuerCfg(a), tc.opts...)
			token := tok(tc.claims)
			_, err := v.Verify(context.Background(), token)
			if !errors.Is(err, tc.reason) || !errors.Is(err, tenant.ErrInvalidToken) {
				t.Fatalf("err = %v, want %v and ErrInvalidToken", err, tc.reason)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.want)
			}
			assertNoTokenBytes(t, err, token)
			// The claim's value comes from the token and is not echoed.
			for _, val := range tc.claims {
				if s, ok := val.(string); ok && len(s) > 2 && s != "acme" && strings.Contains(err.Error(), s) {
					t.Fatalf("err = %q echoes the claim value %q", err, s)
				}
			}
		})
	}
}

// New calls a bad tier a tier, and quotes what it was given.
func TestNewNamesBadTierAndID(t *testing.T) {
	_, err := tenant.New("acme", "Free Tier")
	if !errors.Is(err, tenant.ErrInvalidTier) || !errors.Is(err, tenant.ErrInvalidID) {
		t.Fatalf("err = %v, want ErrInvalidTier and ErrInvalidID", err)
	}
	if want := `tenant: invalid tier "Free Tier": byte 4 is not`; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %q, want prefix %q", err, want)
	}

	_, err = tenant.New("acme corp", "free")
	if !errors.Is(err, tenant.ErrInvalidID) || errors.Is(err, tenant.ErrInvalidTier) {
		t.Fatalf("err = %v, want ErrInvalidID only", err)
	}
	if want := `tenant: invalid tenant ID "acme corp": byte 4 is not`; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %q, want prefix %q", err, want)
	}

	// Quoting is escaped and bounded: no raw control bytes, no flood.
	_, err = tenant.New("acme", "x\n\x1b[31m"+strings.Repeat("y", 10_000))
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\x1b") || len(msg) > 200 {
		t.Fatalf("err = %q (%d bytes), want escaped and bounded", msg, len(msg))
	}

	_, err = authn.NewVerifier([]authn.Issuer{{URL: "https://issuer.example", AnyAudience: true}}, authn.WithDefaultTier("Free Tier"))
	if !errors.Is(err, authn.ErrConfig) || !errors.Is(err, tenant.ErrInvalidTier) || !strings.Contains(err.Error(), `tier "Free Tier"`) {
		t.Fatalf("WithDefaultTier(Free Tier): %v, want ErrConfig and ErrInvalidTier naming the tier", err)
	}
}

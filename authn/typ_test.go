package authn_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/tenant"
)

const backchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// RFC 8725, section 3.11: a logout token or a security event token is
// signed by the same issuer with the same keys as an access token, and
// must not be taken for one.
func TestTokenTypeConfusion(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a))
	key := a.SigningKey()
	good := func(h map[string]any) string { return key.Sign(h, claims(a, nil)) }
	logout := key.Sign(map[string]any{"typ": "logout+jwt"}, claims(a, map[string]any{
		"jti": "bWJq", "sid": "08a5019c", "events": map[string]any{backchannelLogout: map[string]any{}},
	}))
	for name, token := range map[string]string{
		"back-channel logout token":       logout,
		"typ logout+jwt":                  good(map[string]any{"typ": "logout+jwt"}),
		"typ Logout+JWT":                  good(map[string]any{"typ": "Logout+JWT"}),
		"typ application/logout+jwt":      good(map[string]any{"typ": "application/logout+jwt"}),
		"typ secevent+jwt":                good(map[string]any{"typ": "secevent+jwt"}),
		"typ APPLICATION/SECEVENT+JWT":    good(map[string]any{"typ": "APPLICATION/SECEVENT+JWT"}),
		"typ tenant-assertion+jwt":        good(map[string]any{"typ": "tenant-assertion+jwt"}),
		"typ not a string":                good(map[string]any{"typ": 5}),
		"events claim, typ JWT":           key.Sign(nil, claims(a, map[string]any{"events": map[string]any{backchannelLogout: map[string]any{}}})),
		"events claim, no typ":            key.Sign(map[string]any{"typ": nil}, claims(a, map[string]any{"events": map[string]any{}})),
		"events claim of another type":    key.Sign(nil, claims(a, map[string]any{"events": "x"})),
		"events claim null (still there)": key.Sign(nil, claims(a, map[string]any{"events": []any{}})),
	} {
		tn, err := v.Verify(context.Background(), token)
		if !errors.Is(err, authn.ErrTokenType) || !errors.Is(err, tenant.ErrInvalidToken) {
			t.Errorf("%s: %v, %v; want ErrTokenType", name, tn, err)
		}
	}
	for name, token := range map[string]string{
		"typ JWT":    good(nil),
		"no typ":     good(map[string]any{"typ": nil}),
		"typ at+jwt": good(map[string]any{"typ": "at+jwt"}),
	} {
		if _, err := v.Verify(context.Background(), token); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestIssuerTypes(t *testing.T) {
	a, b := startIssuer(t), startIssuer(t)
	v := newVerifier(t, []authn.Issuer{
		{URL: a.URL(), JWKSURL: a.JWKSURL(), Audiences: []string{"api"}, AnyTenant: true, Types: []string{"at+jwt"}},
		{URL: b.URL(), JWKSURL: b.JWKSURL(), Audiences: []string{"api"}, AnyTenant: true, Types: []string{"", "JWT"}}, // as Cognito
	})
	for _, tc := range []struct {
		is   *authntest.Issuer
		typ  any
		okay bool
	}{
		{a, "at+jwt", true}, {a, "application/AT+JWT", true}, {a, "JWT", false}, {a, nil, false},
		{b, nil, true}, {b, "JWT", true}, {b, "jwt", true}, {b, "application/jwt", true}, {b, "at+jwt", false}, {b, "logout+jwt", false},
	} {
		_, err := v.Verify(context.Background(), tc.is.SigningKey().Sign(map[string]any{"typ": tc.typ}, claims(tc.is, nil)))
		if tc.okay && err != nil || !tc.okay && !errors.Is(err, authn.ErrTokenType) {
			t.Errorf("issuer %s typ %v: %v", tc.is.URL(), tc.typ, err)
		}
	}
	for _, types := range [][]string{{"logout+jwt"}, {"JWT", "application/secevent+jwt"}, {"tenant-assertion+jwt"}} {
		v, err := authn.NewVerifier([]authn.Issuer{{URL: a.URL(), AnyAudience: true, Types: types}})
		if !errors.Is(err, authn.ErrConfig) {
			t.Errorf("Types %q: err = %v, want ErrConfig", types, err)
		}
		if v != nil {
			v.Close()
		}
	}
}

// An internal assertion is not a bearer token and a bearer token is not an
// assertion, even when one issuer name and one key serve both.
func TestAssertionAndBearerDoNotMix(t *testing.T) {
	idp := startIssuer(t)
	ring, keys := newRing(t, "ring-1")
	idp.Publish([]*authntest.Key{idp.SigningKey(), {ID: "ring-1", Alg: "EdDSA", Private: keys[0].Private}})
	as := newAssertion(t, ring, "orders", authn.WithAssertionIssuer(idp.URL()))
	bearer := newVerifier(t, []authn.Issuer{{URL: idp.URL(), JWKSURL: idp.JWKSURL(), Audiences: []string{"orders"}}},
		authn.WithTenantClaim("tenant_id"), authn.WithTierClaim("tenant_tier"))

	assertion, err := as.Mint(mustTenant(t, "acme", "gold"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.Verify(context.Background(), assertion); err != nil {
		t.Fatalf("assertion at its own verifier: %v", err)
	}
	if tn, err := bearer.Verify(context.Background(), assertion); !errors.Is(err, authn.ErrTokenType) {
		t.Fatalf("assertion accepted as a bearer token: %v, %v", tn, err)
	}

	// A JWT signed with the ring key that is not typed as an assertion.
	now := time.Now()
	plain := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": idp.URL(), "aud": "orders", "tenant_id": "acme", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	plain.Header["kid"] = "ring-1"
	token, err := plain.SignedString(keys[0].Private.(ed25519.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bearer.Verify(context.Background(), token); err != nil {
		t.Fatalf("the same JWT as a bearer token: %v", err)
	}
	if tn, err := as.Verify(context.Background(), token); !errors.Is(err, authn.ErrTokenType) {
		t.Fatalf("bearer-typed token accepted as an assertion: %v, %v", tn, err)
	}
}

package authntest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/tenant"
)

// getJSON fetches url into v and returns the status code, or 0 when the
// request failed.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(v)
	return resp.StatusCode
}

func TestIssuerServesDiscoveryAndKeysAndSurvivesRotationAndRestart(t *testing.T) {
	s := authntest.NewIssuer(t)
	var doc map[string]any
	if code := getJSON(t, s.URL()+"/.well-known/openid-configuration", &doc); code != 200 || doc["issuer"] != s.URL() || doc["jwks_uri"] != s.JWKSURL() {
		t.Fatalf("discovery: %d %v", code, doc)
	}
	k2, err := authntest.NewKey("key-2", "EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	s.Rotate(k2)
	var set struct{ Keys []map[string]any }
	if code := getJSON(t, s.JWKSURL(), &set); code != 200 || len(set.Keys) != 2 || s.JWKSFetches() != 1 {
		t.Fatalf("jwks: %d %v (fetches %d)", code, set, s.JWKSFetches())
	}
	if s.SigningKey() != k2 || s.Key("key-1") == nil || s.Key("key-3") != nil {
		t.Fatal("rotation did not keep the old key and sign with the new one")
	}
	s.Down()
	if code := getJSON(t, s.JWKSURL(), &set); code != 0 {
		t.Fatalf("issuer answered while down: %d", code)
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	if code := getJSON(t, s.JWKSURL(), &set); code != 200 {
		t.Fatalf("issuer not back: %d", code)
	}
}

func TestTokenIsAcceptedByTheIssuersVerifierWithTenantAndTier(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			s := authntest.NewIssuer(t, authntest.WithAlgorithm(alg), authntest.WithAudience("orders-api"))
			v := authntest.NewVerifier(t, s)
			got, err := v.Verify(context.Background(), s.Token("acme", "gold"))
			if err != nil || got.ID() != "acme" || got.Tier() != "gold" || got.Subject() != authntest.DefaultSubject {
				t.Fatalf("Verify = %v, %v", got, err)
			}
			if s.Issuer().Audiences[0] != "orders-api" || s.Audience() != "orders-api" {
				t.Fatalf("audience: %v", s.Issuer())
			}
		})
	}
}

func TestTokenWithoutTierLeavesTheTierClaimOut(t *testing.T) {
	s := authntest.NewIssuer(t)
	v := authntest.NewVerifier(t, s, authn.WithDefaultTier("free"))
	got, err := v.Verify(context.Background(), s.Token("acme", ""))
	if err != nil || got.Tier() != "free" {
		t.Fatalf("Verify = %v, %v", got, err)
	}
}

func TestTokenWithClaimsAddsOnlyIssuerSubjectAndLifetime(t *testing.T) {
	s := authntest.NewIssuer(t)
	c := s.Claims(map[string]any{"sub": nil, "custom:tenant_id": "acme"})
	if c["iss"] != s.URL() || c["custom:tenant_id"] != "acme" || c["aud"] != nil {
		t.Fatalf("claims: %v", c)
	}
	if _, ok := c["sub"]; ok {
		t.Fatalf("sub given as nil was not left out: %v", c)
	}
	exp, iat := c["exp"].(int64), c["iat"].(int64)
	if exp-iat != int64(time.Hour/time.Second) {
		t.Fatalf("lifetime %ds", exp-iat)
	}
	v := authntest.NewVerifier(t, s)
	_, err := v.Verify(context.Background(), s.TokenWithClaims(map[string]any{"custom:tenant_id": "acme"}))
	if !errors.Is(err, tenant.ErrInvalidToken) {
		t.Fatalf("token without audience: %v", err)
	}
}

func TestNewKeyRefusesUnknownAlgorithms(t *testing.T) {
	if _, err := authntest.NewKey("k", "HS256"); !errors.Is(err, authntest.ErrAlgorithm) {
		t.Fatalf("NewKey(HS256) = %v", err)
	}
	if _, err := authntest.StartIssuer(authntest.WithAlgorithm("none")); !errors.Is(err, authntest.ErrAlgorithm) {
		t.Fatalf("StartIssuer(none) = %v", err)
	}
}

func TestKeyLiteralSignsWithItsAlg(t *testing.T) {
	s := authntest.NewIssuer(t)
	k := &authntest.Key{ID: "lit-1", Alg: "RS256", Private: s.SigningKey().Private}
	s.Publish([]*authntest.Key{k})
	v := authntest.NewVerifier(t, s)
	tok := k.Sign(nil, s.Claims(map[string]any{"aud": s.Audience(), "custom:tenant_id": "acme"}))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

func TestOutageUnavailableAnswers503UntilItEnds(t *testing.T) {
	s := authntest.NewIssuer(t)
	s.SetOutage(authntest.Unavailable)
	var v any
	for _, u := range []string{s.URL() + "/.well-known/openid-configuration", s.JWKSURL()} {
		if code := getJSON(t, u, &v); code != http.StatusServiceUnavailable {
			t.Fatalf("%s during outage: %d", u, code)
		}
	}
	s.SetOutage(authntest.NoOutage)
	if code := getJSON(t, s.JWKSURL(), &v); code != 200 {
		t.Fatalf("after outage: %d", code)
	}
}

func TestOutageHangHoldsRequestsUntilTheClientGivesUp(t *testing.T) {
	s := authntest.NewIssuer(t)
	s.SetOutage(authntest.Hang)
	v := authntest.NewVerifier(t, s)
	defer s.SetOutage(authntest.NoOutage) // ends the verifier's fetch before it closes
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := v.Check(ctx); err == nil {
		t.Fatal("Check succeeded against a hanging issuer")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("hanging issuer answered after %v", d)
	}
}

func TestHangEndsWhenTheIssuerGoesDown(t *testing.T) {
	s := authntest.NewIssuer(t)
	s.SetOutage(authntest.Hang)
	errc := make(chan int, 1)
	go func() {
		var v any
		errc <- getJSON(t, s.JWKSURL(), &v)
	}()
	for deadline := time.Now().Add(5 * time.Second); s.JWKSFetches() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("request never reached the issuer")
		}
	}
	s.Down() // returns only once the hanging handler has ended
	select {
	case code := <-errc:
		if code == 200 {
			t.Fatalf("hanging request answered 200")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hanging request outlived Down")
	}
}

func TestRingSigningMintsAndVerifyingOnlyVerifies(t *testing.T) {
	r := authntest.NewRing(t)
	sender, err := authn.NewAssertion(r.Signing, "billing")
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := authn.NewAssertion(r.Verifying, "billing")
	if err != nil {
		t.Fatal(err)
	}
	acme, _ := tenant.New("acme", "pro")
	tok, err := sender.Mint(acme)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := receiver.Verify(context.Background(), tok); err != nil || got.ID() != "acme" || got.Tier() != "pro" {
		t.Fatalf("receiver.Verify = %v, %v", got, err)
	}
	if _, err := receiver.Mint(acme); err == nil {
		t.Fatal("verify-only ring minted")
	}
}

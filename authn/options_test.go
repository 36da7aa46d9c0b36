package authn_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn"
)

// Every invalid option value, and every option given to the constructor it
// does not apply to, fails NewVerifier or NewAssertion with an error
// wrapping ErrInvalidOption (and so ErrConfig) that names the option;
// none is ignored or replaced by a default.
func TestInvalidOptionsFailConstruction(t *testing.T) {
	ring, _ := newRing(t, "a")
	issuers := []authn.Issuer{{URL: "https://issuer.example", AnyAudience: true, AnyTenant: true}}
	newVerifier := func(o authn.Option) error {
		v, err := authn.NewVerifier(issuers, o)
		if v != nil {
			v.Close()
		}
		return err
	}
	newAssertion := func(o authn.Option) error { _, err := authn.NewAssertion(ring, "orders", o); return err }
	both := map[string]func(authn.Option) error{"NewVerifier": newVerifier, "NewAssertion": newAssertion}
	verifier := map[string]func(authn.Option) error{"NewVerifier": newVerifier}
	assertion := map[string]func(authn.Option) error{"NewAssertion": newAssertion}
	for _, tc := range []struct {
		name  string
		opt   authn.Option
		ctors map[string]func(authn.Option) error
	}{
		{"WithAlgorithms", authn.WithAlgorithms("HS256"), verifier},
		{"WithAlgorithms", authn.WithAlgorithms("none"), verifier},
		{"WithAlgorithms", authn.WithAlgorithms(), verifier},
		{"WithLeeway", authn.WithLeeway(time.Hour), both},
		{"WithLeeway", authn.WithLeeway(-time.Second), both},
		{"WithTenantClaim", authn.WithTenantClaim(""), verifier},
		{"WithTierClaim", authn.WithTierClaim(""), verifier},
		{"WithDefaultTier", authn.WithDefaultTier("a b"), verifier},
		{"WithRequiredClaims", authn.WithRequiredClaims("scope", ""), verifier},
		{"WithCheck(nil)", authn.WithCheck(nil), verifier},
		{"WithHTTPClient(nil)", authn.WithHTTPClient(nil), verifier},
		{"WithFetchTimeout", authn.WithFetchTimeout(0), verifier},
		{"WithRefreshInterval", authn.WithRefreshInterval(-time.Second), verifier},
		{"WithMissCooldown", authn.WithMissCooldown(-time.Second), verifier},
		{"WithMaxTokenSize", authn.WithMaxTokenSize(0), verifier},
		{"WithCacheSize", authn.WithCacheSize(-1), both},
		{"WithFetchErrorHandler(nil)", authn.WithFetchErrorHandler(nil), verifier},
		{"WithClock(nil)", authn.WithClock(nil), both},
		{"WithAssertionTTL", authn.WithAssertionTTL(0), assertion},
		{"WithAssertionTTL", authn.WithAssertionTTL(time.Hour), assertion},
		{"WithAssertionIssuer", authn.WithAssertionIssuer(""), assertion},
		{"a nil Option", nil, both},
		// Options that do not apply to the constructor.
		{"WithTenantClaim applies to NewVerifier", authn.WithTenantClaim("tid"), assertion},
		{"WithAlgorithms applies to NewVerifier", authn.WithAlgorithms("ES256"), assertion},
		{"WithCheck applies to NewVerifier", authn.WithCheck(nil), assertion},
		{"WithAssertionTTL applies to NewAssertion", authn.WithAssertionTTL(time.Minute), verifier},
		{"WithAssertionIssuer applies to NewAssertion", authn.WithAssertionIssuer("svc"), verifier},
	} {
		for ctor, build := range tc.ctors {
			err := build(tc.opt)
			if !errors.Is(err, authn.ErrInvalidOption) || !errors.Is(err, authn.ErrConfig) || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("%s(%s): %v, want an error wrapping ErrInvalidOption that names the option", ctor, tc.name, err)
			}
		}
	}
	// The shared options work on both.
	shared := []authn.Option{authn.WithClock(time.Now), authn.WithLeeway(time.Second), authn.WithCacheSize(0)}
	if _, err := authn.NewAssertion(ring, "orders", append(shared, authn.WithAssertionTTL(time.Minute), authn.WithAssertionIssuer("svc"))...); err != nil {
		t.Errorf("NewAssertion: %v", err)
	}
	v, err := authn.NewVerifier(issuers, shared...)
	if err != nil {
		t.Errorf("NewVerifier: %v", err)
	} else {
		v.Close()
	}
}

// NewAssertion names a nil ring and an empty audience.
func TestNewAssertionRejectsMissingArguments(t *testing.T) {
	ring, _ := newRing(t, "a")
	for _, tc := range []struct {
		ring     *authn.KeyRing
		audience string
		want     string
	}{
		{nil, "orders", "key ring is nil"},
		{ring, "", "audience is empty"},
	} {
		a, err := authn.NewAssertion(tc.ring, tc.audience)
		if a != nil || !errors.Is(err, authn.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewAssertion(%v, %q) = %v, %v; want an error saying %q", tc.ring, tc.audience, a, err, tc.want)
		}
	}
}

package authn_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/tenant"
)

// An unsigned payload is never decoded: whatever its shape, rejecting a
// forged token allocates a small constant amount, not one value per
// element of the payload. (Allocation counts stand in for time, which a
// shared machine cannot measure reliably; BenchmarkHostileToken has the
// times.)
func TestUnsignedPayloadIsNotDecoded(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a), authn.WithCacheSize(0))
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok(a, a.SigningKey(), "acme")); err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{
		"nested arrays":  hostileToken(a.URL(), 7987, "[", "", "]"),
		"nested objects": hostileToken(a.URL(), 7987, `{"a":`, "", "}"),
		"wide objects":   hostileToken(a.URL(), 7987, "", "{}", ""),
		"wide numbers":   hostileToken(a.URL(), 7987, "", "1.5", ""),
		"wide strings":   hostileToken(a.URL(), 7987, "", `"a"`, ""),
		"untrusted iss":  hostileToken("https://evil.example", 7987, "", "{}", ""),
	} {
		if _, err := v.Verify(ctx, token); !errors.Is(err, tenant.ErrInvalidToken) {
			t.Fatalf("%s: %v", name, err)
		}
		allocs := testing.AllocsPerRun(20, func() { _, _ = v.Verify(ctx, token) })
		if allocs > 64 {
			t.Errorf("%s: rejecting an unsigned token costs %.0f allocations", name, allocs)
		}
	}
}

// Claims may nest 16 levels; deeper ones are refused, signed or not.
func TestClaimDepthBound(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a))
	nest := func(levels int) any { // levels counts the claims object itself
		var x any = "leaf"
		for range levels - 1 {
			x = []any{x}
		}
		return x
	}
	if _, err := v.Verify(context.Background(), a.TokenWithClaims(claims(a, map[string]any{"deep": nest(16)}))); err != nil {
		t.Fatalf("16 levels: %v", err)
	}
	_, err := v.Verify(context.Background(), a.TokenWithClaims(claims(a, map[string]any{"deep": nest(17)})))
	if !errors.Is(err, authn.ErrMalformed) {
		t.Fatalf("17 levels: %v, want ErrMalformed", err)
	}
	// A header is small: a large one is refused before it is decoded.
	big := a.SigningKey().Sign(map[string]any{"x": strings.Repeat("a", 1100)}, claims(a, nil))
	if _, err := v.Verify(context.Background(), big); !errors.Is(err, authn.ErrMalformed) {
		t.Fatalf("1 KiB header: %v, want ErrMalformed", err)
	}
}

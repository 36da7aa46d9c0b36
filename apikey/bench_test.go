package apikey_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
)

// BenchmarkVerifyCached compares a cached API-key verification with a
// cached JWT verification set up as authn's BenchmarkVerify/cached is, in
// one run: divide apikey's ns/op by jwt's. The target is at most 2.
func BenchmarkVerifyCached(b *testing.B) {
	iss := authntest.NewIssuer(b)
	token := iss.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "custom:tier": "gold"})
	jwt, err := authn.NewVerifier([]authn.Issuer{{URL: iss.URL(), JWKSURL: iss.JWKSURL(), Audiences: []string{"api"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { jwt.Close() })
	f := newFixture(b, apikey.WithClock(time.Now))
	key, _ := f.create(b, "acme", apikey.CreateOptions{})
	dispatch := apikey.Dispatch(jwt, f.keys)
	for _, bc := range []struct {
		name   string
		verify func(context.Context, string) error
		cred   string
	}{
		{"jwt", func(ctx context.Context, s string) error { _, err := jwt.Verify(ctx, s); return err }, token},
		{"apikey", func(ctx context.Context, s string) error { _, err := f.keys.Verify(ctx, s); return err }, key},
		{"dispatch-apikey", func(ctx context.Context, s string) error {
			_, err := dispatch.Verify(ctx, s)
			return err
		}, key},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			if err := bc.verify(ctx, bc.cred); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.verify(ctx, bc.cred); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

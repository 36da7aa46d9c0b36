package tenant_test

import (
	"context"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

// BenchmarkVerify measures one RS256 token: "cold" with the cache off (a
// full parse and RSA verification every time) and "cached" (the common case
// of one token presented on many requests).
func BenchmarkVerify(b *testing.B) {
	a := startIssuer(b)
	token := a.Token(map[string]any{"aud": "api", "custom:tenant_id": "acme", "custom:tier": "gold"})
	for _, bc := range []struct {
		name string
		size int
	}{{"cold", 0}, {"cached", tenant.DefaultCacheSize}} {
		b.Run(bc.name, func(b *testing.B) {
			v := newVerifier(b, issuerCfg(a), tenant.WithCacheSize(bc.size))
			ctx := context.Background()
			if _, err := v.Verify(ctx, token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := v.Verify(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

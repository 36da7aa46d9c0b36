package vending

import (
	"context"
	"fmt"
	"testing"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/isolation/vending/vendingtest"
)

// BenchmarkCredentials compares what a request pays for its tenant's
// credentials when they are cached (the per-request path: tenant from the
// context, cache lookup, aws.CredentialsCache.Retrieve) with a fresh
// AssumeRole round trip through the real SDK client to the local STS. The
// cached sub-benchmarks report the ratio as "x-vs-assume-role".
func BenchmarkCredentials(b *testing.B) {
	srv := vendingtest.NewServer()
	defer srv.Close()
	v, err := New(srv.Client(), mustResolver(b, testConfig()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := tenantCtx(b, "acme", "basic")
	var assumeNs float64

	b.Run("assume-role", func(b *testing.B) {
		s, err := v.session(ctx, isolation.Table)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			s.creds.Invalidate()
			if _, err := s.creds.Retrieve(ctx); err != nil {
				b.Fatal(err)
			}
		}
		assumeNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})

	ratio := func(b *testing.B) {
		if ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N); assumeNs > 0 && ns > 0 {
			b.ReportMetric(assumeNs/ns, "x-vs-assume-role")
		}
	}

	b.Run("cached", func(b *testing.B) {
		p := v.ContextProvider(isolation.Table)
		if _, err := p.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Retrieve(ctx); err != nil {
				b.Fatal(err)
			}
		}
		ratio(b)
	})

	b.Run("cached-parallel-100-tenants", func(b *testing.B) {
		p := v.ContextProvider(isolation.Table)
		ctxs := make([]context.Context, 100)
		for i := range ctxs {
			ctxs[i] = tenantCtx(b, fmt.Sprintf("tenant-%03d", i), "basic")
			if _, err := p.Retrieve(ctxs[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := p.Retrieve(ctxs[i%len(ctxs)]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
		ratio(b)
	})
}

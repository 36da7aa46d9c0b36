package directory_test

import (
	"context"
	"testing"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/internal/cputime"
)

// BenchmarkCacheAdmit is the directory's cost per request on a hit: the
// lookup, the status check and the tier and plan override, for a token of
// tier pro.
func BenchmarkCacheAdmit(b *testing.B) {
	for _, bc := range []struct {
		name  string
		entry directory.Entry
	}{
		{"same-tier", directory.Entry{Status: directory.Active, Tier: "pro"}},
		{"re-tiered", directory.Entry{Status: directory.Active, Tier: "free"}},
		{"re-tiered+plan", directory.Entry{Status: directory.Active, Tier: "free", Plan: "pro"}},
		{"suspended", directory.Entry{Status: directory.Suspended}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := newCache(b, directory.NewMemory(map[string]directory.Entry{"acme": bc.entry}))
			ctx := context.Background()
			tn := mustTenant(b, "acme", "pro")
			_, _ = c.Admit(ctx, tn)
			b.ReportAllocs()
			defer cputime.PerOp(b)()
			for b.Loop() {
				_, _ = c.Admit(ctx, tn)
			}
		})
	}
}

// BenchmarkCacheAdmitParallel is BenchmarkCacheAdmit/re-tiered from every
// CPU at once, for one tenant (one shard).
func BenchmarkCacheAdmitParallel(b *testing.B) {
	c := newCache(b, directory.NewMemory(map[string]directory.Entry{"acme": {Status: directory.Active, Tier: "free"}}))
	ctx := context.Background()
	tn := mustTenant(b, "acme", "pro")
	_, _ = c.Admit(ctx, tn)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Admit(ctx, tn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCacheLookup is a hit of Lookup alone.
func BenchmarkCacheLookup(b *testing.B) {
	c := newCache(b, directory.NewMemory(map[string]directory.Entry{"acme": active}))
	ctx := context.Background()
	_, _ = c.Lookup(ctx, "acme")
	b.ReportAllocs()
	defer cputime.PerOp(b)()
	for b.Loop() {
		_, _ = c.Lookup(ctx, "acme")
	}
}

// BenchmarkVerifierCached is a request's whole credential check when both
// the verified token and the directory's answer are cached; "bare" is the
// same verifier without the directory.
func BenchmarkVerifierCached(b *testing.B) {
	iss := authntest.NewIssuer(b)
	c := newCache(b, directory.NewMemory(map[string]directory.Entry{"acme": {Status: directory.Active, Tier: "free"}}))
	bare := authntest.NewVerifier(b, iss)
	tok := iss.Token("acme", "pro")
	ctx := context.Background()
	run := func(b *testing.B, verify func() error) {
		if err := verify(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		defer cputime.PerOp(b)()
		for b.Loop() {
			if err := verify(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("bare", func(b *testing.B) {
		run(b, func() error { _, err := bare.Verify(ctx, tok); return err })
	})
	v := directory.Verifier(bare, c)
	b.Run("directory", func(b *testing.B) {
		run(b, func() error { _, err := v.Verify(ctx, tok); return err })
	})
}

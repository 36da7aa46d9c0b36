package grpcmw_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
)

// BenchmarkAuthenticateScrub measures the server authentication of one call
// with a cached bearer token and the metadata grpc-go delivers: "clean"
// has no spoofable key (the common case, which must not copy the
// metadata), "spoofed" carries two, "clean-1000" rotates over the cached
// tokens of 1,000 tenants in three tiers.
func BenchmarkAuthenticateScrub(b *testing.B) {
	fx := tenanttest.New(b)
	auth := grpcmw.AuthFunc(fx.Verifier)
	base := metadata.MD{
		":authority":           {"127.0.0.1:50051"},
		"content-type":         {"application/grpc"},
		"user-agent":           {"grpc-go/1.85.0"},
		"grpc-accept-encoding": {"gzip"},
		"traceparent":          {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		"authorization":        {"Bearer " + fx.Token("acme", "gold")},
	}
	for _, bc := range []struct {
		name  string
		extra metadata.MD
	}{
		{"clean", nil},
		{"spoofed", metadata.MD{"x-tenant-id": {"victim"}, "tenant-id": {"victim"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Join(base, bc.extra))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := auth(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("clean-1000", func(b *testing.B) {
		var ctxs []context.Context
		for _, tok := range tenanttest.Mix(tenanttest.MixTenants, fx.Token) {
			md := base.Copy()
			md.Set("authorization", "Bearer "+tok)
			ctx := metadata.NewIncomingContext(context.Background(), md)
			if _, err := auth(ctx); err != nil { // each token's first verification is cold
				b.Fatal(err)
			}
			ctxs = append(ctxs, ctx)
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			if _, err := auth(ctxs[i]); err != nil {
				b.Fatal(err)
			}
			if i++; i == len(ctxs) {
				i = 0
			}
		}
	})
}

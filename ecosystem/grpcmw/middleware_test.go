package grpcmw_test

import (
	"context"
	"testing"

	mw "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/internal/grpchealthtest"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

func healthPublicAuthFunc(v tenant.TokenVerifier) []grpc.ServerOption {
	af := grpcmw.AuthFunc(v, grpcmw.WithPublic(func(_ context.Context, m string) bool {
		return m == grpc_health_v1.Health_Check_FullMethodName || m == grpc_health_v1.Health_Watch_FullMethodName
	}))
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(af)),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(af)),
	}
}

// TestPublicMethods runs grpcmw's public-method cases through
// go-grpc-middleware's auth interceptors.
func TestPublicMethods(t *testing.T) { grpchealthtest.RunPublicMethods(t, healthPublicAuthFunc) }

// go-grpc-middleware's selector can skip authentication for a method too,
// but then nothing removes the spoofable keys: the handler reads the
// client's x-tenant-id. With WithPublicMethods (here under a selector that
// selects every method, to show they compose) they are removed. Both
// wirings still refuse the other methods without a credential.
func TestSelectorSkipKeepsSpoofableKeys(t *testing.T) {
	fx := tenanttest.New(t)
	notHealth := selector.MatchFunc(func(_ context.Context, c mw.CallMeta) bool {
		return c.Service != grpc_health_v1.Health_ServiceDesc.ServiceName || c.Method == "List"
	})
	every := selector.MatchFunc(func(context.Context, mw.CallMeta) bool { return true })
	for name, tc := range map[string]struct {
		af          auth.AuthFunc
		match       selector.Matcher
		wantSpoofed bool
	}{
		"selector skip":     {grpcmw.AuthFunc(fx.Verifier), notHealth, true},
		"WithPublicMethods": {grpcmw.AuthFunc(fx.Verifier, grpcmw.WithPublicMethods(grpcmw.HealthMethods()...)), every, false},
	} {
		t.Run(name, func(t *testing.T) {
			seen := &grpchealthtest.Seen{}
			client := grpchealthtest.Serve(t, &grpchealthtest.PublicHealth{Seen: seen},
				grpc.ChainUnaryInterceptor(selector.UnaryServerInterceptor(auth.UnaryServerInterceptor(tc.af), tc.match)))
			ctx := metadata.AppendToOutgoingContext(t.Context(), "x-tenant-id", "victim")
			if _, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{}); err != nil {
				t.Fatal(err)
			}
			spoofed := seen.SpoofedSeen()
			if spoofed != tc.wantSpoofed {
				t.Fatalf("handler read spoofed metadata: %v, want %v", spoofed, tc.wantSpoofed)
			}
			if _, err := client.List(ctx, &grpc_health_v1.HealthListRequest{}); status.Code(err) != codes.Unauthenticated {
				t.Fatalf("List: %v, want Unauthenticated", err)
			}
		})
	}
}

package grpcmw_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/internal/grpchealthtest"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

// serve is grpchealthtest.Serve, which the other tests of this package use
// too.
var serve = grpchealthtest.Serve

func healthPublic(v tenant.TokenVerifier) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(v, grpcmw.WithPublicMethods(grpcmw.HealthMethods()...))),
		grpc.ChainStreamInterceptor(grpcmw.StreamServerAuthenticate(v, grpcmw.WithPublicMethods(grpcmw.HealthMethods()...))),
	}
}

// TestPublicMethods runs the public-method cases through the interceptors;
// the ecosystem module runs them through go-grpc-middleware's auth
// interceptors too.
func TestPublicMethods(t *testing.T) { grpchealthtest.RunPublicMethods(t, healthPublic) }

// The standard health server of grpc-go, public through HealthMethods,
// answers probes without credentials; the rest of the server stays closed.
func TestHealthMethodsWithGRPCHealthServer(t *testing.T) {
	fx := tenanttest.New(t)
	hs := health.NewServer()
	hs.SetServingStatus("orders.v1.Orders", grpc_health_v1.HealthCheckResponse_SERVING)
	client := serve(t, hs, healthPublic(fx.Verifier)...)
	t.Cleanup(hs.Shutdown)

	resp, err := client.Check(t.Context(), &grpc_health_v1.HealthCheckRequest{Service: "orders.v1.Orders"})
	if err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v, %v", resp, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream, err := client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{Service: "orders.v1.Orders"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("Watch: %v, %v", resp, err)
	}
	cancel()
	if _, err := client.List(t.Context(), &grpc_health_v1.HealthListRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("List without credential: %v, want Unauthenticated", err)
	}
}

func TestHealthMethodsAreTheGeneratedNames(t *testing.T) {
	got := grpcmw.HealthMethods()
	if len(got) != 2 || got[0] != grpc_health_v1.Health_Check_FullMethodName || got[1] != grpc_health_v1.Health_Watch_FullMethodName {
		t.Fatalf("HealthMethods() = %v", got)
	}
	got[0] = "/changed/Method"
	if grpcmw.HealthMethods()[0] != grpc_health_v1.Health_Check_FullMethodName {
		t.Fatal("HealthMethods shares its slice")
	}
}

// Without the options nothing is public, and AuthFunc called outside a
// server (no method in the context) never treats a call as public, even
// under a predicate that matches every name.
func TestNothingPublicByDefault(t *testing.T) {
	fx := tenanttest.New(t)
	ctx := t.Context()
	if _, err := grpcmw.AuthFunc(fx.Verifier)(ctx); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no option: %v", err)
	}
	all := grpcmw.AuthFunc(fx.Verifier, grpcmw.WithPublic(func(context.Context, string) bool { return true }))
	if _, err := all(ctx); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("unknown method under a match-all predicate: %v", err)
	}
	unary := grpcmw.UnaryServerAuthenticate(fx.Verifier, grpcmw.WithPublicMethods("/other.V1/Get"))
	_, err := unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: grpc_health_v1.Health_Check_FullMethodName},
		func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("another method public: %v", err)
	}
}

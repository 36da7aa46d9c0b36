package grpcmw_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

// publicSeen is what a handler reports: its tenant, if any, the spoofable
// metadata it can still read, and whether an outgoing call made with its
// context failed with tenant.ErrNoTenant.
type publicSeen struct {
	mu          sync.Mutex
	tenant      string
	spoofed     []string
	noTenantOut bool
}

// publicHealth is the health service with Check and Watch (public in these
// tests) and List (not public), each recording what its handler sees.
type publicHealth struct {
	grpc_health_v1.UnimplementedHealthServer
	seen *publicSeen
}

func (h *publicHealth) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	var spoofed []string
	for _, k := range []string{"x-tenant-id", "tenant-id", "tenant_id", "x-tenant-id-bin", "tenant-assertion"} {
		spoofed = append(spoofed, md.Get(k)...)
	}
	var id string
	if tn, ok := tenant.FromContext(ctx); ok {
		id = tn.ID()
	}
	// An outgoing call with the handler's context: without a tenant it must
	// fail closed before it leaves the process.
	invoked := false
	err := grpcmw.UnaryClientPropagate(tenant.Relay{})(ctx, "/downstream.V1/Get", nil, nil, nil,
		func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
			invoked = true
			return nil
		})
	h.seen.mu.Lock()
	defer h.seen.mu.Unlock()
	h.seen.tenant, h.seen.spoofed = id, spoofed
	h.seen.noTenantOut = errors.Is(err, tenant.ErrNoTenant) && !invoked
}

func (h *publicHealth) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	h.record(ctx)
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h *publicHealth) List(ctx context.Context, _ *grpc_health_v1.HealthListRequest) (*grpc_health_v1.HealthListResponse, error) {
	h.record(ctx)
	return &grpc_health_v1.HealthListResponse{}, nil
}

func (h *publicHealth) Watch(_ *grpc_health_v1.HealthCheckRequest, stream grpc_health_v1.Health_WatchServer) error {
	h.record(stream.Context())
	return stream.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING})
}

// serve starts a gRPC server on 127.0.0.1 with srv registered as the
// health service, and returns a client of it.
func serve(t *testing.T, srv grpc_health_v1.HealthServer, opts ...grpc.ServerOption) grpc_health_v1.HealthClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(opts...)
	grpc_health_v1.RegisterHealthServer(s, srv)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return grpc_health_v1.NewHealthClient(conn)
}

func healthPublic(v tenant.TokenVerifier) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(v, grpcmw.WithPublicMethods(grpcmw.HealthMethods()...))),
		grpc.ChainStreamInterceptor(grpcmw.StreamServerAuthenticate(v, grpcmw.WithPublicMethods(grpcmw.HealthMethods()...))),
	}
}

// The cases mirror TestAuthenticatePublicRoutes of package httpmw: Check
// (unary) and Watch (stream) are public, List is not. The ecosystem module
// runs them through go-grpc-middleware's auth interceptors too.
func TestPublicMethods(t *testing.T) {
	for name, wiring := range map[string]func(tenant.TokenVerifier) []grpc.ServerOption{
		"interceptors": healthPublic,
	} {
		t.Run(name, func(t *testing.T) {
			fx := tenanttest.New(t)
			seen := &publicSeen{}
			client := serve(t, &publicHealth{seen: seen}, wiring(fx.Verifier)...)
			token := func(id string) string { return "Bearer " + fx.Token(id, "") }
			expired := "Bearer " + fx.IDP.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "exp": time.Now().Add(-time.Minute).Unix()})
			check := func(ctx context.Context) error {
				_, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{})
				return err
			}
			watch := func(ctx context.Context) error {
				s, err := client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
				if err != nil {
					return err
				}
				_, err = s.Recv()
				return err
			}
			list := func(ctx context.Context) error {
				_, err := client.List(ctx, &grpc_health_v1.HealthListRequest{})
				return err
			}
			public := map[string]func(context.Context) error{"Check": check, "Watch": watch}
			private := map[string]func(context.Context) error{"List": list}
			for _, tc := range []struct {
				name   string
				calls  map[string]func(context.Context) error
				md     []string
				code   codes.Code
				tenant string
			}{
				{"public without credential", public, nil, codes.OK, ""},
				{"public with spoofed tenant keys", public, []string{"x-tenant-id", "victim", "tenant-id", "victim", "tenant_id", "victim", "x-tenant-id-bin", "victim"}, codes.OK, ""},
				{"public with an unverified assertion", public, []string{"tenant-assertion", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"}, codes.OK, ""},
				{"public with another auth scheme", public, []string{"authorization", "Basic dXNlcg=="}, codes.OK, ""},
				{"public with a valid token", public, []string{"authorization", token("acme"), "x-tenant-id", "victim"}, codes.OK, "acme"},
				{"public with a malformed token", public, []string{"authorization", "Bearer not-a-jwt"}, codes.Unauthenticated, ""},
				{"public with an empty bearer", public, []string{"authorization", "Bearer "}, codes.Unauthenticated, ""},
				{"public with an expired token", public, []string{"authorization", expired}, codes.Unauthenticated, ""},
				{"public with two tokens", public, []string{"authorization", token("acme"), "authorization", token("victim")}, codes.Unauthenticated, ""},
				{"public with a forbidden tenant", public, []string{"authorization", token("suspended")}, codes.PermissionDenied, ""},
				{"not public without credential", private, nil, codes.Unauthenticated, ""},
				{"not public with spoofed tenant key", private, []string{"x-tenant-id", "acme"}, codes.Unauthenticated, ""},
				{"not public with a valid token", private, []string{"authorization", token("acme")}, codes.OK, "acme"},
			} {
				for method, call := range tc.calls {
					t.Run(tc.name+"/"+method, func(t *testing.T) {
						*seen = publicSeen{}
						err := call(metadata.AppendToOutgoingContext(t.Context(), tc.md...))
						if got := status.Code(err); got != tc.code {
							t.Fatalf("code %v (%v), want %v", got, err, tc.code)
						}
						if tc.code != codes.OK {
							return
						}
						seen.mu.Lock()
						defer seen.mu.Unlock()
						if seen.tenant != tc.tenant || len(seen.spoofed) != 0 {
							t.Fatalf("handler saw tenant %q and spoofed metadata %v, want tenant %q and none", seen.tenant, seen.spoofed, tc.tenant)
						}
						if tc.tenant == "" && !seen.noTenantOut {
							t.Fatal("an outgoing call without a tenant did not fail with ErrNoTenant")
						}
					})
				}
			}
		})
	}
}

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

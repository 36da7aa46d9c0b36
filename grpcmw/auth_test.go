package grpcmw_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

// seen records what a handler observed.
type seen struct {
	mu      sync.Mutex
	id      string
	spoofed []string
}

// healthServer is a real generated gRPC service whose handlers report the
// tenant and any spoofable metadata they can read.
type healthServer struct {
	grpc_health_v1.UnimplementedHealthServer
	seen *seen
}

func (h *healthServer) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	tn, _ := tenant.FromContext(ctx)
	h.seen.mu.Lock()
	defer h.seen.mu.Unlock()
	h.seen.id = tn.ID()
	h.seen.spoofed = append(md.Get("x-tenant-id"), md.Get("tenant-id")...)
}

func (h *healthServer) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	h.record(ctx)
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h *healthServer) Watch(_ *grpc_health_v1.HealthCheckRequest, stream grpc_health_v1.Health_WatchServer) error {
	h.record(stream.Context())
	return stream.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING})
}

type grpcFixture struct {
	addr   string
	idp    *authntest.Issuer
	client grpc_health_v1.HealthClient
	seen   *seen
}

func startGRPC(t *testing.T, serverOpts func(v tenant.TokenVerifier) []grpc.ServerOption) *grpcFixture {
	t.Helper()
	fx := tenanttest.New(t)
	idp, v := fx.IDP, fx.Verifier
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(serverOpts(v)...)
	f := &grpcFixture{addr: ln.Addr().String(), idp: idp, seen: &seen{}}
	grpc_health_v1.RegisterHealthServer(s, &healthServer{seen: f.seen})
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.client = grpc_health_v1.NewHealthClient(conn)
	return f
}

func (f *grpcFixture) token(id string) string {
	return f.idp.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": id})
}

func withMD(t *testing.T, kv ...string) context.Context {
	return metadata.AppendToOutgoingContext(t.Context(), kv...)
}

func interceptors(v tenant.TokenVerifier) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(v)),
		grpc.ChainStreamInterceptor(grpcmw.StreamServerAuthenticate(v)),
	}
}

func TestServerAuthentication(t *testing.T) {
	for name, opts := range map[string]func(tenant.TokenVerifier) []grpc.ServerOption{
		"interceptors": interceptors,
	} {
		t.Run(name, func(t *testing.T) {
			f := startGRPC(t, opts)
			// Valid credential for acme plus spoofed metadata naming another
			// tenant: the handler sees acme only and cannot read the spoof.
			ctx := withMD(t, "authorization", "Bearer "+f.token("acme"), "x-tenant-id", "victim", "tenant-id", "victim")
			if _, err := f.client.Check(ctx, &grpc_health_v1.HealthCheckRequest{}); err != nil {
				t.Fatal(err)
			}
			f.check(t, "unary")

			stream, err := f.client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := stream.Recv(); err != nil {
				t.Fatal(err)
			}
			f.check(t, "stream")
		})
	}
}

func (f *grpcFixture) check(t *testing.T, what string) {
	t.Helper()
	f.seen.mu.Lock()
	defer f.seen.mu.Unlock()
	if f.seen.id != "acme" || len(f.seen.spoofed) != 0 {
		t.Fatalf("%s handler saw tenant %q and spoofed metadata %v", what, f.seen.id, f.seen.spoofed)
	}
}

func TestServerAuthenticationErrors(t *testing.T) {
	f := startGRPC(t, interceptors)
	expired := f.idp.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "exp": time.Now().Add(-time.Minute).Unix()})
	for _, tc := range []struct {
		name string
		md   []string
		code codes.Code
		msg  string
	}{
		{"no metadata", nil, codes.Unauthenticated, "bearer token is required"},
		{"basic scheme", []string{"authorization", "Basic dXNlcg=="}, codes.Unauthenticated, "bearer token is required"},
		{"two tokens", []string{"authorization", "Bearer " + f.token("acme"), "authorization", "Bearer " + f.token("victim")}, codes.Unauthenticated, "malformed"},
		{"garbage", []string{"authorization", "Bearer abc"}, codes.Unauthenticated, "malformed token"},
		{"expired", []string{"authorization", "Bearer " + expired}, codes.Unauthenticated, "token expired"},
		{"wildcard tenant", []string{"authorization", "Bearer " + f.token("*")}, codes.Unauthenticated, "tenant claim"},
		{"forbidden", []string{"authorization", "Bearer " + f.token("suspended")}, codes.PermissionDenied, "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, call := range []func(context.Context) error{
				func(ctx context.Context) error {
					_, err := f.client.Check(ctx, &grpc_health_v1.HealthCheckRequest{})
					return err
				},
				func(ctx context.Context) error {
					s, err := f.client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
					if err != nil {
						return err
					}
					_, err = s.Recv()
					return err
				},
			} {
				err := call(withMD(t, tc.md...))
				st := status.Convert(err)
				if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
					t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), tc.code, tc.msg)
				}
				if strings.Contains(st.Message(), "eyJ") {
					t.Fatal("status echoes the token")
				}
			}
		})
	}
}

// Package grpchealthtest is the gRPC health service of the public-method
// tests: it records what each handler sees, so that one table of cases runs
// through grpcmw's own interceptors and through go-grpc-middleware's.
package grpchealthtest

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
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

// Seen is what a handler of PublicHealth reports: its tenant, if any, the spoofable
// metadata it can still read, and whether an outgoing call made with its
// context failed with tenant.ErrNoTenant.
type Seen struct {
	mu          sync.Mutex
	tenant      string
	spoofed     []string
	noTenantOut bool
}

// PublicHealth is the health service with Check and Watch (public in these
// tests) and List (not public), each recording what its handler sees.
type PublicHealth struct {
	grpc_health_v1.UnimplementedHealthServer
	Seen *Seen
}

func (h *PublicHealth) record(ctx context.Context) {
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
	h.Seen.mu.Lock()
	defer h.Seen.mu.Unlock()
	h.Seen.tenant, h.Seen.spoofed = id, spoofed
	h.Seen.noTenantOut = errors.Is(err, tenant.ErrNoTenant) && !invoked
}

func (h *PublicHealth) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	h.record(ctx)
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h *PublicHealth) List(ctx context.Context, _ *grpc_health_v1.HealthListRequest) (*grpc_health_v1.HealthListResponse, error) {
	h.record(ctx)
	return &grpc_health_v1.HealthListResponse{}, nil
}

func (h *PublicHealth) Watch(_ *grpc_health_v1.HealthCheckRequest, stream grpc_health_v1.Health_WatchServer) error {
	h.record(stream.Context())
	return stream.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING})
}

// Serve starts a gRPC server on 127.0.0.1 with srv registered as the
// health service, and returns a client of it.
func Serve(t *testing.T, srv grpc_health_v1.HealthServer, opts ...grpc.ServerOption) grpc_health_v1.HealthClient {
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

// SpoofedSeen reports whether the last handler could read spoofable
// metadata.
func (s *Seen) SpoofedSeen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.spoofed) != 0
}

// RunPublicMethods runs the public-method cases (they mirror
// TestAuthenticatePublicRoutes of package httpmw: Check (unary) and Watch
// (stream) are public, List is not) against a server built with wiring.
func RunPublicMethods(t *testing.T, wiring func(tenant.TokenVerifier) []grpc.ServerOption) {
	fx := tenanttest.New(t)
	seen := &Seen{}
	client := Serve(t, &PublicHealth{Seen: seen}, wiring(fx.Verifier)...)
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
				*seen = Seen{}
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
}

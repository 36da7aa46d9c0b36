package grpcmw_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

func ringAssertion(t testing.TB, aud string) *authn.Assertion { return tenanttest.Assertion(t, aud) }

// counting counts calls that reached the server at all, before
// authentication.
func counting(n *atomic.Int64) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		n.Add(1)
		return h(ctx, req)
	}
}

func dialWith(t *testing.T, addr string, p tenant.Propagator) grpc_health_v1.HealthClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(p)),
		grpc.WithStreamInterceptor(grpcmw.StreamClientPropagate(p)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return grpc_health_v1.NewHealthClient(conn)
}

func TestClientPropagation(t *testing.T) {
	for _, format := range []string{"relay", "assertion"} {
		t.Run(format, func(t *testing.T) {
			a := ringAssertion(t, "health")
			var hits atomic.Int64
			var verifier tenant.TokenVerifier
			f := startGRPC(t, func(v tenant.TokenVerifier) []grpc.ServerOption {
				verifier = v
				return []grpc.ServerOption{
					grpc.ChainUnaryInterceptor(counting(&hits), grpcmw.UnaryServerAuthenticate(v, grpcmw.WithAssertion(a))),
					grpc.ChainStreamInterceptor(grpcmw.StreamServerAuthenticate(v, grpcmw.WithAssertion(a))),
				}
			})
			var p tenant.Propagator = a
			if format == "relay" {
				p = tenant.Relay{Verifier: verifier}
			}
			client := dialWith(t, f.addr, p)
			tn, err := verifier.Verify(context.Background(), f.token("acme"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := tenant.NewContext(t.Context(), tn)
			if _, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{}); err != nil {
				t.Fatal(err)
			}
			f.check(t, "unary")
			s, err := client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); err != nil {
				t.Fatal(err)
			}
			f.check(t, "stream")

			// The classic bug: a goroutine started with
			// context.Background() cannot call out.
			before := hits.Load()
			errc := make(chan error, 1)
			go func() {
				_, err := client.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{})
				errc <- err
			}()
			if err := <-errc; !errors.Is(err, tenant.ErrNoTenant) {
				t.Fatalf("background call: %v", err)
			}
			if _, err := client.Watch(context.Background(), &grpc_health_v1.HealthCheckRequest{}); !errors.Is(err, tenant.ErrNoTenant) {
				t.Fatalf("background stream: %v", err)
			}
			// WithoutCancel keeps the tenant for legitimate background work.
			if _, err := client.Check(context.WithoutCancel(ctx), &grpc_health_v1.HealthCheckRequest{}); err != nil {
				t.Fatalf("WithoutCancel: %v", err)
			}
			if hits.Load() != before+1 {
				t.Fatalf("%d calls reached the server, want 1", hits.Load()-before)
			}

			// A call whose metadata already carries another tenant's
			// credential is refused.
			other, _ := verifier.Verify(context.Background(), f.token("globex"))
			foreign := metadata.MD{}
			var op tenant.Propagator = a
			if format == "relay" {
				op = tenant.Relay{Verifier: verifier}
			}
			_ = op.Inject(tenant.NewContext(context.Background(), other), mdCarrier(foreign))
			mixed := metadata.NewOutgoingContext(ctx, foreign)
			if _, err := client.Check(mixed, &grpc_health_v1.HealthCheckRequest{}); !errors.Is(err, tenant.ErrMismatch) {
				t.Fatalf("foreign credential: %v", err)
			}
			// Deliberately tenant-less calls go out without credentials
			// (and this server refuses them).
			if _, err := client.Check(tenant.WithoutTenant(context.Background()), &grpc_health_v1.HealthCheckRequest{}); err == nil || errors.Is(err, tenant.ErrNoTenant) {
				t.Fatalf("tenant-less call: %v", err)
			}
		})
	}
}

// mdCarrier is a tenant.Carrier over outgoing metadata, for a test to put
// a credential there itself.
type mdCarrier metadata.MD

func (c mdCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c mdCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c mdCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

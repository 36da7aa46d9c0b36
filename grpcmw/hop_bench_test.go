package grpcmw_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

type servingHealth struct {
	grpc_health_v1.UnimplementedHealthServer
}

func (servingHealth) Check(context.Context, *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

// BenchmarkHop measures one unary call over a real gRPC connection on
// 127.0.0.1: "bare" without tenantkit, "relay" and "assertion" with the
// client interceptor injecting and the server interceptor verifying the
// tenant (repeated tenant, steady state), and the "-cold" variants for the
// first call of a tenant (uncached RS256 token; fresh assertion signature
// and verification). "inproc/relay-1000" relays the cached tokens of 1,000
// tenants in three tiers in turn.
func BenchmarkHop(b *testing.B) {
	idp, err := authntest.StartIssuer()
	if err != nil {
		b.Fatal(err)
	}
	defer idp.Close()
	issuers := []authn.Issuer{{URL: idp.URL(), JWKSURL: idp.JWKSURL(), Audiences: []string{"api"}}}
	v, err := authn.NewVerifier(issuers)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	uncached, err := authn.NewVerifier(issuers, authn.WithCacheSize(0))
	if err != nil {
		b.Fatal(err)
	}
	defer uncached.Close()
	tn, err := v.Verify(context.Background(), idp.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "custom:tier": "gold"}))
	if err != nil {
		b.Fatal(err)
	}
	a := ringAssertion(b, "health")
	ctx := tenant.NewContext(context.Background(), tn)
	same := func(int) context.Context { return ctx }
	fresh := func(i int) context.Context {
		t, _ := tenant.New(fmt.Sprintf("cold-%d", i), "gold")
		return tenant.NewContext(context.Background(), t)
	}
	// In process: the client interceptor's outgoing metadata becomes the
	// server interceptor's incoming metadata directly, so the result is the
	// hop's own cost without the network.
	handler := func(ctx context.Context, req any) (any, error) { return nil, nil }
	info := &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"}
	passthrough := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(ctx, req)
	}
	for _, bc := range []struct {
		name   string
		client grpc.UnaryClientInterceptor
		server grpc.UnaryServerInterceptor
	}{
		{"bare", func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return inv(ctx, m, req, reply, cc, o...)
		}, passthrough},
		{"relay", grpcmw.UnaryClientPropagate(tenant.Relay{Verifier: v}), grpcmw.UnaryServerAuthenticate(v)},
		{"assertion", grpcmw.UnaryClientPropagate(a), grpcmw.UnaryServerAuthenticate(nil, grpcmw.WithAssertion(a))},
	} {
		b.Run("inproc/"+bc.name, func(b *testing.B) {
			invoker := func(ctx context.Context, method string, req, reply any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
				md, _ := metadata.FromOutgoingContext(ctx)
				_, err := bc.server(metadata.NewIncomingContext(context.Background(), md), req, info, handler)
				return err
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.client(ctx, info.FullMethod, nil, nil, nil, invoker); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("inproc/relay-1000", func(b *testing.B) {
		tokens := tenanttest.Mix(tenanttest.MixTenants, func(id, tier string) string {
			return idp.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": id, "custom:tier": tier})
		})
		ctxs := make([]context.Context, len(tokens))
		for i, tok := range tokens {
			t, err := v.Verify(context.Background(), tok)
			if err != nil {
				b.Fatal(err)
			}
			ctxs[i] = tenant.NewContext(context.Background(), t)
		}
		client, server := grpcmw.UnaryClientPropagate(tenant.Relay{Verifier: v}), grpcmw.UnaryServerAuthenticate(v)
		invoker := func(ctx context.Context, method string, req, reply any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			md, _ := metadata.FromOutgoingContext(ctx)
			_, err := server(metadata.NewIncomingContext(context.Background(), md), req, info, handler)
			return err
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			if err := client(ctxs[i], info.FullMethod, nil, nil, nil, invoker); err != nil {
				b.Fatal(err)
			}
			if i++; i == len(ctxs) {
				i = 0
			}
		}
	})
	for _, bc := range []struct {
		name   string
		server []grpc.ServerOption
		client []grpc.DialOption
		ctx    func(int) context.Context
	}{
		{"bare", nil, nil, same},
		{"relay", []grpc.ServerOption{grpc.UnaryInterceptor(grpcmw.UnaryServerAuthenticate(v))},
			[]grpc.DialOption{grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(tenant.Relay{Verifier: v}))}, same},
		{"assertion", []grpc.ServerOption{grpc.UnaryInterceptor(grpcmw.UnaryServerAuthenticate(nil, grpcmw.WithAssertion(a)))},
			[]grpc.DialOption{grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(a))}, same},
		{"relay-cold", []grpc.ServerOption{grpc.UnaryInterceptor(grpcmw.UnaryServerAuthenticate(uncached))},
			[]grpc.DialOption{grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(tenant.Relay{Verifier: uncached}))}, same},
		{"assertion-cold", []grpc.ServerOption{grpc.UnaryInterceptor(grpcmw.UnaryServerAuthenticate(nil, grpcmw.WithAssertion(a)))},
			[]grpc.DialOption{grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(a))}, fresh},
	} {
		b.Run("loopback/"+bc.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			s := grpc.NewServer(bc.server...)
			grpc_health_v1.RegisterHealthServer(s, servingHealth{})
			go func() { _ = s.Serve(ln) }()
			defer s.Stop()
			conn, err := grpc.NewClient(ln.Addr().String(), append(bc.client, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := grpc_health_v1.NewHealthClient(conn)
			req := &grpc_health_v1.HealthCheckRequest{}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := client.Check(bc.ctx(i), req); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

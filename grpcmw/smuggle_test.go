package grpcmw_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/tenant"
)

type creds struct{ acmeBearer, acmeBearer2, globexBearer, acmeAssertion, globexAssertion string }

// smuggleCase is httpmw's smuggleCase for gRPC: the same attempts, in
// metadata. add returns the context the call is made with.
type smuggleCase struct {
	name       string
	format     string // "relay" or "assertion"
	tenantless bool
	add        func(ctx context.Context, k creds) context.Context
	opts       func(k creds) []grpc.CallOption
	ok         bool
}

var smuggleCases = []smuggleCase{
	{"relay: another tenant's assertion beside the relayed bearer", "relay", false, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "tenant-assertion", k.globexAssertion)
	}, nil, false},
	{"relay: an assertion of the same tenant it cannot verify", "relay", false, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "Tenant-Assertion", k.acmeAssertion)
	}, nil, false},
	{"relay: a Tenant-Assertion key in an MD literal", "relay", false, func(ctx context.Context, k creds) context.Context {
		return metadata.NewOutgoingContext(ctx, metadata.MD{"Tenant-Assertion": {k.globexAssertion}})
	}, nil, false},
	{"relay: a second authorization value of another tenant", "relay", false, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+k.acmeBearer, "Authorization", "Bearer "+k.globexBearer)
	}, nil, false},
	{"relay: an Authorization key in an MD literal", "relay", false, func(ctx context.Context, k creds) context.Context {
		return metadata.NewOutgoingContext(ctx, metadata.MD{"Authorization": {"Bearer " + k.globexBearer}})
	}, nil, false},
	{"relay: an MD literal value and an appended value of another tenant", "relay", false, func(ctx context.Context, k creds) context.Context {
		ctx = metadata.NewOutgoingContext(ctx, metadata.MD{"authorization": {"Bearer " + k.acmeBearer}})
		return metadata.AppendToOutgoingContext(ctx, "AUTHORIZATION", "Bearer "+k.globexBearer)
	}, nil, false},
	{"assertion: another tenant's bearer beside the minted assertion", "assertion", false, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+k.globexBearer)
	}, nil, false},
	{"assertion: a bearer of the same tenant it cannot verify", "assertion", false, func(ctx context.Context, k creds) context.Context {
		return metadata.NewOutgoingContext(ctx, metadata.MD{"Authorization": {"Bearer " + k.acmeBearer}})
	}, nil, false},
	{"assertion: a second assertion value of another tenant", "assertion", false, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "tenant-assertion", k.acmeAssertion, "tenant-assertion", k.globexAssertion)
	}, nil, false},
	{"assertion: a mixed-case Tenant-Assertion key of another tenant", "assertion", false, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "Tenant-ASSERTION", k.globexAssertion)
	}, nil, false},
	{"tenant-less: a bearer of some tenant", "relay", true, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+k.globexBearer)
	}, nil, false},
	{"tenant-less: an assertion of some tenant", "assertion", true, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "tenant-assertion", k.globexAssertion)
	}, nil, false},
	{"relay: per-call PerRPCCredentials the client cannot check", "relay", false, nil, func(k creds) []grpc.CallOption {
		return []grpc.CallOption{grpc.PerRPCCredentials(bearerCreds("Bearer " + k.globexBearer))}
	}, false},

	{"relay: the tenant's own bearer in an MD literal and appended goes out once", "relay", false, func(ctx context.Context, k creds) context.Context {
		ctx = metadata.NewOutgoingContext(ctx, metadata.MD{"Authorization": {"Bearer " + k.acmeBearer}})
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+k.acmeBearer2)
	}, nil, true},
	{"assertion: the tenant's own assertion twice goes out once", "assertion", false, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "tenant-assertion", k.acmeAssertion, "Tenant-Assertion", k.acmeAssertion)
	}, nil, true},
	{"assertion: Basic credentials are not a tenant credential", "assertion", false, func(ctx context.Context, k creds) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Basic dXNlcjpwYXNz")
	}, nil, true},
}

// bearerCreds is a PerRPCCredentials that adds a fixed authorization value.
type bearerCreds string

func (b bearerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": string(b)}, nil
}
func (bearerCreds) RequireTransportSecurity() bool { return false }

// mdRecord is what the server saw of a call's credentials.
type mdRecord struct {
	mu              sync.Mutex
	hits            int
	auth, assertion int
}

func (r *mdRecord) reset() { r.mu.Lock(); r.hits, r.auth, r.assertion = 0, 0, 0; r.mu.Unlock() }
func (r *mdRecord) get() (int, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits, r.auth, r.assertion
}

func (r *mdRecord) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	r.mu.Lock()
	r.hits++
	r.auth, r.assertion = len(md.Get("authorization")), len(md.Get("tenant-assertion"))
	r.mu.Unlock()
	return h(ctx, req)
}

func (r *mdRecord) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	md, _ := metadata.FromIncomingContext(ss.Context())
	r.mu.Lock()
	r.hits++
	r.auth, r.assertion = len(md.Get("authorization")), len(md.Get("tenant-assertion"))
	r.mu.Unlock()
	return h(srv, ss)
}

// TestClientSmuggledCredentials: every tenant credential already in a
// call's outgoing metadata, of either format, under any key case, every
// value, is checked against the context's tenant, by the unary and the
// stream interceptor; a call carrying one that does not name it never
// leaves the process.
func TestClientSmuggledCredentials(t *testing.T) {
	a := ringAssertion(t, "health")
	rec := &mdRecord{}
	var verifier tenant.TokenVerifier
	f := startGRPC(t, func(v tenant.TokenVerifier) []grpc.ServerOption {
		verifier = v
		return []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(rec.unary, grpcmw.UnaryServerAuthenticate(v, grpcmw.WithAssertion(a))),
			grpc.ChainStreamInterceptor(rec.stream, grpcmw.StreamServerAuthenticate(v, grpcmw.WithAssertion(a))),
		}
	})
	acme, err := verifier.Verify(context.Background(), f.token("acme"))
	if err != nil {
		t.Fatal(err)
	}
	acmeAssertion, _ := a.Mint(acme)
	globex, _ := tenant.New("globex", "")
	globexAssertion, _ := a.Mint(globex)
	k := creds{f.token("acme"), f.token("acme"), f.token("globex"), acmeAssertion, globexAssertion}
	clients := map[string]grpc_health_v1.HealthClient{}
	for _, format := range []string{"relay", "assertion"} {
		var p tenant.Propagator = a
		if format == "relay" {
			p = tenant.Relay{Verifier: verifier}
		}
		conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(p)),
			grpc.WithStreamInterceptor(grpcmw.StreamClientPropagate(p)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		clients[format] = grpc_health_v1.NewHealthClient(conn)
	}
	for _, tc := range smuggleCases {
		for _, kind := range []string{"unary", "stream"} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				ctx := tenant.NewContext(t.Context(), acme)
				if tc.tenantless {
					ctx = tenant.WithoutTenant(t.Context())
				}
				if tc.add != nil {
					ctx = tc.add(ctx, k)
				}
				var opts []grpc.CallOption
				if tc.opts != nil {
					opts = tc.opts(k)
				}
				rec.reset()
				c := clients[tc.format]
				if kind == "unary" {
					_, err = c.Check(ctx, &grpc_health_v1.HealthCheckRequest{}, opts...)
				} else {
					var s grpc_health_v1.Health_WatchClient
					if s, err = c.Watch(ctx, &grpc_health_v1.HealthCheckRequest{}, opts...); err == nil {
						_, err = s.Recv()
					}
				}
				hits, auth, assertion := rec.get()
				if !tc.ok {
					if !errors.Is(err, tenant.ErrMismatch) || hits != 0 {
						t.Fatalf("err = %v (hits %d), want ErrMismatch before sending", err, hits)
					}
					for _, tok := range []string{k.globexBearer, k.acmeBearer, k.globexAssertion} {
						if strings.Contains(err.Error(), tok) {
							t.Fatal("error quotes a credential")
						}
					}
					return
				}
				if err != nil || auth > 1 || assertion > 1 {
					t.Fatalf("err %v with %d authorization and %d tenant-assertion values", err, auth, assertion)
				}
				f.check(t, kind)
			})
		}
	}
}

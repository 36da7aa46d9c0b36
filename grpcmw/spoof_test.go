package grpcmw_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/tenant"
)

// spoofedKeys are httpmw's spoofedNames as metadata keys, with the gRPC
// variants: '_' for '-' and "-bin" keys.
var spoofedKeys = []string{
	"x-tenant-id", "tenant-id", "x-tenant_id", "tenant_id", "x_tenant_id",
	"x-forwarded-tenant", "x-tenant", "tenant", "x-amzn-tenant-id", "x-scope-orgid",
	"x-tenant-id-bin", "tenant-id-bin", "x-tenant-tier", "tenant_assertion",
}

// visibleKeys records the spoofed keys a handler can still read.
type visibleKeys struct {
	mu   sync.Mutex
	seen []string
}

func (v *visibleKeys) look(ctx context.Context, names []string) {
	md, _ := metadata.FromIncomingContext(ctx)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seen = nil
	for k := range md {
		for _, n := range names {
			if strings.EqualFold(k, n) {
				v.seen = append(v.seen, k)
			}
		}
	}
}

func (v *visibleKeys) get() []string { v.mu.Lock(); defer v.mu.Unlock(); return v.seen }

func spoofServer(t *testing.T, names []string, opts ...grpcmw.AuthOption) (*grpcFixture, *visibleKeys) {
	vk := &visibleKeys{}
	f := startGRPC(t, func(v tenant.TokenVerifier) []grpc.ServerOption {
		return []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(v, opts...), func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				vk.look(ctx, names)
				return h(ctx, req)
			}),
			grpc.ChainStreamInterceptor(grpcmw.StreamServerAuthenticate(v, opts...), func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				vk.look(ss.Context(), names)
				return h(srv, ss)
			}),
		}
	})
	return f, vk
}

func callBoth(t *testing.T, f *grpcFixture, ctx context.Context, check func(kind string)) {
	t.Helper()
	if _, err := f.client.Check(ctx, &grpc_health_v1.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	check("unary")
	s, err := f.client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	check("stream")
}

// TestServerSpoofableKeys: spoofable keys with '_' for '-', the documented
// aliases and "-bin" variants never reach the handler of a unary call or a
// stream.
func TestServerSpoofableKeys(t *testing.T) {
	f, vk := spoofServer(t, spoofedKeys)
	kv := []string{"authorization", "Bearer " + f.token("acme")}
	for _, k := range spoofedKeys {
		kv = append(kv, k, "victim")
	}
	callBoth(t, f, withMD(t, kv...), func(kind string) {
		if seen := vk.get(); len(seen) != 0 {
			t.Fatalf("%s handler read %v", kind, seen)
		}
		f.check(t, kind)
	})
}

// TestServerSpoofableOptions: WithSpoofableKeys adds to the defaults;
// WithSpoofableKeysOnly replaces them.
func TestServerSpoofableOptions(t *testing.T) {
	names := []string{"x-org", "x-tenant-id", "tenant-assertion"}
	for _, tc := range []struct {
		name string
		opt  grpcmw.AuthOption
		want []string
	}{
		{"add", grpcmw.WithSpoofableKeys("X_Org"), nil},
		{"replace", grpcmw.WithSpoofableKeysOnly("x-org"), []string{"x-tenant-id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, vk := spoofServer(t, names, tc.opt)
			ctx := withMD(t, "authorization", "Bearer "+f.token("acme"), "x-org", "victim", "x-tenant-id", "victim", "tenant-assertion", "x.y.z")
			callBoth(t, f, ctx, func(kind string) {
				if seen := vk.get(); fmt.Sprint(seen) != fmt.Sprint(tc.want) {
					t.Fatalf("%s handler read %v, want %v", kind, seen, tc.want)
				}
			})
		})
	}
}

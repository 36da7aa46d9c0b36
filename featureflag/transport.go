package featureflag

import (
	"context"
	"net/http"

	"google.golang.org/grpc"

	"github.com/tenantkit/tenantkit/tenant"
)

// Targeting returns HTTP middleware that puts the verified tenant of each
// request into OpenFeature's transaction context ([ContextWithTenant]), so
// that every flag evaluated while handling the request targets that tenant.
// Install it after httpmw.Authenticate; a request without a tenant (a
// public route) passes unchanged.
func Targeting() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if t, ok := tenant.FromContext(r.Context()); ok {
				r = r.WithContext(ContextWithTenant(r.Context(), t))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// UnaryServerTargeting is [Targeting] for unary gRPC calls. Chain it after
// grpcmw.UnaryServerAuthenticate.
func UnaryServerTargeting() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if t, ok := tenant.FromContext(ctx); ok {
			ctx = ContextWithTenant(ctx, t)
		}
		return handler(ctx, req)
	}
}

// StreamServerTargeting is [Targeting] for streaming gRPC calls. Chain it
// after grpcmw.StreamServerAuthenticate.
func StreamServerTargeting() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		t, ok := tenant.FromContext(ss.Context())
		if !ok {
			return handler(srv, ss)
		}
		return handler(srv, &contextStream{ServerStream: ss, ctx: ContextWithTenant(ss.Context(), t)})
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

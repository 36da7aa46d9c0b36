package main

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tenantkit/tenantkit/tenant"
)

// The backend is a gRPC service with one method, Orders/Owner, that
// answers with the tenant it sees. It is described by hand (no generated
// code) to keep the demo to plain Go; real services use protoc output.
const ownerMethod = "/tenantkit.demo.Orders/Owner"

var ordersDesc = grpc.ServiceDesc{
	ServiceName: "tenantkit.demo.Orders",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Owner",
		Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) {
				t, err := tenant.Require(ctx) // set by grpcmw's server interceptor
				if err != nil {
					return nil, err
				}
				return wrapperspb.String(t.ID()), nil
			}
			if icpt == nil {
				return h(ctx, in)
			}
			return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: ownerMethod}, h)
		},
	}},
}

// serveGRPC runs s on a free loopback port.
func serveGRPC(s *grpc.Server) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() { _ = s.Serve(ln) }()
	return ln.Addr().String(), nil
}

// backendOwner asks the backend which tenant it sees for ctx.
func backendOwner(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	out := new(wrapperspb.StringValue)
	if err := conn.Invoke(ctx, ownerMethod, wrapperspb.String(""), out); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

package load

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/tenant"
)

// PingMethod is the trivial unary method of the gRPC stacks: it takes and
// returns google.protobuf.Empty.
const PingMethod = "/tenantkit.load.Load/Ping"

// pingService is the service behind PingMethod. Its handler is written out
// as generated code would be, so that the harness needs no .proto file.
func pingService(seen *sync.Map) *grpc.ServiceDesc {
	handle := (&pinger{seen: seen}).handle
	return &grpc.ServiceDesc{
		ServiceName: "tenantkit.load.Load",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Ping",
			Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				if icpt == nil {
					return handle(ctx, in)
				}
				return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: PingMethod}, handle)
			},
		}},
	}
}

// pinger is the trivial unary method. It is a named type, not a closure,
// so that a CPU profile names it the same however it is compiled (see
// isHandler).
type pinger struct{ seen *sync.Map }

func (p *pinger) handle(ctx context.Context, _ any) (any, error) {
	if p.seen != nil {
		if t, ok := tenant.FromContext(ctx); ok {
			p.seen.Store(t.ID(), struct{}{})
		}
	}
	return &emptypb.Empty{}, nil
}

func (bd *builder) grpcStack(b *built) (*grpc.Server, error) {
	var icpts []grpc.UnaryServerInterceptor
	if b.info.Name != BareGRPC {
		v, err := bd.verifier(b)
		if err != nil {
			return nil, err
		}
		icpts = append(icpts, grpcmw.UnaryServerAuthenticate(v))
	}
	if b.info.Name == "grpc-full" {
		m, err := metrics(b, true)
		if err != nil {
			return nil, err
		}
		l, err := ratelimit.NewLocal()
		if err != nil {
			return nil, err
		}
		icpts = append(icpts, grpcmw.UnaryServerTelemetry(m), grpcmw.UnaryServerRateLimit(l, bd.plans))
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(icpts...))
	srv.RegisterService(pingService(b.seen), struct{}{})
	return srv, nil
}

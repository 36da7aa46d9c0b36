package grpcmw

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// UnaryServerTelemetry returns an interceptor that records the per-tenant
// request metrics of every unary call in m (requests, duration, request
// and response size), with the outcome taken from the status code. Chain
// it after [UnaryServerAuthenticate] and before [UnaryServerRateLimit], so
// that rejected calls count as rate_limited:
//
//	grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(v), grpcmw.UnaryServerTelemetry(m), grpcmw.UnaryServerRateLimit(l, plans))
//
// It panics if m is nil.
func UnaryServerTelemetry(m *telemetry.Metrics) grpc.UnaryServerInterceptor {
	// The instruments are tenantkit.server.requests, .duration (handler
	// time), .request.size and .response.size (the encoded size of the
	// request and response messages, not wire bytes). With
	// telemetry.WithUsage the same call meters it in the usage table.
	//
	// It takes no options: httpmw.Telemetry's one, WithLabeler, feeds
	// otelhttp's Labeler, and otelgrpc v0.72.0 has none. Its server metric
	// attributes are fixed in the stats handler's TagRPC, before any
	// interceptor has authenticated the call, so its server metrics cannot
	// carry the tenant (this interceptor's metrics do). On the client side
	// the tenant is in the caller's context from the start, and
	// otelgrpc.NewClientHandler(otelgrpc.WithMetricAttributesFn(m.TenantAttributes))
	// puts the guarded tenant attributes on otelgrpc's client metrics.
	mustDependency("UnaryServerTelemetry", "metrics", m)
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		t, _ := tenant.FromContext(ctx)
		start := time.Now()
		done := false
		defer func() {
			end := time.Now()
			r := telemetry.Request{Duration: end.Sub(start), RequestBytes: messageSize(req), End: end,
				Outcome: telemetry.OutcomeServerError} // a panicking handler
			if done {
				r.Outcome = grpcOutcome(status.Code(err))
				if err == nil {
					r.ResponseBytes = messageSize(resp)
				}
			}
			m.RecordRequest(ctx, t, r)
		}()
		resp, err = handler(ctx, req)
		done = true
		return resp, err
	}
}

// StreamServerTelemetry is [UnaryServerTelemetry] for streams: one stream
// is one request, its duration the handler's, its sizes the sums over the
// messages received and sent. It panics if m is nil.
func StreamServerTelemetry(m *telemetry.Metrics) grpc.StreamServerInterceptor {
	mustDependency("StreamServerTelemetry", "metrics", m)
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := ss.Context()
		t, _ := tenant.FromContext(ctx)
		ts := &telemetryStream{ServerStream: ss}
		start := time.Now()
		done := false
		defer func() {
			end := time.Now()
			r := telemetry.Request{Duration: end.Sub(start), RequestBytes: ts.in, ResponseBytes: ts.out, End: end,
				Outcome: telemetry.OutcomeServerError}
			if done {
				r.Outcome = grpcOutcome(status.Code(err))
			}
			m.RecordRequest(ctx, t, r)
		}()
		err = handler(srv, ts)
		done = true
		return err
	}
}

// grpcOutcome maps a gRPC status code to the outcome of the request
// metrics, as UnaryServerTelemetry documents.
func grpcOutcome(c codes.Code) telemetry.Outcome {
	switch c {
	case codes.OK:
		return telemetry.OutcomeOK
	case codes.ResourceExhausted:
		return telemetry.OutcomeRateLimited
	case codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied,
		codes.FailedPrecondition, codes.Aborted, codes.OutOfRange, codes.Unauthenticated:
		return telemetry.OutcomeClientError
	default:
		return telemetry.OutcomeServerError
	}
}

// messageSize is the encoded size of a protobuf message, 0 for anything else.
func messageSize(m any) int64 {
	if pm, ok := m.(proto.Message); ok {
		return int64(proto.Size(pm))
	}
	return 0
}

// telemetryStream counts the encoded size of the messages of a stream.
type telemetryStream struct {
	grpc.ServerStream
	in, out int64
}

func (s *telemetryStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.in += messageSize(m)
	}
	return err
}

func (s *telemetryStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.out += messageSize(m)
	}
	return err
}

package grpcmw_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// telStandInCtx plays the part of the authentication interceptor in these
// tests: it trusts "x-test-tenant: id:tier" metadata as it is, which only a
// test may do.
func telStandInCtx(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-test-tenant"); len(v) == 1 {
		id, tier, _ := strings.Cut(v[0], ":")
		if t, err := tenant.New(id, tier); err == nil {
			return tenant.NewContext(ctx, t)
		}
	}
	return ctx
}

type telWrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s telWrappedStream) Context() context.Context { return s.ctx }

// telLimit rejects calls that ask for it, as a rate limiter would.
func telLimit(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get("x-test-limit")) > 0 {
		return status.Error(codes.ResourceExhausted, "slow down")
	}
	return nil
}

func telAttr(s attribute.Set, k attribute.Key) string {
	v, _ := s.Value(k)
	return v.AsString()
}

func TestServerTelemetry(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				return h(telStandInCtx(ctx), req)
			},
			grpcmw.UnaryServerTelemetry(m),
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				if err := telLimit(ctx); err != nil {
					return nil, err
				}
				return h(ctx, req)
			},
		),
		grpc.ChainStreamInterceptor(
			func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				return h(srv, telWrappedStream{ss, telStandInCtx(ss.Context())})
			},
			grpcmw.StreamServerTelemetry(m),
		),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	// The client side: otelgrpc's client metrics get the tenant from the
	// caller's context through WithMetricAttributesFn.
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithMeterProvider(mp), otelgrpc.WithMetricAttributesFn(m.TenantAttributes))),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	acme, _ := tenant.New("acme", "pro")
	call := func(tn string, extra ...string) context.Context {
		ctx := context.Background()
		if tn != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "x-test-tenant", tn)
			ctx = tenant.NewContext(ctx, acme) // the caller acts for acme
		}
		return metadata.AppendToOutgoingContext(ctx, extra...)
	}
	req := &healthpb.HealthCheckRequest{Service: ""}
	if _, err := client.Check(call("acme:pro"), req); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Check(call("acme:pro"), &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown service: %v", err)
	}
	if _, err := client.Check(call("acme:pro", "x-test-limit", "1"), req); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("limited: %v", err)
	}
	if _, err := client.Check(call(""), req); err != nil {
		t.Fatal(err)
	}
	// A stream: one message each way, then the client cancels.
	ctx, cancel := context.WithCancel(call("beta:free"))
	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: ""})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	srv.GracefulStop() // the stream handler has returned and recorded

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			got[mt.Name] = mt
		}
	}
	sums := func(name string) map[string]int64 {
		out := map[string]int64{}
		for _, dp := range got[name].Data.(metricdata.Sum[int64]).DataPoints {
			out[telAttr(dp.Attributes, telemetry.TenantIDKey)+"/"+telAttr(dp.Attributes, telemetry.TenantTierKey)+"/"+telAttr(dp.Attributes, telemetry.OutcomeKey)] += dp.Value
		}
		return out
	}
	wantReq := map[string]int64{"acme/pro/ok": 1, "acme/pro/client_error": 1, "acme/pro/rate_limited": 1, "//ok": 1, "beta/free/client_error": 1}
	if r := sums(telemetry.RequestsName); fmt.Sprint(r) != fmt.Sprint(wantReq) {
		t.Errorf("requests = %v\nwant %v", r, wantReq)
	}
	okResp := int64(proto.Size(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}))
	if out := sums(telemetry.ResponseSizeName); out["acme/pro/ok"] != okResp || out["beta/free/client_error"] != int64(proto.Size(first)) || okResp == 0 {
		t.Errorf("response bytes = %v (one response is %d bytes)", out, okResp)
	}
	if in := sums(telemetry.RequestSizeName); in["acme/pro/client_error"] != int64(proto.Size(&healthpb.HealthCheckRequest{Service: "nope"})) {
		t.Errorf("request bytes = %v", in)
	}

	// otelgrpc's client duration carries the guarded tenant attributes.
	found := false
	for name, mt := range got {
		if !strings.HasPrefix(name, "rpc.client.") {
			continue
		}
		if h, ok := mt.Data.(metricdata.Histogram[float64]); ok {
			for _, dp := range h.DataPoints {
				if telAttr(dp.Attributes, telemetry.TenantIDKey) == "acme" {
					found = true
				}
			}
		}
	}
	if !found {
		t.Error("no otelgrpc client metric carries tenant.id")
	}
}

// Chain the telemetry interceptors after authentication; on the client,
// give otelgrpc the tenant attributes of the caller's context.
func ExampleUnaryServerTelemetry() {
	m, err := telemetry.NewMetrics() // the global MeterProvider
	if err != nil {
		panic(err)
	}
	var verifier tenant.TokenVerifier // the service's verifier
	srv := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(verifier), grpcmw.UnaryServerTelemetry(m)),
		grpc.ChainStreamInterceptor(grpcmw.StreamServerAuthenticate(verifier), grpcmw.StreamServerTelemetry(m)),
	)
	defer srv.Stop()

	conn, err := grpc.NewClient("localhost:50051",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithMetricAttributesFn(m.TenantAttributes))),
	)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
}

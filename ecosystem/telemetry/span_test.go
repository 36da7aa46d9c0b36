package telemetry_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/telemetry/spanproc"
	"github.com/tenantkit/tenantkit/tenant"
)

// publicOr serves requests without credentials as a public route would,
// and all others through tenantkit's real authentication.
func publicOr(authed, public http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			public.ServeHTTP(w, r)
			return
		}
		authed.ServeHTTP(w, r)
	})
}

func authHTTP(v tenant.TokenVerifier, next http.Handler) http.Handler {
	return publicOr(httpmw.Authenticate(v)(next), next)
}

func authGRPC(v tenant.TokenVerifier) grpc.UnaryServerInterceptor {
	authed := grpcmw.UnaryServerAuthenticate(v)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if len(metadata.ValueFromIncomingContext(ctx, "authorization")) == 0 {
			return handler(ctx, req) // public
		}
		return authed(ctx, req, info, handler)
	}
}

// TestSpansCarryTenant sends a request through otelhttp and tenantkit's
// authentication to a handler that starts a child span and calls out over
// HTTP (otelhttp transport) and gRPC (otelgrpc stats handler), relaying the
// token with tenantkit's client adapters, to services that authenticate the
// same way. Every span of a request with a tenant carries it; no span of a
// request without one (a public route, calling out deliberately tenant-less)
// does.
func TestSpansCarryTenant(t *testing.T) {
	fx := tenanttest.New(t)
	relay := tenant.Relay{Verifier: fx.Verifier}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(spanproc.New()),
		sdktrace.WithSpanProcessor(rec),
	)
	defer tp.Shutdown(context.Background())
	prop := propagation.TraceContext{}

	// gRPC service on loopback.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop))),
		grpc.UnaryInterceptor(authGRPC(fx.Verifier)),
	)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop))),
		grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(relay)),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	healthClient := healthpb.NewHealthClient(conn)

	// Downstream HTTP service.
	downstream := httptest.NewServer(otelhttp.NewHandler(authHTTP(fx.Verifier, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})), "downstream", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop)))
	defer downstream.Close()
	outTransport := &http.Transport{}
	defer outTransport.CloseIdleConnections()
	outClient := &http.Client{Transport: httpmw.Transport(otelhttp.NewTransport(outTransport, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop)), relay)}

	// The service under test.
	front := httptest.NewServer(otelhttp.NewHandler(authHTTP(fx.Verifier, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("test").Start(r.Context(), "work")
		defer span.End()
		if _, ok := tenant.FromContext(ctx); !ok {
			ctx = tenant.WithoutTenant(ctx) // the public route calls out tenant-less on purpose
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, downstream.URL, nil)
		resp, err := outClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		if _, err := healthClient.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte("done"))
	})), "front", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop)))
	defer front.Close()
	inTransport := &http.Transport{}
	defer inTransport.CloseIdleConnections()

	call := func(cred string) []sdktrace.ReadOnlySpan {
		t.Helper()
		rec.Reset()
		req, _ := http.NewRequest(http.MethodGet, front.URL, nil)
		if cred != "" {
			req.Header.Set("Authorization", cred)
		}
		resp, err := (&http.Client{Transport: inTransport}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		// Server spans end after the response went out: wait for all six
		// (front server, work, HTTP client, downstream server, gRPC client,
		// gRPC server), for at most 5 s.
		deadline := time.Now().Add(5 * time.Second)
		for len(rec.Ended()) < 6 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		spans := rec.Ended()
		if len(spans) != 6 {
			t.Fatalf("%d spans ended, want 6", len(spans))
		}
		return spans
	}

	kinds := map[trace.SpanKind]int{}
	for _, s := range call("Bearer " + fx.Token("acme", "pro")) {
		kinds[s.SpanKind()]++
		var id, tier string
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case telemetry.TenantIDKey:
				id = kv.Value.AsString()
			case telemetry.TenantTierKey:
				tier = kv.Value.AsString()
			}
		}
		if id != "acme" || tier != "pro" {
			t.Errorf("span %q (%v): tenant.id=%q tenant.tier=%q", s.Name(), s.SpanKind(), id, tier)
		}
	}
	if kinds[trace.SpanKindServer] != 3 || kinds[trace.SpanKindClient] != 2 || kinds[trace.SpanKindInternal] != 1 {
		t.Errorf("span kinds = %v", kinds)
	}

	for _, s := range call("") {
		for _, kv := range s.Attributes() {
			if kv.Key == telemetry.TenantIDKey || kv.Key == telemetry.TenantTierKey {
				t.Errorf("span %q without a tenant carries %v", s.Name(), kv)
			}
		}
	}
}

func TestSpanProcessorDirect(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spanproc.New()), sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx := tenant.NewContext(context.Background(), mustTenant(t, "solo", ""))
	_, s := tp.Tracer("t").Start(ctx, "db.query", trace.WithSpanKind(trace.SpanKindClient))
	s.End()
	got := rec.Ended()[0].Attributes()
	if len(got) != 1 || got[0] != telemetry.TenantIDKey.String("solo") {
		t.Errorf("attributes = %v", got)
	}

	// SetSpanTenant ignores the zero tenant and non-recording spans.
	telemetry.SetSpanTenant(trace.SpanFromContext(context.Background()), mustTenant(t, "x", ""))
	_, s = tp.Tracer("t").Start(context.Background(), "plain")
	telemetry.SetSpanTenant(s, tenant.Tenant{})
	s.End()
	if a := rec.Ended()[1].Attributes(); len(a) != 0 {
		t.Errorf("attributes = %v", a)
	}
	// A tier change shows on the next span; the zero processor works too.
	for _, sp := range []sdktrace.SpanProcessor{spanproc.New(), &spanproc.Processor{}} {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithSpanProcessor(rec))
		for _, tier := range []string{"free", "pro"} {
			_, s := tp.Tracer("t").Start(tenant.NewContext(context.Background(), mustTenant(t, "acme", tier)), "op")
			s.End()
		}
		ended := rec.Ended()
		if a := ended[0].Attributes(); len(a) != 2 || a[1] != telemetry.TenantTierKey.String("free") {
			t.Errorf("first span: %v", a)
		}
		if a := ended[1].Attributes(); len(a) != 2 || a[1] != telemetry.TenantTierKey.String("pro") {
			t.Errorf("after the tier change: %v", a)
		}
		_ = tp.Shutdown(context.Background())
	}
	p := spanproc.New()
	if p.ForceFlush(context.Background()) != nil || p.Shutdown(context.Background()) != nil {
		t.Error("no-op methods returned errors")
	}
}

func TestAttributes(t *testing.T) {
	if a := telemetry.Attributes(tenant.Tenant{}); a != nil {
		t.Errorf("zero: %v", a)
	}
	if a := telemetry.Attributes(mustTenant(t, "a", "")); len(a) != 1 {
		t.Errorf("no tier: %v", a)
	}
	if a := telemetry.Attributes(mustTenant(t, "a", "pro")); len(a) != 2 || a[1] != telemetry.TenantTierKey.String("pro") {
		t.Errorf("tier: %v", a)
	}
}

// spanTenant returns the tenant.id and tenant.tier attributes of s, and how
// many of them it has.
func spanTenant(s sdktrace.ReadOnlySpan) (id, tier string, n int) {
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case telemetry.TenantIDKey:
			id, n = kv.Value.AsString(), n+1
		case telemetry.TenantTierKey:
			tier, n = kv.Value.AsString(), n+1
		}
	}
	return id, tier, n
}

// TestSpanProcessorTenants starts spans for more tenants than the processor
// caches attributes for, some without a tier, from several goroutines, with
// tiers that change along the way (run it with -race): every span must carry
// the tenant of its own context and nothing else. The span name says which.
func TestSpanProcessorTenants(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spanproc.New()), sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("t")
	const workers, perWorker = 4, 700
	n := telemetry.DefaultMaxTenants + 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				// Each round over the tenants uses another tier.
				k := i*workers + w
				id := fmt.Sprintf("t%d", k%n)
				tier := []string{"free", "pro", ""}[k/n%3]
				ctx := tenant.NewContext(context.Background(), mustTenant(t, id, tier))
				_, s := tracer.Start(ctx, id+"/"+tier)
				s.End()
			}
		})
	}
	wg.Wait()
	ended := rec.Ended()
	if len(ended) != workers*perWorker {
		t.Fatalf("%d spans, want %d", len(ended), workers*perWorker)
	}
	for _, s := range ended {
		id, tier, count := spanTenant(s)
		want := 2
		if tier == "" {
			want = 1
		}
		if id+"/"+tier != s.Name() || count != want {
			t.Fatalf("span %q: tenant.id=%q tenant.tier=%q (%d attributes)", s.Name(), id, tier, count)
		}
	}
}

package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/telemetry/spanproc"
)

// discardSpans is a span exporter that drops everything.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// chainSetup builds the full server chain of a tenantkit service:
// Authenticate (cached tokens), per-tenant metrics and usage on the
// OpenTelemetry SDK, and the in-process rate limiter; optionally behind
// otelhttp with an SDK tracer provider carrying the span processor. It
// returns the chain, one tenant's token and the issuer (for the mix).
func chainSetup(tb testing.TB, withOtelhttp bool) (http.Handler, string, *authntest.Issuer) {
	tb.Helper()
	s := newAuthSetup(tb)
	v, err := authn.NewVerifier([]authn.Issuer{{URL: s.idp.URL(), JWKSURL: s.idp.JWKSURL(), Audiences: []string{audience}}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spanproc.New()), sdktrace.WithBatcher(discardSpans{}))
	tb.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	usage, err := telemetry.NewUsage(telemetry.WithMeterProvider(mp))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = usage.Close() })
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp), telemetry.WithUsage(usage))
	if err != nil {
		tb.Fatal(err)
	}
	plans, err := ratelimit.NewPlans(ratelimit.Plan{Rate: ratelimit.PerSecond(1_000_000), Burst: 1_000_000}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	h := httpmw.Authenticate(v)(httpmw.Telemetry(m)(httpmw.RateLimit(mustLocal(tb), plans)(ok)))
	if withOtelhttp {
		h = otelhttp.NewHandler(h, "orders", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp))
	}
	return h, s.token, s.idp
}

func TestChain(t *testing.T) {
	for _, withOtel := range []bool{false, true} {
		h, token, _ := chainSetup(t, withOtel)
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("otelhttp=%v: status %d", withOtel, rec.Code)
		}
	}
}

// BenchmarkChain: a bare handler against the full server chain, for a
// tenant presenting the same token on every request and, in the "-1000"
// variants, for 1,000 tenants over three tiers taking turns (see
// mixRequests).
func BenchmarkChain(b *testing.B) {
	bench := func(b *testing.B, h http.Handler, token string) {
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	}
	b.Run("bare", func(b *testing.B) { bench(b, ok, "") })
	b.Run("tenantkit", func(b *testing.B) {
		h, token, _ := chainSetup(b, false)
		bench(b, h, token)
	})
	b.Run("tenantkit-1000", func(b *testing.B) {
		h, _, idp := chainSetup(b, false)
		benchMix(b, h, mixRequests(idp))
	})
	b.Run("tenantkit+otelhttp", func(b *testing.B) {
		h, token, _ := chainSetup(b, true)
		bench(b, h, token)
	})
	b.Run("tenantkit+otelhttp-1000", func(b *testing.B) {
		h, _, idp := chainSetup(b, true)
		benchMix(b, h, mixRequests(idp))
	})
	b.Run("otelhttp-only", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
		defer mp.Shutdown(context.Background())
		defer tp.Shutdown(context.Background())
		bench(b, otelhttp.NewHandler(ok, "orders", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp)), "")
	})
}

// mustLocal is ratelimit.NewLocal with its defaults.
func mustLocal(tb testing.TB) *ratelimit.Local {
	tb.Helper()
	l, err := ratelimit.NewLocal()
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

package httpmw_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/ecosystem/internal/metrictest"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// telStandIn plays the part of Authenticate in these tests: it trusts an
// "X-Test-Tenant: id:tier" header as it is, which only a test may do.
func telStandIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("X-Test-Tenant"); v != "" {
			id, tier, _ := strings.Cut(v, ":")
			t, err := tenant.New(id, tier)
			if err != nil {
				http.Error(w, "bad test tenant", http.StatusBadRequest)
				return
			}
			r = r.WithContext(tenant.NewContext(r.Context(), t))
		}
		next.ServeHTTP(w, r)
	})
}

func telReader(t testing.TB) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	return metrictest.Provider(t)
}

func telCollect(t testing.TB, r sdkmetric.Reader) map[string]metricdata.Metrics {
	return metrictest.Collect(t, r)
}

func telAttr(s attribute.Set, k attribute.Key) string { return metrictest.Attr(s, k) }

// telSums adds up an int64 sum per "tenant.id/tenant.tier/outcome".
func telSums(t testing.TB, m metricdata.Metrics) map[string]int64 {
	return metrictest.Sums(t, m, func(s attribute.Set) string {
		return telAttr(s, telemetry.TenantIDKey) + "/" + telAttr(s, telemetry.TenantTierKey) + "/" + telAttr(s, telemetry.OutcomeKey)
	})
}

func telServe(t *testing.T, h http.Handler, method, path, tenantHdr, body string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if tenantHdr != "" {
		req.Header.Set("X-Test-Tenant", tenantHdr)
	}
	rec := httptest.NewRecorder()
	func() {
		defer func() { _ = recover() }()
		h.ServeHTTP(rec, req)
	}()
	return rec
}

func TestTelemetryRecordsPerTenant(t *testing.T) {
	reader, mp := telReader(t)
	u, err := telemetry.NewUsage(telemetry.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp), telemetry.WithUsage(u))
	if err != nil {
		t.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			_, _ = w.Write(body)
		case "/missing":
			http.NotFound(w, r)
		case "/limited":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		case "/panic":
			panic("boom")
		case "/empty":
		}
	})
	h := telStandIn(httpmw.Telemetry(m)(app))

	telServe(t, h, "POST", "/echo", "acme:pro", "hello") // 5 in, 5 out
	telServe(t, h, "POST", "/echo", "acme:pro", "hi")    // 2 in, 2 out
	telServe(t, h, "GET", "/empty", "acme:pro", "")      // ok, nothing written
	telServe(t, h, "GET", "/missing", "acme:pro", "")    // 404
	telServe(t, h, "GET", "/limited", "beta:free", "")   // 429
	telServe(t, h, "GET", "/broken", "beta:free", "")    // 500
	telServe(t, h, "GET", "/panic", "beta:free", "")     // panic
	telServe(t, h, "POST", "/echo", "", "anonymous")     // no tenant

	got := telCollect(t, reader)
	wantReq := map[string]int64{
		"acme/pro/ok": 3, "acme/pro/client_error": 1,
		"beta/free/rate_limited": 1, "beta/free/server_error": 2,
		"//ok": 1,
	}
	if r := telSums(t, got[telemetry.RequestsName]); fmt.Sprint(r) != fmt.Sprint(wantReq) {
		t.Errorf("requests = %v\nwant %v", r, wantReq)
	}
	if in := telSums(t, got[telemetry.RequestSizeName]); in["acme/pro/ok"] != 7 || in["//ok"] != 9 {
		t.Errorf("request bytes = %v", in)
	}
	if out := telSums(t, got[telemetry.ResponseSizeName]); out["acme/pro/ok"] != 7 || out["acme/pro/client_error"] != int64(len("404 page not found\n")) {
		t.Errorf("response bytes = %v", out)
	}
	var n uint64
	for _, dp := range got[telemetry.DurationName].Data.(metricdata.Histogram[float64]).DataPoints {
		n += dp.Count
	}
	if n != 8 {
		t.Errorf("duration count = %d", n)
	}

	// The same requests were metered in the usage table (tenants only).
	rows := u.Current().Tenants
	if len(rows) != 2 || rows[0].TenantID != "acme" || rows[0].Requests != 4 || rows[0].BytesIn != 7 || rows[0].BytesOut != 7+19 ||
		rows[1].TenantID != "beta" || rows[1].Requests != 3 || rows[0].HandlerTime <= 0 {
		t.Errorf("usage = %+v", rows)
	}
}

// otelhttpLabeler is the WithLabeler hook the README shows: it adds the
// tenant attributes to otelhttp's Labeler.
func otelhttpLabeler(ctx context.Context, attrs []attribute.KeyValue) {
	if l, ok := otelhttp.LabelerFromContext(ctx); ok {
		l.Add(attrs...)
	}
}

// TestTelemetryOtelhttpLabeler checks that otelhttp's own metrics carry the
// tenant through its Labeler, with the cardinality guard applied.
func TestTelemetryOtelhttpLabeler(t *testing.T) {
	reader, mp := telReader(t)
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp), telemetry.WithMaxTenants(1))
	if err != nil {
		t.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	h := otelhttp.NewHandler(telStandIn(httpmw.Telemetry(m, httpmw.WithLabeler(otelhttpLabeler))(app)), "api", otelhttp.WithMeterProvider(mp))
	telServe(t, h, "GET", "/", "acme:pro", "")
	telServe(t, h, "GET", "/", "acme:pro", "")
	telServe(t, h, "GET", "/", "beta:free", "") // past the bound of 1
	telServe(t, h, "GET", "/", "", "")

	dur, ok := telCollect(t, reader)["http.server.request.duration"]
	if !ok {
		t.Fatal("otelhttp recorded no http.server.request.duration")
	}
	counts := map[string]uint64{}
	for _, dp := range dur.Data.(metricdata.Histogram[float64]).DataPoints {
		counts[telAttr(dp.Attributes, telemetry.TenantIDKey)+"/"+telAttr(dp.Attributes, telemetry.TenantTierKey)] += dp.Count
	}
	want := map[string]uint64{"acme/pro": 2, "_other/free": 1, "/": 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("otelhttp duration by tenant = %v, want %v", counts, want)
	}
}

// TestTelemetryWriterInterfaces runs a real server: the writer the handler
// gets still flushes and hijacks, and ResponseController reaches through it.
func TestTelemetryWriterInterfaces(t *testing.T) {
	_, mp := telReader(t)
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	// One channel per request: the /flush handler may still be running
	// when the client has its response and starts /hijack.
	results := map[string]chan string{"/flush": make(chan string, 2), "/hijack": make(chan string, 2)}
	srv := httptest.NewServer(httpmw.Telemetry(m)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, fl := w.(http.Flusher)
		_, hj := w.(http.Hijacker)
		out := results[r.URL.Path]
		out <- fmt.Sprint(fl, hj)
		if r.URL.Path == "/hijack" {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				out <- err.Error()
				return
			}
			defer conn.Close()
			_, _ = buf.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
			_ = buf.Flush()
			return
		}
		_, _ = w.Write([]byte("a"))
		out <- fmt.Sprint(http.NewResponseController(w).Flush())
	})))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	for _, path := range []string{"/flush", "/hijack"} {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if a, b, c := <-results["/flush"], <-results["/flush"], <-results["/hijack"]; a != "true true" || b != "<nil>" || c != "true true" {
		t.Errorf("flusher/hijacker = %q, flush error = %q, on hijack %q", a, b, c)
	}
}

// Record per-tenant metrics after authentication (a stand-in here) and
// read them back.
func ExampleTelemetry() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) })
	h := telStandIn(httpmw.Telemetry(m)(app)) // in production: Authenticate(v)(Telemetry(m)(app))

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Test-Tenant", "acme:pro")
	h.ServeHTTP(httptest.NewRecorder(), req)

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, mt := range rm.ScopeMetrics[0].Metrics {
		if mt.Name == telemetry.ResponseSizeName {
			dp := mt.Data.(metricdata.Sum[int64]).DataPoints[0]
			id, _ := dp.Attributes.Value(telemetry.TenantIDKey)
			fmt.Println(mt.Name, id.AsString(), dp.Value)
		}
	}
	// Output: tenantkit.server.response.size acme 5
}

// BenchmarkTelemetry serves one request with a tenant through a bare
// handler and through Telemetry (metrics and usage, SDK with a manual
// reader), with and without otelhttp's Labeler in the context;
// "telemetry-1000" rotates over 1,000 tenants in three tiers.
func BenchmarkTelemetry(b *testing.B) {
	_, mp := telReader(b)
	u, err := telemetry.NewUsage(telemetry.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp), telemetry.WithUsage(u))
	if err != nil {
		b.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) })
	acme, _ := tenant.New("acme", "pro")
	base := httptest.NewRequest("GET", "/", nil)
	for _, bc := range []struct {
		name    string
		h       http.Handler
		labeler bool
	}{
		{"bare", app, false},
		{"telemetry", httpmw.Telemetry(m)(app), false},
		{"telemetry-labeler", httpmw.Telemetry(m, httpmw.WithLabeler(otelhttpLabeler))(app), true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := tenant.NewContext(context.Background(), acme)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				c := ctx
				if bc.labeler {
					c = otelhttp.ContextWithLabeler(ctx, &otelhttp.Labeler{})
				}
				bc.h.ServeHTTP(w, base.WithContext(c))
				w.Body.Reset()
			}
		})
	}
	b.Run("telemetry-1000", func(b *testing.B) {
		h := httpmw.Telemetry(m)(app)
		ctxs := make([]context.Context, tenanttest.MixTenants)
		tiers := tenanttest.MixTiers()
		w := httptest.NewRecorder()
		for i := range ctxs {
			t, err := tenant.New(tenanttest.MixID(i), tiers[i%len(tiers)])
			if err != nil {
				b.Fatal(err)
			}
			ctxs[i] = tenant.NewContext(context.Background(), t)
			h.ServeHTTP(w, base.WithContext(ctxs[i])) // every tenant's series exists before the run
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			h.ServeHTTP(w, base.WithContext(ctxs[i]))
			w.Body.Reset()
			if i++; i == len(ctxs) {
				i = 0
			}
		}
	})
}

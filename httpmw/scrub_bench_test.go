package httpmw_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
)

// BenchmarkAuthenticateScrub measures Authenticate on a request with a
// cached bearer token and the headers a browser or a service client
// usually sends: "clean" has no spoofable header (the common case, which
// must not allocate for the scrub), "spoofed" carries two, "clean-1000"
// rotates over the cached tokens of 1,000 tenants in three tiers.
func BenchmarkAuthenticateScrub(b *testing.B) {
	f := newFixture(b)
	h := httpmw.Authenticate(f.v)(okHandler)
	base := http.Header{
		"Authorization":   {"Bearer " + f.token("acme", "gold")},
		"Accept":          {"application/json"},
		"Accept-Encoding": {"gzip"},
		"User-Agent":      {"orders-client/1.0"},
		"Traceparent":     {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		"Content-Type":    {"application/json"},
		"X-Request-Id":    {"7f1c"},
	}
	for _, bc := range []struct {
		name  string
		extra http.Header
	}{
		{"clean", nil},
		{"spoofed", http.Header{"X-Tenant-Id": {"victim"}, "Tenant-Id": {"victim"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
			rec := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				req.Header = make(http.Header, len(base)+len(bc.extra))
				for k, v := range base {
					req.Header[k] = v
				}
				for k, v := range bc.extra {
					req.Header[k] = v
				}
				h.ServeHTTP(rec, req)
			}
		})
	}
	b.Run("clean-1000", func(b *testing.B) {
		headers := make([]http.Header, 0, tenanttest.MixTenants)
		for _, tok := range tenanttest.Mix(tenanttest.MixTenants, f.Token) {
			hd := make(http.Header, len(base))
			for k, v := range base {
				hd[k] = v
			}
			hd["Authorization"] = []string{"Bearer " + tok}
			headers = append(headers, hd)
		}
		req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
		rec := httptest.NewRecorder()
		serve := func(hd http.Header) {
			req.Header = make(http.Header, len(hd))
			for k, v := range hd {
				req.Header[k] = v
			}
			h.ServeHTTP(rec, req)
		}
		for _, hd := range headers { // each token's first verification is cold
			serve(hd)
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			serve(headers[i])
			if i++; i == len(headers) {
				i = 0
			}
		}
	})
}

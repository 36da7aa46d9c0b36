package authorizer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
)

// discardWriter is an http.ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}

// BenchmarkDecision compares an authorizer's answer for a token the
// verifier has cached with httpmw.Authenticate on the same token and
// verifier: the cost of the authorizer over the middleware's decision is
// building the policy, the context and the usage plan key.
func BenchmarkDecision(b *testing.B) {
	iss := authntest.NewIssuer(b)
	v := authntest.NewVerifier(b, iss)
	token := iss.Token("acme", "pro")
	a, err := authorizer.New(v, authorizer.WithUsagePlanKeys(planKeys))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()

	h := httpmw.Authenticate(v)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	b.Run("httpmw.Authenticate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	})
	// The two in alternating blocks of 256 calls, so that both see the
	// same load on a shared machine; the metric is Token's time over
	// Authenticate's.
	b.Run("TokenOverAuthenticate", func(b *testing.B) {
		ev := tokenEvent(token)
		var auth, tok time.Duration
		for b.Loop() {
			start := time.Now()
			for range 256 {
				h.ServeHTTP(w, req)
			}
			mid := time.Now()
			for range 256 {
				_, _ = a.Token(ctx, ev)
			}
			auth, tok = auth+mid.Sub(start), tok+time.Since(mid)
		}
		b.ReportMetric(float64(tok)/float64(auth), "ratio")
	})
	b.Run("Token", func(b *testing.B) {
		ev := tokenEvent(token)
		if resp, err := a.Token(ctx, ev); err != nil || resp.PrincipalID != "acme" {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			_, _ = a.Token(ctx, ev)
		}
	})
	b.Run("Request", func(b *testing.B) {
		ev := requestEvent(map[string]string{"Authorization": "Bearer " + token, "Accept": "application/json", "Host": "api.example.com"}, nil)
		if resp, err := a.Request(ctx, ev); err != nil || resp.PrincipalID != "acme" {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			_, _ = a.Request(ctx, ev)
		}
	})
	b.Run("HTTPSimple", func(b *testing.B) {
		ev := httpEvent(map[string]string{"authorization": "Bearer " + token, "accept": "application/json", "host": "api.example.com"})
		if resp, err := a.HTTPSimple(ctx, ev); err != nil || !resp.IsAuthorized {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			_, _ = a.HTTPSimple(ctx, ev)
		}
	})
}

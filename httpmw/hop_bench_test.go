package httpmw_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

// handlerTransport delivers a request straight to a handler, so a hop
// benchmark measures the middleware and not the loopback network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

// BenchmarkHop measures one service-to-service hop: the client Transport
// injects the tenant, the server's Authenticate extracts and verifies it.
// "bare" is the same request with neither. "inproc" delivers the request to
// the handler in memory (the hop's own cost); "loopback" goes through a
// real HTTP server on 127.0.0.1. "cold" is the first call for a tenant:
// a fresh assertion signature and verification, or an uncached RS256 token.
// "inproc/relay-1000" relays the cached tokens of 1,000 tenants in three
// tiers in turn.
func BenchmarkHop(b *testing.B) {
	f := newFixture(b)
	tn, err := f.v.Verify(context.Background(), f.token("acme", "gold"))
	if err != nil {
		b.Fatal(err)
	}
	a := newRingAssertion(b, "orders")
	uncached, err := authn.NewVerifier([]authn.Issuer{{URL: f.idp.URL(), JWKSURL: f.idp.JWKSURL(), Audiences: []string{"api"}}}, authn.WithCacheSize(0))
	if err != nil {
		b.Fatal(err)
	}
	defer uncached.Close()

	type hop struct {
		name   string
		client func(http.RoundTripper) http.RoundTripper
		server func(http.Handler) http.Handler
	}
	hops := []hop{
		{"bare", func(rt http.RoundTripper) http.RoundTripper { return rt }, func(h http.Handler) http.Handler { return h }},
		{"relay", func(rt http.RoundTripper) http.RoundTripper { return httpmw.Transport(rt, tenant.Relay{Verifier: f.v}) }, httpmw.Authenticate(f.v)},
		{"assertion", func(rt http.RoundTripper) http.RoundTripper { return httpmw.Transport(rt, a) }, httpmw.Authenticate(nil, httpmw.WithAssertion(a))},
	}
	ctx := tenant.NewContext(context.Background(), tn)
	run := func(b *testing.B, client *http.Client, url string, ctxFor func(i int) context.Context) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctxFor(i), http.MethodGet, url, nil)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if resp.StatusCode != http.StatusNoContent {
				b.Fatalf("status %d", resp.StatusCode)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			i++
		}
	}
	same := func(int) context.Context { return ctx }
	for _, h := range hops {
		b.Run("inproc/"+h.name, func(b *testing.B) {
			client := &http.Client{Transport: h.client(handlerTransport{h.server(okHandler)})}
			run(b, client, "http://orders.internal/", same)
		})
	}
	for _, h := range hops {
		b.Run("loopback/"+h.name, func(b *testing.B) {
			srv := httptest.NewServer(h.server(okHandler))
			defer srv.Close()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: h.client(tr)}
			run(b, client, srv.URL, same)
		})
	}
	b.Run("inproc/relay-1000", func(b *testing.B) {
		var ctxs []context.Context
		for _, tok := range tenanttest.Mix(tenanttest.MixTenants, f.Token) {
			t, err := f.v.Verify(context.Background(), tok)
			if err != nil {
				b.Fatal(err)
			}
			ctxs = append(ctxs, tenant.NewContext(context.Background(), t))
		}
		client := &http.Client{Transport: httpmw.Transport(handlerTransport{httpmw.Authenticate(f.v)(okHandler)}, tenant.Relay{Verifier: f.v})}
		run(b, client, "http://orders.internal/", func(i int) context.Context { return ctxs[i%len(ctxs)] })
	})
	b.Run("inproc/relay-cold", func(b *testing.B) {
		client := &http.Client{Transport: httpmw.Transport(handlerTransport{httpmw.Authenticate(uncached)(okHandler)}, tenant.Relay{Verifier: uncached})}
		run(b, client, "http://orders.internal/", same)
	})
	b.Run("inproc/assertion-cold", func(b *testing.B) {
		// A new tenant on every call: one signature and one verification.
		client := &http.Client{Transport: httpmw.Transport(handlerTransport{httpmw.Authenticate(nil, httpmw.WithAssertion(a))(okHandler)}, a)}
		run(b, client, "http://orders.internal/", func(i int) context.Context {
			t, _ := tenant.New(fmt.Sprintf("cold-%d", i), "gold")
			return tenant.NewContext(context.Background(), t)
		})
	})
}

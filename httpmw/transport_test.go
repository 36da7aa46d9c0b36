package httpmw_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func newRingAssertion(t testing.TB, aud string) *authn.Assertion {
	return tenanttest.Assertion(t, aud)
}

// downstream is a real HTTP service behind Authenticate that reports the
// tenant it sees; hits counts requests that reached it at all.
func downstream(t *testing.T, v tenant.TokenVerifier, a *authn.Assertion) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	var opts []httpmw.AuthOption
	if a != nil {
		opts = append(opts, httpmw.WithAssertion(a))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		httpmw.Authenticate(v, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tn, _ := tenant.FromContext(r.Context())
			_, _ = io.WriteString(w, tn.ID())
		})).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func get(ctx context.Context, c *http.Client, url string) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestTransportPropagates(t *testing.T) {
	f := newFixture(t)
	for _, format := range []string{"relay", "assertion"} {
		t.Run(format, func(t *testing.T) {
			a := newRingAssertion(t, "orders")
			var p tenant.Propagator = tenant.Relay{Verifier: f.v}
			var srv *httptest.Server
			if format == "assertion" {
				p = a
				srv, _ = downstream(t, nil, a)
			} else {
				srv, _ = downstream(t, f.v, nil)
			}
			client := &http.Client{Transport: httpmw.Transport(nil, p)}
			tn, err := f.v.Verify(context.Background(), f.token("acme", "gold"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := tenant.NewContext(context.Background(), tn)
			code, body, err := get(ctx, client, srv.URL)
			if err != nil || code != 200 || body != "acme" {
				t.Fatalf("got %d %q %v", code, body, err)
			}
			// context.WithoutCancel keeps the tenant for legitimate
			// background work.
			code, body, err = get(context.WithoutCancel(ctx), client, srv.URL)
			if err != nil || code != 200 || body != "acme" {
				t.Fatalf("WithoutCancel: %d %q %v", code, body, err)
			}
		})
	}
}

func TestTransportFailsClosed(t *testing.T) {
	f := newFixture(t)
	srv, hits := downstream(t, f.v, nil)
	client := &http.Client{Transport: httpmw.Transport(nil, tenant.Relay{Verifier: f.v})}

	// The classic bug: work handed to a goroutine with context.Background()
	// loses the tenant. The call must not leave the process.
	errc := make(chan error, 1)
	go func() {
		_, _, err := get(context.Background(), client, srv.URL)
		errc <- err
	}()
	if err := <-errc; !errors.Is(err, tenant.ErrNoTenant) {
		t.Fatalf("background call: %v", err)
	}
	if hits.Load() != 0 {
		t.Fatal("a tenant-less request reached the server")
	}

	// A deliberately tenant-less call goes out without credentials.
	code, _, err := get(tenant.WithoutTenant(context.Background()), client, srv.URL)
	if err != nil || code != http.StatusUnauthorized || hits.Load() != 1 {
		t.Fatalf("tenant-less call: %d %v (hits %d)", code, err, hits.Load())
	}
}

func TestTransportMismatch(t *testing.T) {
	f := newFixture(t)
	srv, hits := downstream(t, f.v, nil)
	rt := httpmw.Transport(nil, tenant.Relay{Verifier: f.v})
	acme, _ := f.v.Verify(context.Background(), f.token("acme", ""))
	ctx := tenant.NewContext(context.Background(), acme)

	for name, auth := range map[string]string{
		"another tenant's token": "Bearer " + f.token("globex", ""),
		"unverifiable token":     "Bearer not.a.token",
	} {
		t.Run(name, func(t *testing.T) {
			body := &closeTracker{Reader: strings.NewReader("x")}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, body)
			req.Header.Set("Authorization", auth)
			_, err := rt.RoundTrip(req)
			if !errors.Is(err, tenant.ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
			if !body.closed.Load() {
				t.Fatal("refused request's body not closed")
			}
			if strings.Contains(err.Error(), "eyJ") {
				t.Fatal("error quotes a token")
			}
		})
	}
	if hits.Load() != 0 {
		t.Fatal("a mismatched request reached the server")
	}
}

func TestTransportDoesNotMutateRequest(t *testing.T) {
	f := newFixture(t)
	srv, _ := downstream(t, f.v, nil)
	rt := httpmw.Transport(nil, tenant.Relay{Verifier: f.v})
	acme, _ := f.v.Verify(context.Background(), f.token("acme", ""))
	req, _ := http.NewRequestWithContext(tenant.NewContext(context.Background(), acme), http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(req.Header) != 1 || req.Header.Get("Authorization") != "" {
		t.Fatalf("caller's request was modified: %v", req.Header)
	}
}

// Server side: a bearer token and an assertion that disagree are refused;
// spoofed headers never reach the handler.
func TestAuthenticateBothFormats(t *testing.T) {
	f := newFixture(t)
	a := newRingAssertion(t, "orders")
	h := httpmw.Authenticate(f.v, httpmw.WithAssertion(a))(http.HandlerFunc(whoami))
	acmeAssertion, _ := a.Mint(mustNew(t, "acme", "gold"))
	globexAssertion, _ := a.Mint(mustNew(t, "globex", "gold"))

	rec := do(t, h, http.Header{"Authorization": {"Bearer " + f.token("acme", "gold")}, "Tenant-Assertion": {acmeAssertion}, "X-Tenant-Id": {"victim"}})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"acme"`) || strings.Contains(rec.Body.String(), "victim") {
		t.Fatalf("agreeing credentials: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, h, http.Header{"Authorization": {"Bearer " + f.token("acme", "gold")}, "Tenant-Assertion": {globexAssertion}})
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("disagreeing credentials: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, h, http.Header{"Tenant-Assertion": {acmeAssertion}})
	if rec.Code != 200 {
		t.Fatalf("assertion alone: %d %s", rec.Code, rec.Body)
	}
	// A service that does not accept assertions ignores them entirely.
	bearerOnly := httpmw.Authenticate(f.v)(http.HandlerFunc(whoami))
	if rec := do(t, bearerOnly, http.Header{"Tenant-Assertion": {acmeAssertion}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("assertion to a bearer-only service: %d", rec.Code)
	}
}

func mustNew(t testing.TB, id, tier string) tenant.Tenant {
	t.Helper()
	tn, err := tenant.New(id, tier)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

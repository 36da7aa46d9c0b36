package httpmw_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

// publicSeen is what a handler behind Authenticate reports: its tenant, if
// any, the spoofable headers it can still read, and what an outgoing call
// made with its context does.
type publicSeen struct {
	Tenant   string `json:"tenant"`  // "" without one
	Spoofed  string `json:"spoofed"` // every spoofable header it can read
	Outgoing string `json:"outgoing"`
}

func publicHandler(w http.ResponseWriter, r *http.Request) {
	var s publicSeen
	if tn, ok := tenant.FromContext(r.Context()); ok {
		s.Tenant = tn.ID()
	}
	for _, k := range []string{"X-Tenant-ID", "Tenant-ID", "X-Tenant_ID", "Tenant-Assertion"} {
		s.Spoofed += strings.Join(r.Header.Values(k), ",")
	}
	// An outgoing call with the request's context: without a tenant it must
	// fail closed before any connection is made.
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://127.0.0.1:1/", nil)
	_, err := httpmw.Transport(nil, tenant.Relay{}).RoundTrip(req)
	switch {
	case errors.Is(err, tenant.ErrNoTenant):
		s.Outgoing = "ErrNoTenant"
	case err != nil:
		s.Outgoing = "other error"
	}
	_ = json.NewEncoder(w).Encode(s)
}

func publicPath(r *http.Request) bool {
	return r.URL.Path == "/healthz" || strings.HasPrefix(r.URL.Path, "/public/")
}

// The cases mirror TestPublicMethods of package grpcmw.
func TestAuthenticatePublicRoutes(t *testing.T) {
	f := newFixture(t)
	h := httpmw.Authenticate(f.v, httpmw.WithPublic(publicPath))(http.HandlerFunc(publicHandler))
	expired := f.idp.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "exp": time.Now().Add(-time.Minute).Unix()})
	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		status int
		tenant string
	}{
		{"public without credential", "/healthz", nil, 200, ""},
		{"public prefix without credential", "/public/docs", nil, 200, ""},
		{"public with spoofed tenant headers", "/healthz", http.Header{"X-Tenant-Id": {"victim"}, "Tenant-Id": {"victim"}, "X-Tenant_id": {"victim"}}, 200, ""},
		{"public with an unverified assertion", "/healthz", http.Header{"Tenant-Assertion": {"eyJhbGciOiJFUzI1NiJ9.e30.c2ln"}}, 200, ""},
		{"public with another auth scheme", "/healthz", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, 200, ""},
		{"public with a valid token", "/healthz", http.Header{"Authorization": {"Bearer " + f.token("acme", "gold")}, "X-Tenant-Id": {"victim"}}, 200, "acme"},
		{"public with a malformed token", "/healthz", http.Header{"Authorization": {"Bearer not-a-jwt"}}, 401, ""},
		{"public with an empty bearer", "/healthz", http.Header{"Authorization": {"Bearer "}}, 401, ""},
		{"public with an expired token", "/healthz", http.Header{"Authorization": {"Bearer " + expired}}, 401, ""},
		{"public with two tokens", "/healthz", http.Header{"Authorization": {"Bearer " + f.token("acme", ""), "Bearer " + f.token("victim", "")}}, 401, ""},
		{"public with a forbidden tenant", "/healthz", http.Header{"Authorization": {"Bearer " + f.token("suspended", "")}}, 403, ""},
		{"not public without credential", "/orders/42", nil, 401, ""},
		{"not public with spoofed tenant header", "/orders/42", http.Header{"X-Tenant-Id": {"acme"}}, 401, ""},
		{"not public with a valid token", "/orders/42", http.Header{"Authorization": {"Bearer " + f.token("acme", "")}}, 200, "acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.URL.Path = tc.path
			for k, vs := range tc.header {
				req.Header[k] = vs
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != 200 {
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("Content-Type %q", ct)
				}
				if tc.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
				}
				return
			}
			var got publicSeen
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Tenant != tc.tenant || got.Spoofed != "" {
				t.Fatalf("handler saw tenant %q and spoofed headers %q, want tenant %q and none", got.Tenant, got.Spoofed, tc.tenant)
			}
			if tc.tenant == "" && got.Outgoing != "ErrNoTenant" {
				t.Fatalf("outgoing call without a tenant: %q, want ErrNoTenant", got.Outgoing)
			}
		})
	}
}

// Without WithPublic nothing is public, and a request the predicate does not
// match is refused: the default stays closed.
func TestAuthenticateNothingPublicByDefault(t *testing.T) {
	f := newFixture(t)
	for name, h := range map[string]http.Handler{
		"no option":       httpmw.Authenticate(f.v)(http.HandlerFunc(publicHandler)),
		"never matches":   httpmw.Authenticate(f.v, httpmw.WithPublic(func(*http.Request) bool { return false }))(http.HandlerFunc(publicHandler)),
		"another matches": httpmw.Authenticate(f.v, httpmw.WithPublic(func(r *http.Request) bool { return r.URL.Path == "/other" }))(http.HandlerFunc(publicHandler)),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, rec.Code)
		}
	}
}

// Several WithPublic options add up, and the predicate cannot read a
// spoofable header either: it runs after they are removed.
func TestAuthenticateWithPublicOptionsAddUp(t *testing.T) {
	f := newFixture(t)
	var predicateSaw []string
	h := httpmw.Authenticate(f.v,
		httpmw.WithPublic(func(r *http.Request) bool { return r.URL.Path == "/a" }),
		httpmw.WithPublic(func(r *http.Request) bool {
			predicateSaw = append(predicateSaw, r.Header.Get("X-Tenant-ID"))
			return r.URL.Path == "/b"
		}),
	)(http.HandlerFunc(publicHandler))
	for path, want := range map[string]int{"/a": 200, "/b": 200, "/c": 401} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Tenant-ID", "victim")
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d", path, rec.Code, want)
		}
	}
	for _, v := range predicateSaw {
		if v != "" {
			t.Fatalf("the predicate read X-Tenant-ID %q", v)
		}
	}
}

// A spoofable trailer is removed on a public route as on any other.
func TestAuthenticatePublicRouteTrailers(t *testing.T) {
	f := newFixture(t)
	var trailer string
	h := httpmw.Authenticate(f.v, httpmw.WithPublic(publicPath))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = r.Body.Read(make([]byte, 16))
		_ = r.Body.Close()
		trailer = r.Trailer.Get("X-Tenant-ID")
	}))
	req := httptest.NewRequest(http.MethodPost, "/healthz", strings.NewReader("ping"))
	req.Trailer = http.Header{"X-Tenant-Id": {"victim"}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || trailer != "" {
		t.Fatalf("status %d, trailer %q", rec.Code, trailer)
	}
}

package httpmw_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

// whoami answers with the tenant the handler sees and any tenant header it
// can still read.
func whoami(w http.ResponseWriter, r *http.Request) {
	tn, err := tenant.Require(r.Context())
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{
		"id": tn.ID(), "tier": tn.Tier(),
		"x-tenant-id": r.Header.Get("X-Tenant-ID"), "tenant-id": r.Header.Get("Tenant-ID"),
	})
}

func do(t *testing.T, h http.Handler, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAuthenticateInChiRouter(t *testing.T) {
	f := tenanttest.New(t)
	r := chi.NewRouter()
	r.Use(httpmw.Authenticate(f.Verifier))
	r.Get("/orders/{id}", whoami)

	// A valid credential for acme plus spoofed headers naming another tenant:
	// the handler sees acme and cannot read the spoofed values.
	rec := do(t, r, http.Header{
		"Authorization": {"Bearer " + f.Token("acme", "gold")},
		"X-Tenant-Id":   {"victim"},
		"Tenant-Id":     {"victim"},
	})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var got map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &got)
	want := map[string]string{"id": "acme", "tier": "gold", "x-tenant-id": "", "tenant-id": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

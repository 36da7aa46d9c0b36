package httpmw_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
)

func TestAuthenticateInChiRouter(t *testing.T) {
	f := tenanttest.New(t)
	r := chi.NewRouter()
	r.Use(httpmw.Authenticate(f.Verifier))
	r.Get("/orders/{id}", tenanttest.Whoami)

	// A valid credential for acme plus spoofed headers naming another tenant:
	// the handler sees acme and cannot read the spoofed values.
	rec := tenanttest.Do(t, r, http.Header{
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

package tenanttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

// Whoami answers with the tenant the handler sees and any tenant header it
// can still read.
func Whoami(w http.ResponseWriter, r *http.Request) {
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

// Do serves one GET /orders/42 with header through h.
func Do(t *testing.T, h http.Handler, header http.Header) *httptest.ResponseRecorder {
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

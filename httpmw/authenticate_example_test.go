package httpmw_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

func ExampleWithPublic() {
	issuer, err := authn.Cognito("eu-west-1", "eu-west-1_AbCdEf123", authn.TokenUseAccess, "3n4b5urk1ft4fl3mg5e62d9ado")
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := authn.NewVerifier([]authn.Issuer{issuer})
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, ok := tenant.FromContext(r.Context()) // false without a credential
		fmt.Fprintf(w, "ok (tenant: %v, X-Tenant-ID: %q)", ok, r.Header.Get("X-Tenant-ID"))
	})
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		t, _ := tenant.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s", t.ID())
	})
	// Only GET /healthz is public; every other route still needs a token.
	h := httpmw.Authenticate(verifier, httpmw.WithPublic(func(r *http.Request) bool {
		return r.Method == http.MethodGet && r.URL.Path == "/healthz"
	}))(mux)

	for _, path := range []string{"/healthz", "/orders"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Tenant-ID", "acme") // never trusted: removed
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			fmt.Println(path, rec.Code, rec.Body)
		} else {
			fmt.Println(path, rec.Code)
		}
	}
	// Output:
	// /healthz 200 ok (tenant: false, X-Tenant-ID: "")
	// /orders 401
}

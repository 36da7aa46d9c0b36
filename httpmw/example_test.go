package httpmw_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

func ExampleAuthenticate() {
	idp, err := authntest.StartIssuer(authntest.WithAudience("orders-api")) // stands in for a Cognito user pool
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	verifier, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), Audiences: []string{"orders-api"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _ := tenant.FromContext(r.Context()) // always present behind Authenticate
		fmt.Fprintf(w, "orders of %s", t.ID())
	})
	srv := httptest.NewServer(httpmw.Authenticate(verifier)(orders))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+idp.Token("acme", ""))
	req.Header.Set("X-Tenant-ID", "someone-else") // removed before the handler runs
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	resp, err = http.Get(srv.URL) // no token
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	// Output:
	// 200 orders of acme
	// 401 Bearer
}

func ExampleTransport() {
	idp, err := authntest.StartIssuer(authntest.WithAudience("orders-api"))
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	verifier, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), Audiences: []string{"orders-api"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	// The ledger, another service, sees the caller's tenant.
	ledger := httptest.NewServer(httpmw.Authenticate(verifier)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _ := tenant.FromContext(r.Context())
		fmt.Fprintf(w, "balance of %s", t.ID())
	})))
	defer ledger.Close()

	// The orders service relays its caller's token to the ledger.
	client := &http.Client{Transport: httpmw.Transport(nil, tenant.Relay{Verifier: verifier})}
	orders := httpmw.Authenticate(verifier)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, ledger.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	}))

	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Set("Authorization", "Bearer "+idp.Token("acme", ""))
	rec := httptest.NewRecorder()
	orders.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// 200 balance of acme
}

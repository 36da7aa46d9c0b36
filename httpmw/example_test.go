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

// Package httpmw adapts tenantkit to net/http: middleware of the form
// func(http.Handler) http.Handler for servers, which works with chi,
// gorilla/mux and http.ServeMux alike, and an http.RoundTripper for
// clients.
//
// A server verifies the bearer token, records per-tenant metrics and
// limits each tenant under the plan of its tier; handlers read the proven
// tenant from the context:
//
//	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
//		t, _ := tenant.FromContext(r.Context())
//		fmt.Fprintf(w, "orders of %s", t.ID())
//	})
//	h := httpmw.Authenticate(verifier)(httpmw.Telemetry(metrics)(httpmw.RateLimit(limiter, plans)(mux)))
//	http.ListenAndServe(":8080", otelhttp.NewHandler(h, "api"))
//
// A client sends the tenant of each request's context on to the next
// service:
//
//	client := &http.Client{Transport: httpmw.Transport(nil, tenant.Relay{Verifier: verifier})}
//	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://ledger.internal/balance", nil)
//	resp, err := client.Do(req)
//
// Refusals are RFC 9457 problem details (application/problem+json), with an
// RFC 6750 challenge on 401; no response echoes a credential. Constructors
// panic on a nil dependency or an invalid option ([ErrInvalidOption]), when
// the middleware is built.
package httpmw

// Test files of this package share one TestMain (main_test.go) that checks
// for leaked goroutines.

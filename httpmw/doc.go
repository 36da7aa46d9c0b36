// Package httpmw adapts tenantkit to net/http: middleware of the form
// func(http.Handler) http.Handler for servers (works with chi, gorilla/mux
// and the standard ServeMux alike) and an http.RoundTripper for clients.
//
// Authenticate verifies the bearer token and puts the proven tenant in the
// request context. Errors are written as RFC 9457 problem details
// (application/problem+json), with an RFC 6750 WWW-Authenticate challenge on
// 401. No response ever echoes a credential.
//
// Test files of this package share one TestMain (main_test.go) that checks
// for leaked goroutines.
package httpmw

// Package tenant defines the tenant a request acts for, carries it in a
// context.Context, and states the contract by which it crosses process
// boundaries. It links no JWT library, HTTP client or SDK: it is the one
// package every layer of a service may import.
//
// Request handlers read the tenant that the server middleware (packages
// httpmw and grpcmw) put in the context:
//
//	func getOrder(w http.ResponseWriter, r *http.Request) {
//		t, err := tenant.Require(r.Context())
//		if err != nil { // no middleware ran: refuse, never guess
//			http.Error(w, "no tenant", http.StatusUnauthorized)
//			return
//		}
//		rows := db.QueryContext(r.Context(), q, t.ID())
//		...
//	}
//
// A Tenant enters a context only from proof: a verifier (package authn,
// or any TokenVerifier) or trusted code that calls New. Tenant IDs follow a
// strict rule (ValidateID), because they are pasted into IAM policies,
// storage keys, metric attributes and headers.
//
// # Propagation
//
// A Propagator carries the tenant to the next service through a Carrier
// (the method set of OpenTelemetry's TextMapCarrier), so one implementation
// serves HTTP headers and gRPC metadata. Relay sends the verified bearer
// token on; authn.Assertion sends a short-lived signed assertion. Client
// adapters apply CheckOutgoing, which fails closed: a call from a context
// without a tenant is refused with ErrNoTenant unless the context was
// marked WithoutTenant, and a call that already carries another tenant's
// credential is refused with ErrMismatch. Server adapters apply ExtractAny:
// every credential present must verify, and all must name one tenant.
//
// # Errors
//
// The error classes here are what every verifier returns and what the
// adapters map to a status: ErrInvalidToken (401 / Unauthenticated; a
// *TokenError names the reason), ErrForbidden (403 / PermissionDenied),
// ErrUnavailable (503 / Unavailable). No error message contains a
// credential.
package tenant

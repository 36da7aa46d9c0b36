// Package tenant defines the tenant a request acts for, carries it in a
// context.Context, and proves it from a verified JWT.
//
// A Tenant enters a program only through proof: a Verifier checks a bearer
// token against the keys of the issuer it names (Amazon Cognito or any
// OpenID Connect issuer) and returns the tenant from its claims, or a typed
// error. Transports (packages httpmw and grpcmw) put the result in the
// request's context with NewContext; everything downstream reads it with
// FromContext or Require. Nothing about a tenant lives outside the context.
//
// Tenant IDs are validated strictly (see ValidateID) because they are pasted
// into IAM policies, storage keys, metric attributes and headers.
//
// # Verification
//
// A Verifier trusts one or more issuers, each with its own key set, so a key
// of one issuer never verifies a token that claims another. Only asymmetric
// algorithms are accepted. Tokens offering their own keys (jku, x5u, jwk,
// x5c), critical extensions, no key ID, no expiry, or any of the other
// defects listed on the Err* variables are rejected. Key sets refresh in the
// background; an unknown key ID triggers at most one fetch per cooldown,
// shared by every request that needs it, and keys already held keep working
// while the issuer is unreachable. Keys and discovery documents are fetched
// over https only (plain http only from a loopback host), redirects
// included.
//
// With several issuers, each is bound to the tenants it may assert
// (Issuer.Tenants) or explicitly to all (Issuer.AnyTenant); Tenant.Issuer
// names the issuer of a verified Tenant. Tokens that never authenticate a
// request (OpenID Connect logout tokens, security event tokens, internal
// assertions) are refused by their "typ" header or "events" claim, and an
// issuer may require its own "typ" values (Issuer.Types). The claims of a
// token are decoded only after its signature verifies, so a forged token
// costs no more than a real one.
//
// Verified tokens are cached by their whole text until their expiry or until
// the key that verified them leaves the issuer's key set, so the common case
// (one token, many requests) costs a map lookup instead of an RSA
// verification. A WithCheck hook is not cached: it runs on every request.
//
// # Propagation
//
// A Propagator carries the tenant to the next service: Relay sends the
// verified bearer token on, and Assertion mints a short-lived signed
// assertion (EdDSA by default, keys in a KeyRing with key IDs for
// rotation) that the receiving service verifies. Both read and write a
// Carrier, the method set of OpenTelemetry's TextMapCarrier, so the same
// code serves HTTP headers and gRPC metadata. Client adapters apply
// CheckOutgoing and fail closed: a call from a context without a tenant is
// refused with ErrNoTenant unless the context was marked with
// WithoutTenant. Server adapters apply ExtractAny: when a request carries
// both formats, they must agree.
package tenant

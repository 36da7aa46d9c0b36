// Package authn proves the tenant of a request: it verifies bearer tokens
// from Amazon Cognito or any OpenID Connect issuer, and mints and verifies
// the signed assertions services pass on to each other.
//
//	issuer, err := authn.Cognito("eu-west-1", "eu-west-1_AbCdEf123", authn.TokenUseAccess, "app-client-id")
//	if err != nil { ... }
//	verifier, err := authn.NewVerifier([]authn.Issuer{issuer})
//	if err != nil { ... }
//	defer verifier.Close()
//	if err := verifier.Check(ctx); err != nil { // every issuer's keys, at startup
//		log.Fatal(err)
//	}
//	handler := httpmw.Authenticate(verifier)(mux)
//
// # Verification
//
// A Verifier trusts one or more issuers, each with its own key set, so a key
// of one issuer never verifies a token that claims another; with several
// issuers, each is bound to the tenants it may assert (Issuer.Tenants) or
// explicitly to all (Issuer.AnyTenant). Only asymmetric algorithms are
// accepted. Tokens that offer their own keys (jku, x5u, jwk, x5c), carry
// unknown critical extensions, lack a key ID or an expiry, or have any
// other defect listed on the Err* reasons are rejected with a
// *tenant.TokenError. Tokens that never authenticate a request (logout
// tokens, security event tokens, internal assertions) are refused by their
// "typ" header or "events" claim.
//
// Key sets are fetched over https (plain http only from a loopback host),
// refresh in the background, and keep working while the issuer is
// unreachable; an unknown key ID triggers at most one fetch per cooldown.
// A token whose issuer's keys were never fetched fails with an error
// matching ErrKeysUnavailable and the fetch's cause; WithFetchErrorHandler
// reports every failed fetch. Verified tokens are cached until their
// expiry or until their key leaves the key set; a WithCheck hook runs on
// every request.
//
// # Assertions
//
// An Assertion is a tenant.Propagator: the calling service mints a JWS of
// seconds' lifetime for the tenant in its context, and the receiving one
// verifies it against a KeyRing. Keys are shared through a secret store in
// standard formats: the private key as PKCS#8 PEM or a JWK, the public side
// as a JWK Set (PublicJWKS, ParsePublicJWKS).
package authn

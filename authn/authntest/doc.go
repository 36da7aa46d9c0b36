// Package authntest provides a real OpenID Connect issuer on loopback and
// assertion key rings, for testing code that authenticates tenants, as
// net/http/httptest does for HTTP handlers.
//
// An Issuer serves a discovery document and a JWK Set, mints tokens with
// chosen claims and keys, rotates keys, and fails on demand (Down,
// SetOutage, SetDelay). A handler chain test reads:
//
//	iss := authntest.NewIssuer(t)
//	h := httpmw.Authenticate(authntest.NewVerifier(t, iss))(orders)
//	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
//	req.Header.Set("Authorization", "Bearer "+iss.Token("acme", "gold"))
//	rec := httptest.NewRecorder()
//	h.ServeHTTP(rec, req) // orders sees tenant acme, tier gold
//
// Programs that are not tests, such as demos, use StartIssuer and Close.
// For service-to-service assertions, NewRing returns a key with a signing
// and a verify-only KeyRing for authn.NewAssertion.
package authntest

// Package directory answers, for a tenant ID, the tenant's lifecycle status
// (active, suspended, offboarded), its current tier, which overrides the
// credential's tier claim everywhere (limits, telemetry, credentials), and
// an optional plan override. [Memory] holds a directory in memory; [Cache]
// puts any [Directory] behind a bounded cache; [Verifier] wraps a
// credential verifier so that the server middleware refuses suspended,
// offboarded and unknown tenants (403 / PermissionDenied, saying which) and
// re-tiers the others:
//
//	dir, err := directory.LoadFile("tenants.json")
//	...
//	cache, err := directory.NewCache(dir) // 10 s TTL, 5 min stale on error
//	...
//	handler := httpmw.Authenticate(directory.Verifier(verifier, cache))(mux)
//	mux.Handle("POST /events/tenants", directory.EventHandler(cache))
//
// A change reaches a process when an invalidation arrives
// ([Cache.Invalidate], [EventHandler], a fleet feed) or at most the TTL
// later. While the directory cannot answer, an answer is served up to the
// max-stale window past its TTL; a tenant with nothing cached gets an error
// wrapping [ErrUnavailable] (503 / Unavailable) and is never admitted.
//
// The tier override is a new Tier of the Tenant in the request's context,
// so the limiter's plan (plans.For(t.Plan())), telemetry and credential
// vending all see it. A plan override changes only [tenant.Tenant.Plan]:
// the tenant keeps its tier in telemetry and credentials, and is limited by
// the plan of the tier named.
package directory

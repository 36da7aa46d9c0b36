// Package directory answers, for a tenant ID, the tenant's lifecycle status
// (active, suspended, offboarded), its current tier, which overrides the
// credential's tier claim everywhere (limits, telemetry, credentials), and
// an optional plan override. [Memory] holds a directory in memory; [Cache]
// puts any [Directory] behind a bounded cache with a TTL, stale answers
// while the directory fails, and merged misses; [Verifier] wraps a
// credential verifier so that the server middleware refuses suspended,
// offboarded and unknown tenants (403 / PermissionDenied) and re-tiers the
// others:
//
//	dir, err := directory.LoadFile("tenants.json")
//	cache, err := directory.NewCache(dir) // 10 s TTL, 5 min stale on error
//	mw := httpmw.Authenticate(directory.Verifier(verifier, cache))
//	mux.Handle("POST /events/tenants", directory.EventHandler(cache))
//
// A change reaches a process at most the TTL later, or as soon as an
// invalidation ([Cache.Invalidate], [EventHandler]) arrives.
package directory

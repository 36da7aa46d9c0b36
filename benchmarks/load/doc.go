// Package load is tenantkit's load harness: a server whose middleware
// stacks are selected by name, tokens of 1,000 tenants over three tiers for
// the load generators to rotate, a closed-loop gRPC load generator, the
// wrk runner with its token-rotating Lua script, and the report of
// interleaved rounds (medians, p50/p99 latency, ratios to the bare server
// of the same round).
//
// make load runs the full measurement (cmd/loadrun, with the server pinned
// to CPU 0 and the generators to CPU 1); make test runs a smoke round of
// every stack (TestSmoke). The results and the command that reproduces
// them are in results.md beside this file.
//
// Every stack wraps the same trivial handler. The floor stacks do only
// what a dependency of a middleware must do (a map lookup, a JWT
// verification, the OpenTelemetry SDK's instruments, a Redis round trip),
// so that a middleware's ratio can be read against what its dependency
// allows.
package load

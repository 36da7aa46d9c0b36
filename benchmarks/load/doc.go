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
// The gRPC generator is written here rather than taken from ghz (v0.93.0):
// ghz renders one metadata template per call, whose functions (newUUID,
// randomString, randomInt) cannot pick the next of 1,000 tokens without a
// template of 1,000 branches, rendered and parsed as JSON on every call,
// and its library form (a metadata provider function) builds a dynamic
// protobuf message per call and brings protoreflect into the module. On
// one generator CPU that would make the generator, not the server, the
// bottleneck. [GRPCLoad] builds each token's outgoing context once and
// calls grpc-go's Invoke in a closed loop, so a call costs the generator
// what grpc-go's client costs.
//
// Every stack wraps the same trivial handler. The floor stacks do only
// what a dependency of a middleware must do (a map lookup, a JWT
// verification, the OpenTelemetry SDK's instruments, a Redis round trip),
// so that a middleware's ratio can be read against what its dependency
// allows.
package load

// Package e2etest holds end-to-end tests that cross packages: a request
// travels HTTP edge → gRPC service → HTTP service on loopback, and every hop
// checks that it sees the tenant the client sent. It has no non-test code.
package e2etest

// Package benchmarks compares tenantkit with peer libraries. It is a
// separate module so that the peers never become dependencies of
// tenantkit's users. Run with `make bench` from the repository root; the
// results and the exact commands are in BENCHMARKS.md.
package benchmarks

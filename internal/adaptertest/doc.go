// Package adaptertest drives one table of cases through httpmw and grpcmw,
// each on a real loopback server, and checks that the two answer every
// case with the statuses of the same outcome. It has tests only.
package adaptertest

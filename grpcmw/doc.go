// Package grpcmw adapts tenantkit to gRPC: unary and stream interceptors for
// servers and clients, and an AuthFunc for the auth interceptors of
// go-grpc-middleware v2.
//
// The server interceptors verify the bearer token of the "authorization"
// metadata and put the proven tenant in the handler's context; failures
// return codes.Unauthenticated, codes.PermissionDenied or codes.Unavailable,
// mirroring package httpmw's HTTP statuses.
//
// Test files of this package share one TestMain (main_test.go) that checks
// for leaked goroutines.
package grpcmw

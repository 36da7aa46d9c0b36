// Package grpcmw adapts tenantkit to gRPC: server interceptors that
// authenticate, record per-tenant metrics and rate-limit, client
// interceptors that propagate the tenant, and an AuthFunc for the auth
// interceptors of go-grpc-middleware v2. Each reads as its httpmw
// counterpart: UnaryServerAuthenticate is httpmw.Authenticate,
// UnaryClientPropagate httpmw.Transport.
//
// A server verifies the bearer token of the "authorization" metadata;
// handlers read the proven tenant from the context:
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(
//			grpcmw.UnaryServerAuthenticate(verifier),
//			grpcmw.UnaryServerTelemetry(metrics),
//			grpcmw.UnaryServerRateLimit(limiter, plans)),
//		grpc.ChainStreamInterceptor(
//			grpcmw.StreamServerAuthenticate(verifier),
//			grpcmw.StreamServerTelemetry(metrics),
//			grpcmw.StreamServerRateLimit(limiter, plans)))
//
// A client sends the tenant of each call's context on to the next service:
//
//	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds),
//		grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(tenant.Relay{Verifier: verifier})),
//		grpc.WithStreamInterceptor(grpcmw.StreamClientPropagate(tenant.Relay{Verifier: verifier})))
//
// Failures are status errors whose codes mirror httpmw's statuses:
// Unauthenticated, PermissionDenied, Unavailable, ResourceExhausted.
// Constructors panic on a nil dependency or an invalid option
// ([ErrInvalidOption]), when the interceptor is built.
package grpcmw

// Test files of this package share one TestMain (main_test.go) that checks
// for leaked goroutines.

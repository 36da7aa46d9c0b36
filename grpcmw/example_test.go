package grpcmw_test

import (
	"log"

	"google.golang.org/grpc"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/tenant"
)

func ExampleUnaryServerInterceptor() {
	issuer, err := tenant.Cognito("eu-west-1", "eu-west-1_AbCdEf123", tenant.TokenUseAccess, "3n4b5urk1ft4fl3mg5e62d9ado")
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := tenant.NewVerifier([]tenant.Issuer{issuer})
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcmw.UnaryServerInterceptor(verifier)),
		grpc.ChainStreamInterceptor(grpcmw.StreamServerInterceptor(verifier)),
	)
	defer srv.Stop()
	// Register services on srv; their handlers call tenant.Require(ctx).
}

package grpcmw_test

import (
	"log"

	"google.golang.org/grpc"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/grpcmw"
)

func ExampleUnaryServerAuthenticate() {
	issuer, err := authn.Cognito("eu-west-1", "eu-west-1_AbCdEf123", authn.TokenUseAccess, "3n4b5urk1ft4fl3mg5e62d9ado")
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := authn.NewVerifier([]authn.Issuer{issuer})
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(verifier)),
		grpc.ChainStreamInterceptor(grpcmw.StreamServerAuthenticate(verifier)),
	)
	defer srv.Stop()
	// Register services on srv; their handlers call tenant.Require(ctx).
}

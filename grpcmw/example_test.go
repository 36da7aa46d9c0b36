package grpcmw_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/tenant"
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

func ExampleUnaryClientPropagate() {
	idp, err := authntest.StartIssuer(authntest.WithAudience("ledger"))
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	verifier, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), Audiences: []string{"ledger"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	// The ledger, another service, authenticates every call.
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(verifier)))
	grpc_health_v1.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	// A caller relays the token of the tenant in its context.
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(tenant.Relay{Verifier: verifier})))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := grpc_health_v1.NewHealthClient(conn)

	t, err := verifier.Verify(context.Background(), idp.Token("acme", "")) // as Authenticate does
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Check(tenant.NewContext(context.Background(), t), &grpc_health_v1.HealthCheckRequest{})
	fmt.Println("acme:", resp.GetStatus(), err)
	_, err = client.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{})
	fmt.Println("no tenant:", errors.Is(err, tenant.ErrNoTenant))
	// Output:
	// acme: SERVING <nil>
	// no tenant: true
}

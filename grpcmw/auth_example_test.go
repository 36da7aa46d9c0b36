package grpcmw_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/grpcmw"
)

func ExampleWithPublicMethods() {
	issuer, err := authn.Cognito("eu-west-1", "eu-west-1_AbCdEf123", authn.TokenUseAccess, "3n4b5urk1ft4fl3mg5e62d9ado")
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := authn.NewVerifier([]authn.Issuer{issuer})
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	// Probes call Check and Watch of the health service without a token;
	// every other method still needs one.
	public := grpcmw.WithPublicMethods(grpcmw.HealthMethods()...)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(verifier, public)),
		grpc.ChainStreamInterceptor(grpcmw.StreamServerAuthenticate(verifier, public)),
	)
	hs := health.NewServer()
	grpc_health_v1.RegisterHealthServer(srv, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := grpc_health_v1.NewHealthClient(conn)

	resp, err := client.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{})
	fmt.Println("Check:", resp.GetStatus(), err)
	_, err = client.List(context.Background(), &grpc_health_v1.HealthListRequest{})
	fmt.Println("List:", status.Code(err))
	// Output:
	// Check: SERVING <nil>
	// List: Unauthenticated
}

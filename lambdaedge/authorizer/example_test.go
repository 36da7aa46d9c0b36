package authorizer_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
)

func ExampleAuthorizer_Token() {
	idp, err := authntest.StartIssuer(authntest.WithAudience("orders-api")) // stands in for a Cognito user pool
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	verifier, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), Audiences: []string{"orders-api"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	a, err := authorizer.New(verifier, authorizer.WithUsagePlanKeys(map[string]string{
		"free": "free-usage-plan-key-0123456789",
		"pro":  "pro-usage-plan-key-01234567890",
	}))
	if err != nil {
		log.Fatal(err)
	}
	// In the function: lambda.Start(a.Token)
	resp, err := a.Token(context.Background(), events.APIGatewayCustomAuthorizerRequest{
		Type:               "TOKEN",
		AuthorizationToken: "Bearer " + idp.Token("acme", "pro"),
		MethodArn:          "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders",
	})
	if err != nil {
		log.Fatal(err)
	}
	st := resp.PolicyDocument.Statement[0]
	fmt.Println(resp.PrincipalID, resp.Context["tier"], resp.UsageIdentifierKey)
	fmt.Println(st.Effect, st.Resource[0])

	_, err = a.Token(context.Background(), events.APIGatewayCustomAuthorizerRequest{
		Type: "TOKEN", AuthorizationToken: "Bearer forged", MethodArn: "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders",
	})
	fmt.Println(err)
	// Output:
	// acme pro pro-usage-plan-key-01234567890
	// Allow arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*
	// Unauthorized
}

func ExampleParseMethodARN() {
	m, err := authorizer.ParseMethodARN("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/orders/42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.APIID, m.Stage, m.Method, m.Path)
	fmt.Println(m.StageResource())
	// Output:
	// a1b2c3d4e5 prod POST /orders/42
	// arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*
}

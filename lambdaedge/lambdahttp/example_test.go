package lambdahttp_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tenantkit/tenantkit/lambdaedge/lambdahttp"
	"github.com/tenantkit/tenantkit/tenant"
)

func ExampleNew() {
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _ := tenant.FromContext(r.Context()) // present: the adapter refuses requests without one
		fmt.Fprintf(w, "orders of %s (%s)", t.ID(), r.Header.Get("X-Tenant-ID"))
	})
	a, err := lambdahttp.New(orders)
	if err != nil {
		log.Fatal(err)
	}
	// In the function: lambda.Start(a.RESTProxy)
	resp, err := a.RESTProxy(context.Background(), events.APIGatewayProxyRequest{
		HTTPMethod: "GET",
		Path:       "/orders",
		Headers:    map[string]string{"X-Tenant-ID": "someone-else"}, // removed
		RequestContext: events.APIGatewayProxyRequestContext{
			// What API Gateway passes on from tenantkit's authorizer.
			Authorizer: map[string]any{"principalId": "acme", "tenantId": "acme", "tier": "pro"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, resp.Body)

	resp, _ = a.RESTProxy(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/orders"})
	fmt.Println(resp.StatusCode)
	// Output:
	// 200 orders of acme ()
	// 401
}

package lambdahttp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
	"github.com/tenantkit/tenantkit/lambdaedge/lambdahttp"
)

// benchHandler is a small JSON endpoint: what a warm function spends per
// request outside the handler's own work is the adapter's cost.
var benchHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Add("Set-Cookie", "a=1")
	_, _ = w.Write([]byte(`{"ok":true}`))
})

// benchHeaders are the headers of a typical browser request through API
// Gateway.
func benchHeaders() map[string]string {
	return map[string]string{
		"Accept": "application/json", "Accept-Encoding": "gzip, deflate, br", "Content-Type": "application/json",
		"Host": "api.example.com", "User-Agent": "Mozilla/5.0", "X-Amzn-Trace-Id": "Root=1-5e1b4151-5ac6c58f5b5dbd6a3b0e2d47",
		"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
	}
}

func BenchmarkRESTProxy(b *testing.B) {
	a, err := lambdahttp.New(benchHandler)
	if err != nil {
		b.Fatal(err)
	}
	ev := events.APIGatewayProxyRequest{
		Path: "/orders/42", HTTPMethod: "POST", Headers: benchHeaders(), MultiValueHeaders: map[string][]string{},
		QueryStringParameters: map[string]string{"q": "a b", "page": "2"}, MultiValueQueryStringParameters: map[string][]string{"q": {"a b"}, "page": {"2"}},
		Body: `{"item":"book"}`,
		RequestContext: events.APIGatewayProxyRequestContext{
			DomainName: "api.example.com", Authorizer: map[string]any{"principalId": "acme", authorizer.ContextTenantID: "acme", authorizer.ContextTier: "pro"},
			Identity: events.APIGatewayRequestIdentity{SourceIP: "198.51.100.7"},
		},
	}
	for k, v := range ev.Headers {
		ev.MultiValueHeaders[k] = []string{v}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := a.RESTProxy(ctx, ev); resp.StatusCode != http.StatusOK {
			b.Fatal(resp.StatusCode)
		}
	}
}

func BenchmarkHTTPAPI(b *testing.B) {
	a, err := lambdahttp.New(benchHandler)
	if err != nil {
		b.Fatal(err)
	}
	h := map[string]string{}
	for k, v := range benchHeaders() {
		h[http.CanonicalHeaderKey(k)] = v
	}
	lower := map[string]string{}
	for k, v := range h {
		lower[toLower(k)] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: "/orders/42", RawQueryString: "q=a%20b&page=2", Headers: lower, Cookies: []string{"session=s1", "theme=dark"},
		Body: `{"item":"book"}`,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "api.example.com",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/orders/42", SourceIP: "198.51.100.7"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{authorizer.ContextTenantID: "acme", authorizer.ContextTier: "pro"}},
		},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := a.HTTPAPI(ctx, ev); resp.StatusCode != http.StatusOK {
			b.Fatal(resp.StatusCode)
		}
	}
}

// BenchmarkUnauthorized is the cost of refusing a request without an
// authorizer context: the path a flood of direct invocations takes.
func BenchmarkUnauthorized(b *testing.B) {
	a, err := lambdahttp.New(benchHandler)
	if err != nil {
		b.Fatal(err)
	}
	ev := events.ALBTargetGroupRequest{HTTPMethod: "GET", Path: "/orders/42", Headers: benchHeaders()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := a.ALB(ctx, ev); resp.StatusCode != http.StatusUnauthorized {
			b.Fatal(resp.StatusCode)
		}
	}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

package lambdahttp_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/goleak"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
	"github.com/tenantkit/tenantkit/lambdaedge/lambdahttp"
	"github.com/tenantkit/tenantkit/tenant"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seen is what the test handler observed.
type seen struct {
	Tenant    string              `json:"tenant"`
	Tier      string              `json:"tier"`
	Issuer    string              `json:"issuer"`
	Method    string              `json:"method"`
	Path      string              `json:"path"`
	Query     string              `json:"query"`
	Body      string              `json:"body"`
	Host      string              `json:"host"`
	Remote    string              `json:"remote"`
	Spoofable map[string][]string `json:"spoofable"`
	Relayed   string              `json:"relayed"` // the error of tenant.Relay.Inject
	Asserted  bool                `json:"asserted"`
}

// whoami answers what the handler can read of the request, and checks the
// tenant is a proved one the library uses: an assertion can be minted for
// it, but no token relayed.
func whoami(t *testing.T) http.Handler {
	ring := authntest.NewRing(t)
	asrt, err := authn.NewAssertion(ring.Signing, "inventory")
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), Host: r.Host, Remote: r.RemoteAddr, Spoofable: map[string][]string{}}
		if tn, ok := tenant.FromContext(r.Context()); ok {
			s.Tenant, s.Tier, s.Issuer = tn.ID(), tn.Tier(), tn.Issuer()
			h := http.Header{}
			if err := (tenant.Relay{}).Inject(r.Context(), headerCarrier(h)); err != nil {
				s.Relayed = err.Error()
			}
			_, err := asrt.Mint(tn)
			s.Asserted = err == nil
		}
		for k, vs := range r.Header {
			if tenant.IsSpoofable(k) || k == "Tenant-Assertion" {
				s.Spoofable[k] = vs
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("X-Multi", "x")
		w.Header().Add("X-Multi", "y")
		_ = json.NewEncoder(w).Encode(s)
	})
}

type headerCarrier http.Header

func (h headerCarrier) Get(k string) string      { return http.Header(h).Get(k) }
func (h headerCarrier) Set(k, v string)          { http.Header(h).Set(k, v) }
func (h headerCarrier) Keys() []string           { return nil }
func (h headerCarrier) Values(k string) []string { return http.Header(h).Values(k) }

// restContext is what API Gateway puts in requestContext.authorizer for a
// Lambda authorizer's answer: principalId beside the context's values.
func restContext(id, tier string) map[string]any {
	return map[string]any{"principalId": id, authorizer.ContextTenantID: id, authorizer.ContextTier: tier, "integrationLatency": 12}
}

func restEvent(auth map[string]any) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{
		Resource: "/orders/{id}", Path: "/orders/42", HTTPMethod: "POST",
		Headers:                         map[string]string{"Host": "api.example.com", "Content-Type": "text/plain"},
		MultiValueHeaders:               map[string][]string{"Host": {"api.example.com"}, "Content-Type": {"text/plain"}},
		QueryStringParameters:           map[string]string{"q": "a b"},
		MultiValueQueryStringParameters: map[string][]string{"q": {"a b"}},
		Body:                            "hello",
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: "123456789012", Stage: "prod", DomainName: "api.example.com", APIID: "a1b2c3d4e5",
			HTTPMethod: "POST", Authorizer: auth, Identity: events.APIGatewayRequestIdentity{SourceIP: "198.51.100.7"},
		},
	}
}

func httpEvent(lambdaCtx map[string]any) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /orders/{id}", RawPath: "/orders/42", RawQueryString: "q=a%20b",
		Headers: map[string]string{"host": "api.example.com", "content-type": "text/plain"},
		Cookies: []string{"session=s1"},
		Body:    base64.StdEncoding.EncodeToString([]byte("hello")), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "123456789012", Stage: "$default", DomainName: "api.example.com", APIID: "a1b2c3d4e5",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/orders/42", SourceIP: "198.51.100.7"},
		},
	}
	if lambdaCtx != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambdaCtx}
	}
	return ev
}

func albEvent(multi bool, headers map[string]string) events.ALBTargetGroupRequest {
	ev := events.ALBTargetGroupRequest{
		HTTPMethod: "POST", Path: "/orders/42", Body: "hello",
		RequestContext: events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders/0123456789abcdef"}},
	}
	h := map[string]string{"host": "orders.example.com", "x-forwarded-for": "198.51.100.7", "content-type": "text/plain"}
	for k, v := range headers {
		h[k] = v
	}
	if multi {
		ev.MultiValueHeaders = map[string][]string{}
		for k, v := range h {
			ev.MultiValueHeaders[k] = []string{v}
		}
		ev.MultiValueQueryStringParameters = map[string][]string{"q": {"a%20b"}}
	} else {
		ev.Headers = h
		ev.QueryStringParameters = map[string]string{"q": "a%20b"}
	}
	return ev
}

func decode(t *testing.T, status int, body string, b64 bool) (int, seen) {
	t.Helper()
	if b64 {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			t.Fatal(err)
		}
		body = string(b)
	}
	var s seen
	if status == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
	}
	return status, s
}

func newAdapter(t *testing.T, opts ...lambdahttp.Option) *lambdahttp.Adapter {
	t.Helper()
	a, err := lambdahttp.New(whoami(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func checkTenant(t *testing.T, s seen, id, tier, issuer string) {
	t.Helper()
	if s.Tenant != id || s.Tier != tier {
		t.Fatalf("handler saw tenant %q tier %q, want %q %q", s.Tenant, s.Tier, id, tier)
	}
	if issuer != "" && s.Issuer != issuer {
		t.Fatalf("issuer %q, want %q", s.Issuer, issuer)
	}
	if !s.Asserted {
		t.Fatal("no assertion could be minted for the tenant")
	}
	if len(s.Spoofable) != 0 {
		t.Fatalf("handler still reads spoofable headers %v", s.Spoofable)
	}
}

func TestTenantReachesTheHandler(t *testing.T) {
	a := newAdapter(t)
	ctx := context.Background()

	resp, err := a.RESTProxy(ctx, restEvent(restContext("acme", "pro")))
	if err != nil {
		t.Fatal(err)
	}
	status, s := decode(t, resp.StatusCode, resp.Body, resp.IsBase64Encoded)
	if status != 200 {
		t.Fatalf("REST: status %d: %s", status, resp.Body)
	}
	checkTenant(t, s, "acme", "pro", lambdahttp.ProofIssuer)
	if s.Relayed != tenant.ErrNoCredential.Error() {
		t.Fatalf("Relay.Inject: %q, want ErrNoCredential (no token to relay)", s.Relayed)
	}
	if s.Method != "POST" || s.Path != "/orders/42" || s.Query != "q=a+b" || s.Body != "hello" || s.Host != "api.example.com" || s.Remote != "198.51.100.7:0" {
		t.Fatalf("REST request: %+v", s)
	}
	if got := resp.MultiValueHeaders["Set-Cookie"]; len(got) != 2 {
		t.Fatalf("REST Set-Cookie %v", got)
	}

	v2, err := a.HTTPAPI(ctx, httpEvent(map[string]any{authorizer.ContextTenantID: "acme", authorizer.ContextTier: "free"}))
	if err != nil {
		t.Fatal(err)
	}
	status, s = decode(t, v2.StatusCode, v2.Body, v2.IsBase64Encoded)
	if status != 200 {
		t.Fatalf("HTTP API: status %d: %s", status, v2.Body)
	}
	checkTenant(t, s, "acme", "free", lambdahttp.ProofIssuer)
	if s.Path != "/orders/42" || s.Query != "q=a%20b" || s.Body != "hello" {
		t.Fatalf("HTTP API request: %+v", s)
	}
	if len(v2.Cookies) != 2 || v2.Headers["X-Multi"] != "x,y" {
		t.Fatalf("HTTP API response: cookies %v, headers %v", v2.Cookies, v2.Headers)
	}
}

// The whole edge: the authorizer's answer, as API Gateway passes it on,
// proves the tenant to the adapter.
func TestAuthorizerAnswerToHandler(t *testing.T) {
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	v := authntest.NewVerifier(t, iss)
	az, err := authorizer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := az.Token(context.Background(), events.APIGatewayCustomAuthorizerRequest{
		Type: "TOKEN", AuthorizationToken: "Bearer " + iss.Token("acme", "pro"),
		MethodArn: "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders",
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]any{"principalId": ans.PrincipalID}
	for k, val := range ans.Context {
		auth[k] = val
	}
	resp, _ := newAdapter(t).RESTProxy(context.Background(), restEvent(auth))
	_, s := decode(t, resp.StatusCode, resp.Body, resp.IsBase64Encoded)
	checkTenant(t, s, "acme", "pro", lambdahttp.ProofIssuer)
}

func TestNoAuthorizerContextIsRefused(t *testing.T) {
	a := newAdapter(t)
	ctx := context.Background()
	bad := map[string]map[string]any{
		"none":                nil,
		"empty":               {},
		"Cognito claims only": {"claims": map[string]any{"custom:tenant_id": "acme"}},
		"no tier":             {"principalId": "acme", authorizer.ContextTenantID: "acme"},
		"wildcard tenant":     restContext("*", "pro"),
		"tenant with a slash": restContext("acme/../initech", "pro"),
		"bad tier":            restContext("acme", "pro tier"),
		"number tenant":       {"principalId": "acme", authorizer.ContextTenantID: 7, authorizer.ContextTier: "pro"},
		"principal disagrees": {"principalId": "initech", authorizer.ContextTenantID: "acme", authorizer.ContextTier: "pro"},
		"bad plan":            {"principalId": "acme", authorizer.ContextTenantID: "acme", authorizer.ContextTier: "pro", authorizer.ContextPlan: "*"},
	}
	for name, auth := range bad {
		resp, err := a.RESTProxy(ctx, restEvent(auth))
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("REST, %s: status %d, err %v; want 401", name, resp.StatusCode, err)
		}
		if name == "principal disagrees" {
			continue // HTTP API contexts carry no principalId
		}
		if auth != nil {
			delete(auth, "principalId")
		}
		v2, err := a.HTTPAPI(ctx, httpEvent(auth))
		if err != nil || v2.StatusCode != http.StatusUnauthorized {
			t.Errorf("HTTP API, %s: status %d, err %v; want 401", name, v2.StatusCode, err)
		}
	}
	// A JWT authorizer's claims are not a tenantkit authorizer context.
	ev := httpEvent(nil)
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"custom:tenant_id": "acme", "tenantId": "acme"}},
	}
	if v2, _ := a.HTTPAPI(ctx, ev); v2.StatusCode != http.StatusUnauthorized {
		t.Errorf("JWT authorizer claims: status %d, want 401", v2.StatusCode)
	}
	for _, multi := range []bool{false, true} {
		resp, err := a.ALB(ctx, albEvent(multi, nil))
		if err != nil || resp.StatusCode != http.StatusUnauthorized || resp.StatusDescription != "401 Unauthorized" {
			t.Errorf("ALB (multi %v): %d %q %v; want 401", multi, resp.StatusCode, resp.StatusDescription, err)
		}
	}
}

func TestSpoofingFails(t *testing.T) {
	a := newAdapter(t)
	ctx := context.Background()
	spoofHeaders := map[string]string{
		"X-Tenant-ID": "initech", "x-tenant-id": "initech", "X_Tenant_Id": "initech", "Tenant": "initech",
		"X-Tenant-Tier": "enterprise", "X-Amzn-Tenant-Id": "initech", "Tenant-Assertion": "eyJhbGciOiJFZERTQSJ9.e30.sig",
	}
	ev := restEvent(restContext("acme", "pro"))
	for k, v := range spoofHeaders {
		ev.Headers[k] = v
		ev.MultiValueHeaders[k] = []string{v, "globex"}
	}
	ev.QueryStringParameters["tenant"] = "initech"
	ev.MultiValueQueryStringParameters["tenantId"] = []string{"initech"}
	resp, _ := a.RESTProxy(ctx, ev)
	_, s := decode(t, resp.StatusCode, resp.Body, resp.IsBase64Encoded)
	checkTenant(t, s, "acme", "pro", lambdahttp.ProofIssuer)

	v2 := httpEvent(map[string]any{authorizer.ContextTenantID: "acme", authorizer.ContextTier: "pro"})
	for k, v := range spoofHeaders {
		v2.Headers[strings.ToLower(k)] = v
	}
	v2.RawQueryString = "tenantId=initech&tier=enterprise"
	r2, _ := a.HTTPAPI(ctx, v2)
	_, s = decode(t, r2.StatusCode, r2.Body, r2.IsBase64Encoded)
	checkTenant(t, s, "acme", "pro", lambdahttp.ProofIssuer)

	// Headers and query strings alone prove nothing.
	ev = restEvent(nil)
	for k, v := range spoofHeaders {
		ev.Headers[k] = v
	}
	ev.QueryStringParameters["tenantId"] = "acme"
	if resp, _ := a.RESTProxy(ctx, ev); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("spoofed headers without a context: status %d", resp.StatusCode)
	}
	if resp, _ := a.ALB(ctx, albEvent(false, map[string]string{"x-tenant-id": "acme", "x-amzn-oidc-data": "x"})); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ALB with spoofed headers: status %d", resp.StatusCode)
	}
}

func TestReverify(t *testing.T) {
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	v := authntest.NewVerifier(t, iss)
	a := newAdapter(t, lambdahttp.WithReverify(v))
	ctx := context.Background()
	good := "Bearer " + iss.Token("acme", "pro")

	// No authorizer context, a valid token: served, for every event type.
	ev := restEvent(nil)
	ev.Headers["Authorization"] = good
	ev.MultiValueHeaders["Authorization"] = []string{good}
	ev.Headers["X-Tenant-ID"] = "initech"
	resp, _ := a.RESTProxy(ctx, ev)
	_, s := decode(t, resp.StatusCode, resp.Body, resp.IsBase64Encoded)
	checkTenant(t, s, "acme", "pro", iss.URL())

	v2 := httpEvent(nil)
	v2.Headers["authorization"] = good
	r2, _ := a.HTTPAPI(ctx, v2)
	_, s = decode(t, r2.StatusCode, r2.Body, r2.IsBase64Encoded)
	checkTenant(t, s, "acme", "pro", iss.URL())

	for _, multi := range []bool{false, true} {
		r3, _ := a.ALB(ctx, albEvent(multi, map[string]string{"authorization": good, "x-tenant-id": "initech"}))
		_, s = decode(t, r3.StatusCode, r3.Body, r3.IsBase64Encoded)
		checkTenant(t, s, "acme", "pro", iss.URL())
		if s.Query != "q=a%20b" {
			t.Fatalf("ALB query %q: re-encoded", s.Query)
		}
		if multi && (len(r3.MultiValueHeaders["Set-Cookie"]) != 2 || r3.Headers != nil) {
			t.Fatalf("ALB multi-value response: %v / %v", r3.MultiValueHeaders, r3.Headers)
		}
		if !multi && (r3.MultiValueHeaders != nil || r3.Headers["Content-Type"] != "application/json") {
			t.Fatalf("ALB single-value response: %v / %v", r3.MultiValueHeaders, r3.Headers)
		}
	}

	// The authorizer context is ignored: the token decides.
	ev = restEvent(restContext("initech", "enterprise"))
	ev.Headers["Authorization"] = good
	resp, _ = a.RESTProxy(ctx, ev)
	_, s = decode(t, resp.StatusCode, resp.Body, resp.IsBase64Encoded)
	checkTenant(t, s, "acme", "pro", iss.URL())

	// A context and no token: refused.
	if resp, _ := a.RESTProxy(ctx, restEvent(restContext("acme", "pro"))); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("context without token under reverify: status %d", resp.StatusCode)
	}
	// Two tokens (multiValueHeaders): refused as ambiguous.
	ev = restEvent(nil)
	ev.MultiValueHeaders["Authorization"] = []string{good, "Bearer " + iss.Token("initech", "pro")}
	if resp, _ := a.RESTProxy(ctx, ev); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("two tokens: status %d", resp.StatusCode)
	}
	// Expired and forged tokens: refused.
	k, _ := authntest.NewKey("key-1", "ES256")
	for _, tok := range []string{
		iss.TokenWithClaims(map[string]any{"aud": iss.Audience(), "custom:tenant_id": "acme", "exp": 1000, "iat": 900}),
		k.Sign(nil, iss.Claims(map[string]any{"aud": iss.Audience(), "custom:tenant_id": "acme"})),
	} {
		ev = restEvent(nil)
		ev.Headers["Authorization"] = "Bearer " + tok
		resp, _ := a.RESTProxy(ctx, ev)
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(resp.Body, tok[len(tok)-8:]) {
			t.Fatalf("bad token: status %d, body %s", resp.StatusCode, resp.Body)
		}
	}
}

func TestMalformedEvents(t *testing.T) {
	a := newAdapter(t)
	ctx := context.Background()
	ev := restEvent(restContext("acme", "pro"))
	ev.Body, ev.IsBase64Encoded = "***", true
	if resp, _ := a.RESTProxy(ctx, ev); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad base64: %d", resp.StatusCode)
	}
	ev = restEvent(restContext("acme", "pro"))
	ev.HTTPMethod = "GET /x HTTP/1.1\r\n"
	if resp, _ := a.RESTProxy(ctx, ev); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad method: %d", resp.StatusCode)
	}
	v2 := httpEvent(map[string]any{authorizer.ContextTenantID: "acme", authorizer.ContextTier: "pro"})
	v2.RawPath = "http://evil.example/x"
	if resp, _ := a.HTTPAPI(ctx, v2); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("absolute rawPath: %d", resp.StatusCode)
	}
}

func TestBinaryResponse(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\xff")
	a, err := lambdahttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png)
	}))
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := a.RESTProxy(context.Background(), restEvent(restContext("acme", "pro")))
	if !resp.IsBase64Encoded || resp.Body != base64.StdEncoding.EncodeToString(png) {
		t.Fatalf("binary body: %+v", resp)
	}
}

func TestOptions(t *testing.T) {
	if _, err := lambdahttp.New(nil); !errors.Is(err, lambdahttp.ErrInvalidOption) {
		t.Errorf("nil handler: %v", err)
	}
	var mux *http.ServeMux
	if _, err := lambdahttp.New(mux); !errors.Is(err, lambdahttp.ErrInvalidOption) {
		t.Errorf("typed nil handler: %v", err)
	}
	var typed *authn.Verifier
	if _, err := lambdahttp.New(http.NotFoundHandler(), lambdahttp.WithReverify(typed)); !errors.Is(err, lambdahttp.ErrInvalidOption) {
		t.Errorf("typed nil verifier: %v", err)
	}
	for name, o := range map[string]lambdahttp.Option{
		"nil":              nil,
		"nil verifier":     lambdahttp.WithReverify(nil),
		"empty spoof name": lambdahttp.WithSpoofableHeaders(""),
	} {
		if _, err := lambdahttp.New(http.NotFoundHandler(), o); !errors.Is(err, lambdahttp.ErrInvalidOption) {
			t.Errorf("%s: %v", name, err)
		}
	}
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	v := authntest.NewVerifier(t, iss)
	if _, err := lambdahttp.New(http.NotFoundHandler(), lambdahttp.WithReverify(v, nil)); !errors.Is(err, lambdahttp.ErrInvalidOption) {
		t.Errorf("nil AuthOption: %v", err)
	}
	a, err := lambdahttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Customer")+r.Header.Get("X-Other"))
	}), lambdahttp.WithSpoofableHeaders("X-Customer"))
	if err != nil {
		t.Fatal(err)
	}
	ev := restEvent(restContext("acme", "pro"))
	ev.Headers["X-Customer"] = "initech"
	ev.Headers["X-Other"] = "kept"
	resp, _ := a.RESTProxy(context.Background(), ev)
	if resp.Body != "kept" {
		t.Fatalf("handler read %q, want only X-Other", resp.Body)
	}
}

func TestEventContextReachesTheHandler(t *testing.T) {
	var rest events.APIGatewayProxyRequestContext
	var v2 events.APIGatewayV2HTTPRequestContext
	var okREST, okV2 bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc, ok := lambdahttp.RESTRequestContext(r.Context()); ok {
			rest, okREST = rc, true
		}
		if rc, ok := lambdahttp.HTTPAPIRequestContext(r.Context()); ok {
			v2, okV2 = rc, true
		}
	})
	a, err := lambdahttp.New(h)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _ = a.RESTProxy(ctx, restEvent(restContext("acme", "pro")))
	_, _ = a.HTTPAPI(ctx, httpEvent(map[string]any{authorizer.ContextTenantID: "acme", authorizer.ContextTier: "pro"}))
	if !okREST || rest.APIID != "a1b2c3d4e5" || rest.Authorizer["tenantId"] != "acme" {
		t.Fatalf("REST request context: %v %+v", okREST, rest)
	}
	if !okV2 || v2.APIID != "a1b2c3d4e5" || v2.Authorizer == nil {
		t.Fatalf("HTTP API request context: %v %+v", okV2, v2)
	}

	// Under WithReverify the authorizer part is withheld: it is unchecked.
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	ra, err := lambdahttp.New(h, lambdahttp.WithReverify(authntest.NewVerifier(t, iss)))
	if err != nil {
		t.Fatal(err)
	}
	ev := restEvent(restContext("initech", "pro"))
	ev.Headers["Authorization"] = "Bearer " + iss.Token("acme", "pro")
	okREST = false
	_, _ = ra.RESTProxy(ctx, ev)
	if !okREST || rest.Authorizer != nil {
		t.Fatalf("reverify: request context %v, authorizer %v", okREST, rest.Authorizer)
	}
}

// Concurrent invocations of different tenants never see each other's
// tenant (one adapter serves them all, as a function instance does when
// the runtime reuses it, and as tests drive it in parallel).
func TestConcurrentTenantsStayApart(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tn, _ := tenant.FromContext(r.Context())
		_, _ = io.WriteString(w, tn.ID()+"|"+r.URL.Query().Get("want"))
	})
	a, err := lambdahttp.New(h)
	if err != nil {
		t.Fatal(err)
	}
	const tenants, perTenant = 8, 50
	errs := make(chan string, tenants*perTenant)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for i := range tenants {
			id := "tenant-" + strconv.Itoa(i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perTenant {
					ev := restEvent(restContext(id, "pro"))
					ev.MultiValueQueryStringParameters = map[string][]string{"want": {id}}
					resp, _ := a.RESTProxy(context.Background(), ev)
					if resp.Body != id+"|"+id {
						errs <- resp.Body
					}
				}
			}()
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("concurrent invocations did not finish in 30 s")
	}
	close(errs)
	for e := range errs {
		t.Errorf("a handler saw %q", e)
	}
}

package authorizer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/goleak"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	methodARN   = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders/42"
	routeARN    = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/GET/orders/42"
	freeKey     = "free-plan-key-0123456789abcdef"
	proKey      = "pro-plan-key-0123456789abcdefgh"
	suspendedID = "globex"
)

// planKeys is the usage plan key of each tier of the tests.
var planKeys = map[string]string{"free": freeKey, "pro": proKey}

// fixture is an issuer, a directory in which suspendedID is suspended, and
// an Authorizer over both that logs into logs.
type fixture struct {
	iss    *authntest.Issuer
	forger *authntest.Key // of the issuer's key ID, never published
	dir    *directory.Memory
	a      *authorizer.Authorizer
	mu     sync.Mutex
	logs   bytes.Buffer
}

func newFixture(t *testing.T, opts ...authorizer.Option) *fixture {
	t.Helper()
	f := &fixture{iss: authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))}
	v := authntest.NewVerifier(t, f.iss)
	f.dir = directory.NewMemory(map[string]directory.Entry{
		"acme":      {Status: directory.Active},
		"initech":   {Status: directory.Active},
		suspendedID: {Status: directory.Suspended},
	})
	cache, err := directory.NewCache(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(lockedWriter{f}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	all := append([]authorizer.Option{authorizer.WithUsagePlanKeys(planKeys), authorizer.WithDirectory(cache), authorizer.WithLogger(log)}, opts...)
	f.a, err = authorizer.New(v, all...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type lockedWriter struct{ f *fixture }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	return w.f.logs.Write(p)
}

func (f *fixture) logText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.String()
}

// tokens of each caller kind.
func (f *fixture) valid(id, tier string) string { return f.iss.Token(id, tier) }

func (f *fixture) expired(id, tier string) string {
	return f.iss.TokenWithClaims(map[string]any{
		"aud": f.iss.Audience(), "token_use": "id", "custom:tenant_id": id, "custom:tier": tier,
		"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix(),
	})
}

// forged is signed by a key of the same ID that the issuer never published.
func (f *fixture) forged(t *testing.T, id, tier string) string {
	if f.forger == nil {
		k, err := authntest.NewKey("key-1", "ES256")
		if err != nil {
			t.Fatal(err)
		}
		f.forger = k
	}
	return f.forger.Sign(nil, f.iss.Claims(map[string]any{
		"aud": f.iss.Audience(), "token_use": "id", "custom:tenant_id": id, "custom:tier": tier,
	}))
}

func tokenEvent(token string) events.APIGatewayCustomAuthorizerRequest {
	return events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + token, MethodArn: methodARN}
}

func requestEvent(headers map[string]string, multi map[string][]string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodARN, Resource: "/orders/{id}", Path: "/orders/42", HTTPMethod: "GET",
		Headers: headers, MultiValueHeaders: multi,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			AccountID: "123456789012", Stage: "prod", APIID: "a1b2c3d4e5", HTTPMethod: "GET", Path: "/prod/orders/42",
		},
	}
}

func httpEvent(headers map[string]string) events.APIGatewayV2CustomAuthorizerV2Request {
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", RouteArn: routeARN, RouteKey: "GET /orders/{id}",
		RawPath: "/orders/42", Headers: headers, IdentitySource: []string{headers["authorization"]},
	}
}

// result is one authorizer answer in a form common to every type.
type result struct {
	allowed   bool
	status    int // 401 for ErrUnauthorized, 500 for any other error
	principal string
	context   map[string]any
	planKey   string
	resource  []string
	raw       string // the JSON of the response and the error text
}

// authorizerType runs one authorizer type for a bearer token and extra
// headers.
type authorizerType struct {
	name string
	run  func(ctx context.Context, a *authorizer.Authorizer, token string, hdr map[string]string) result
}

var authorizerTypes = []authorizerType{
	{"token", func(ctx context.Context, a *authorizer.Authorizer, token string, _ map[string]string) result {
		resp, err := a.Token(ctx, tokenEvent(token))
		return policyResult(resp, err)
	}},
	{"request", func(ctx context.Context, a *authorizer.Authorizer, token string, hdr map[string]string) result {
		h := map[string]string{"Authorization": "Bearer " + token, "Accept": "application/json"}
		for k, v := range hdr {
			h[k] = v
		}
		multi := map[string][]string{}
		for k, v := range h {
			multi[k] = []string{v}
		}
		resp, err := a.Request(ctx, requestEvent(h, multi))
		return policyResult(resp, err)
	}},
	{"http-simple", func(ctx context.Context, a *authorizer.Authorizer, token string, hdr map[string]string) result {
		h := map[string]string{"authorization": "Bearer " + token}
		for k, v := range hdr {
			h[strings.ToLower(k)] = v
		}
		resp, err := a.HTTPSimple(ctx, httpEvent(h))
		r := result{allowed: resp.IsAuthorized, context: resp.Context, raw: rawOf(resp, err)}
		if err != nil {
			r.status = 500
		}
		return r
	}},
	{"http-iam", func(ctx context.Context, a *authorizer.Authorizer, token string, hdr map[string]string) result {
		h := map[string]string{"authorization": "Bearer " + token}
		for k, v := range hdr {
			h[strings.ToLower(k)] = v
		}
		resp, err := a.HTTPIAM(ctx, httpEvent(h))
		r := policyResult(events.APIGatewayCustomAuthorizerResponse{
			PrincipalID: resp.PrincipalID, PolicyDocument: resp.PolicyDocument, Context: resp.Context,
		}, err)
		r.raw = rawOf(resp, err)
		return r
	}},
}

func policyResult(resp events.APIGatewayCustomAuthorizerResponse, err error) result {
	r := result{principal: resp.PrincipalID, context: resp.Context, planKey: resp.UsageIdentifierKey, raw: rawOf(resp, err)}
	switch {
	case err != nil && err.Error() == "Unauthorized":
		r.status = 401
		return r
	case err != nil:
		r.status = 500
		return r
	}
	for _, s := range resp.PolicyDocument.Statement {
		r.resource = append(r.resource, s.Resource...)
	}
	r.allowed = len(resp.PolicyDocument.Statement) == 1 && resp.PolicyDocument.Statement[0].Effect == "Allow"
	return r
}

func rawOf(resp any, err error) string {
	b, _ := json.Marshal(resp)
	s := string(b)
	if err != nil {
		s += " " + err.Error()
	}
	return s
}

// iamMatch reports whether an IAM resource pattern matches an ARN: '*'
// matches any run of characters ('/' included), '?' any one character,
// and everything else itself, as IAM evaluates Resource elements.
func iamMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if iamMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && iamMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && iamMatch(pattern[1:], s[1:])
}

// allows reports whether a policy of these Allow resources admits arn.
func allows(resources []string, arn string) bool {
	for _, r := range resources {
		if iamMatch(r, arn) {
			return true
		}
	}
	return false
}

func directoryEntry(tier string) directory.Entry {
	return directory.Entry{Status: directory.Active, Tier: tier}
}

package authorizer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/isolation/vending"
	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
	"github.com/tenantkit/tenantkit/tenant"
)

// denied reports whether r refuses the caller the way its type must: 401
// for the TOKEN authorizer's bad credentials, an explicit deny otherwise.
func denied(t *testing.T, typ string, r result, want401 bool) {
	t.Helper()
	if r.allowed {
		t.Fatalf("%s: allowed, want a refusal: %s", typ, r.raw)
	}
	switch {
	case typ == "token" && want401:
		if r.status != 401 {
			t.Fatalf("%s: status %d, want the error Unauthorized: %s", typ, r.status, r.raw)
		}
	case r.status != 0:
		t.Fatalf("%s: error (status %d), want an explicit deny: %s", typ, r.status, r.raw)
	case typ == "http-simple":
		// isAuthorized false is the explicit deny of simple responses.
	default:
		if len(r.resource) != 1 || !strings.Contains(r.raw, `"Effect":"Deny"`) {
			t.Fatalf("%s: want one Deny statement: %s", typ, r.raw)
		}
		if r.context != nil || r.planKey != "" {
			t.Fatalf("%s: a deny carries a context or usage key: %s", typ, r.raw)
		}
	}
}

func TestCallersOfEveryAuthorizerType(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cases := []struct {
		name    string
		token   func() string
		allow   bool
		want401 bool // for the TOKEN authorizer
	}{
		{"valid", func() string { return f.valid("acme", "pro") }, true, false},
		{"expired", func() string { return f.expired("acme", "pro") }, false, true},
		{"forged", func() string { return f.forged(t, "acme", "pro") }, false, true},
		{"suspended", func() string { return f.valid(suspendedID, "pro") }, false, false},
		{"unknown tenant", func() string { return f.valid("nobody", "pro") }, false, false},
		{"tier without a usage plan", func() string { return f.valid("initech", "enterprise") }, false, false},
		{"garbage", func() string { return "not.a.jwt" }, false, true},
		{"empty", func() string { return "" }, false, true},
	}
	for _, typ := range authorizerTypes {
		for _, c := range cases {
			t.Run(typ.name+"/"+c.name, func(t *testing.T) {
				token := c.token()
				r := typ.run(ctx, f.a, token, nil)
				if c.allow {
					if !r.allowed {
						t.Fatalf("refused: %s", r.raw)
					}
					if r.context[authorizer.ContextTenantID] != "acme" || r.context[authorizer.ContextTier] != "pro" {
						t.Fatalf("context %v, want tenantId acme, tier pro", r.context)
					}
					if typ.name != "http-simple" && r.principal != "acme" {
						t.Fatalf("principalId %q, want acme", r.principal)
					}
				} else {
					denied(t, typ.name, r, c.want401)
				}
				if len(token) > 8 && strings.Contains(r.raw+f.logText(), token[len(token)-8:]) {
					t.Fatalf("the token appears in the output or the log")
				}
			})
		}
	}
}

func TestUsagePlanKeyPerTier(t *testing.T) {
	f := newFixture(t)
	for _, typ := range []string{"token", "request"} {
		for tier, key := range planKeys {
			var r result
			for _, at := range authorizerTypes {
				if at.name == typ {
					r = at.run(context.Background(), f.a, f.valid("acme", tier), nil)
				}
			}
			if !r.allowed || r.planKey != key {
				t.Fatalf("%s, tier %s: allowed %v, usageIdentifierKey %q, want %q", typ, tier, r.allowed, r.planKey, key)
			}
		}
	}
	// HTTP APIs have no usage plans: no key leaves the authorizer.
	resp, err := f.a.HTTPIAM(context.Background(), httpEvent(map[string]string{"authorization": "Bearer " + f.valid("acme", "pro")}))
	if err != nil || strings.Contains(rawOf(resp, err), proKey) {
		t.Fatalf("HTTP API response carries the usage plan key or failed: %v", err)
	}
}

func TestDirectoryTierDecidesThePlan(t *testing.T) {
	f := newFixture(t)
	f.dir.Set("acme", directoryEntry("free"))
	// The token says pro; the directory says free, and wins.
	resp, err := f.a.Token(context.Background(), tokenEvent(f.valid("acme", "pro")))
	if err != nil || resp.UsageIdentifierKey != freeKey || resp.Context[authorizer.ContextTier] != "free" {
		t.Fatalf("got key %q, context %v, err %v; want the free plan", resp.UsageIdentifierKey, resp.Context, err)
	}
}

// A decision API Gateway caches for a token is reused for every method the
// caller calls next with that token; the policy must allow all of them,
// and nothing outside the API's stage.
func TestCachedPolicyCoversEveryMethodOfTheStage(t *testing.T) {
	f := newFixture(t)
	others := []string{
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/orders",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/DELETE/orders/42/items/7",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/OPTIONS/health",
	}
	outside := []string{
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/staging/GET/orders/42",
		"arn:aws:execute-api:eu-west-1:123456789012:zzzzzzzzzz/prod/GET/orders/42",
		"arn:aws:execute-api:eu-west-1:210987654321:a1b2c3d4e5/prod/GET/orders/42",
		"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/orders/42",
	}
	for _, typ := range authorizerTypes {
		if typ.name == "http-simple" {
			continue // no policy: API Gateway caches the boolean per identity source
		}
		r := typ.run(context.Background(), f.a, f.valid("acme", "pro"), nil)
		if !r.allowed {
			t.Fatalf("%s: refused: %s", typ.name, r.raw)
		}
		arns := others
		if typ.name == "http-iam" {
			arns = []string{
				"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/POST/orders",
				"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/$default",
			}
		}
		for _, arn := range arns {
			if !allows(r.resource, arn) {
				t.Errorf("%s: cached policy %v does not allow %s", typ.name, r.resource, arn)
			}
		}
		if typ.name != "http-iam" {
			for _, arn := range outside {
				if allows(r.resource, arn) {
					t.Errorf("%s: policy %v allows %s", typ.name, r.resource, arn)
				}
			}
		}
	}
	// A policy naming the one method ARN would not: the matcher tells.
	if allows([]string{methodARN}, others[0]) {
		t.Fatal("the matcher admits another method for a one-method policy")
	}
}

func TestRequestAuthorizerCredentialRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good := "Bearer " + f.valid("acme", "pro")
	other := "Bearer " + f.valid("initech", "pro")
	cases := []struct {
		name   string
		single map[string]string
		multi  map[string][]string
		allow  bool
	}{
		{"plain", map[string]string{"Authorization": good}, map[string][]string{"Authorization": {good}}, true},
		{"header claims another tenant", map[string]string{"Authorization": good, "X-Tenant-ID": "initech", "Tenant": "initech"},
			map[string][]string{"Authorization": {good}, "X-Tenant-ID": {"initech"}, "Tenant": {"initech"}}, true},
		{"two tokens in multiValueHeaders", map[string]string{"Authorization": good}, map[string][]string{"Authorization": {good, other}}, false},
		{"two letter cases", map[string]string{"Authorization": good, "authorization": other}, nil, false},
		{"single and multi disagree", map[string]string{"Authorization": other}, map[string][]string{"Authorization": {good}}, false},
		{"no Authorization", map[string]string{"X-Tenant-ID": "acme"}, map[string][]string{"X-Tenant-ID": {"acme"}}, false},
		{"basic scheme", map[string]string{"Authorization": "Basic YWNtZTpwdw=="}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := f.a.Request(ctx, requestEvent(c.single, c.multi))
			r := policyResult(resp, err)
			if c.allow {
				if !r.allowed || r.principal != "acme" || r.context[authorizer.ContextTenantID] != "acme" {
					t.Fatalf("want acme allowed: %s", r.raw)
				}
				return
			}
			denied(t, "request", r, false)
		})
	}
}

func TestUnavailableIsAnErrorNotACachedDeny(t *testing.T) {
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	token := iss.Token("acme", "pro")
	iss.Down() // the verifier never gets the keys
	v := authntest.NewVerifier(t, iss)
	a, err := authorizer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Token(ctx, tokenEvent(token)); !errors.Is(err, authorizer.ErrUnavailable) {
		t.Fatalf("Token: %v, want ErrUnavailable", err)
	}
	if _, err := a.Request(ctx, requestEvent(map[string]string{"Authorization": "Bearer " + token}, nil)); !errors.Is(err, authorizer.ErrUnavailable) {
		t.Fatalf("Request: %v, want ErrUnavailable", err)
	}
	if _, err := a.HTTPSimple(ctx, httpEvent(map[string]string{"authorization": "Bearer " + token})); !errors.Is(err, authorizer.ErrUnavailable) {
		t.Fatalf("HTTPSimple: %v, want ErrUnavailable", err)
	}
	if _, err := a.HTTPIAM(ctx, httpEvent(map[string]string{"authorization": "Bearer " + token})); !errors.Is(err, authorizer.ErrUnavailable) {
		t.Fatalf("HTTPIAM: %v, want ErrUnavailable", err)
	}
	if _, err := a.Token(ctx, tokenEvent(token)); err != nil && strings.Contains(err.Error(), token[len(token)-8:]) {
		t.Fatal("the error echoes the token")
	}
}

func TestMalformedMethodARNIsDenied(t *testing.T) {
	f := newFixture(t)
	ev := tokenEvent(f.valid("acme", "pro"))
	for _, arn := range []string{"", "arn:aws:execute-api:eu-west-1:123456789012:*/prod/GET/", "arn:aws:lambda:eu-west-1:123456789012:function:x"} {
		ev.MethodArn = arn
		resp, err := f.a.Token(context.Background(), ev)
		r := policyResult(resp, err)
		if r.allowed || err != nil || len(r.resource) != 1 || r.resource[0] != "*" {
			t.Fatalf("methodArn %q: %s, want a Deny of everything", arn, r.raw)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	store := apikey.NewMemory()
	mgr, err := apikey.NewManager(store)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := apikey.NewVerifier(store)
	if err != nil {
		t.Fatal(err)
	}
	acmeKey, _, err := mgr.Create(ctx, "acme", apikey.CreateOptions{Tier: "pro"})
	if err != nil {
		t.Fatal(err)
	}
	suspendedKey, _, err := mgr.Create(ctx, suspendedID, apikey.CreateOptions{Tier: "pro"})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, authorizer.WithAPIKeys(keys))

	// As a bearer token, in every authorizer type.
	for _, typ := range authorizerTypes {
		if r := typ.run(ctx, f.a, acmeKey, nil); !r.allowed || r.context[authorizer.ContextTenantID] != "acme" {
			t.Fatalf("%s: API key refused: %s", typ.name, r.raw)
		}
		denied(t, typ.name, typ.run(ctx, f.a, suspendedKey, nil), false)
	}
	// In X-API-Key, for REQUEST and HTTP API authorizers.
	resp, err := f.a.Request(ctx, requestEvent(map[string]string{"X-API-Key": acmeKey}, nil))
	if r := policyResult(resp, err); !r.allowed || r.planKey != proKey {
		t.Fatalf("X-API-Key: %s", r.raw)
	}
	simple, err := f.a.HTTPSimple(ctx, httpEvent(map[string]string{"x-api-key": acmeKey}))
	if err != nil || !simple.IsAuthorized {
		t.Fatalf("x-api-key: %v %v", simple, err)
	}
	// A key and a token of different tenants: refused.
	resp, err = f.a.Request(ctx, requestEvent(map[string]string{"X-API-Key": acmeKey, "Authorization": "Bearer " + f.valid("initech", "pro")}, nil))
	denied(t, "request", policyResult(resp, err), false)
	if strings.Contains(f.logText(), acmeKey[len(acmeKey)-10:]) {
		t.Fatal("the log holds the API key")
	}
}

func TestOptions(t *testing.T) {
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	v := authntest.NewVerifier(t, iss)
	bad := map[string][]authorizer.Option{
		"nil option":         {nil},
		"no plan keys":       {authorizer.WithUsagePlanKeys(nil)},
		"bad tier":           {authorizer.WithUsagePlanKeys(map[string]string{"pro*": proKey})},
		"short key":          {authorizer.WithUsagePlanKeys(map[string]string{"pro": "short"})},
		"key with a space":   {authorizer.WithUsagePlanKeys(map[string]string{"pro": "0123456789 0123456789"})},
		"nil directory":      {authorizer.WithDirectory(nil)},
		"nil API keys":       {authorizer.WithAPIKeys(nil)},
		"bad API key header": {authorizer.WithAPIKeyHeader("X Key")},
		"nil logger":         {authorizer.WithLogger(nil)},
		"nil credential src": {authorizer.WithCredentials(nil, 0)},
	}
	for name, opts := range bad {
		if _, err := authorizer.New(v, opts...); !errors.Is(err, authorizer.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		} else if strings.Contains(err.Error(), "0123456789") {
			t.Errorf("%s: the error echoes a key: %v", name, err)
		}
	}
	if _, err := authorizer.New(nil); !errors.Is(err, authorizer.ErrInvalidOption) {
		t.Errorf("nil verifier: %v", err)
	}
	var typed *authn.Verifier
	if _, err := authorizer.New(typed); !errors.Is(err, authorizer.ErrInvalidOption) {
		t.Errorf("typed nil verifier: %v", err)
	}
	var vendor *vending.Vendor
	if _, err := authorizer.New(v, authorizer.WithCredentials(vendor, 0)); !errors.Is(err, authorizer.ErrInvalidOption) {
		t.Errorf("typed nil vendor: %v", err)
	}
	var tv tenant.TokenVerifier = v
	if _, err := authorizer.New(tv, authorizer.WithAPIKeyHeader("X-Tenant-Key")); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

//go:build linux

package runtimetest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn/authntest"
)

const (
	freeKey = "free-plan-key-0123456789abcdef"
	proKey  = "pro-plan-key-0123456789abcdefgh"
)

// event returns testdata/name with ${TOKEN} replaced by token, changed by
// edit (nil for none).
func event(tb testing.TB, name, token string, edit func(map[string]any)) json.RawMessage {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	data = []byte(strings.ReplaceAll(string(data), "${TOKEN}", token))
	if edit == nil {
		return data
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		tb.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// tokens mints the callers of the tests.
type tokens struct {
	valid, free, expired, forged, suspended string
}

func newTokens(tb testing.TB, iss *authntest.Issuer) tokens {
	forger, err := authntest.NewKey("key-1", "ES256")
	if err != nil {
		tb.Fatal(err)
	}
	claims := func(id string) map[string]any {
		return map[string]any{"aud": iss.Audience(), "token_use": "id", "custom:tenant_id": id, "custom:tier": "pro"}
	}
	exp := claims("acme")
	exp["iat"], exp["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
	return tokens{
		valid:     iss.Token("acme", "pro"),
		free:      iss.Token("initech", "free"),
		expired:   iss.TokenWithClaims(exp),
		forged:    forger.Sign(nil, iss.Claims(claims("acme"))),
		suspended: iss.Token("globex", "pro"),
	}
}

func (tk tokens) all() []string {
	return []string{tk.valid, tk.free, tk.expired, tk.forged, tk.suspended}
}

// tails returns the last bytes of each token (their signatures), which no
// output may contain.
func (tk tokens) tails() []string {
	var out []string
	for _, t := range tk.all() {
		out = append(out, t[len(t)-16:])
	}
	return out
}

func issuerEnv(iss *authntest.Issuer) []string {
	return []string{
		"TENANTKIT_ISSUER_URL=" + iss.URL(),
		"TENANTKIT_JWKS_URL=" + iss.JWKSURL(),
		"TENANTKIT_AUDIENCE=" + iss.Audience(),
	}
}

// startAll starts one function per name (TENANTKIT_FN and env) at once.
func startAll(t *testing.T, env []string, names ...string) map[string]*fn {
	fns := make(map[string]*fn, len(names))
	for _, n := range names {
		fnName, mode, _ := strings.Cut(n, "+")
		e := append([]string{"TENANTKIT_FN=" + fnName}, env...)
		if mode == "reverify" {
			e = append(e, "TENANTKIT_REVERIFY=1")
		}
		fns[n] = start(t, e...)
	}
	return fns
}

func TestAuthorizersUnderTheRuntime(t *testing.T) {
	t.Parallel()
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	tk := newTokens(t, iss)
	env := append(issuerEnv(iss), "TENANTKIT_PLAN_KEYS=free="+freeKey+",pro="+proKey, "TENANTKIT_SUSPENDED=globex")
	names := []string{"token", "request", "http-simple", "http-iam"}
	fns := startAll(t, env, names...)
	files := map[string]string{"token": "token-authorizer.json", "request": "request-authorizer.json",
		"http-simple": "http-authorizer.json", "http-iam": "http-authorizer.json"}

	type answer struct {
		PrincipalID        string         `json:"principalId"`
		IsAuthorized       *bool          `json:"isAuthorized"`
		Context            map[string]any `json:"context"`
		UsageIdentifierKey string         `json:"usageIdentifierKey"`
		PolicyDocument     struct {
			Statement []struct {
				Effect   string
				Resource []string
			}
		} `json:"policyDocument"`
	}
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := fns[name]
			call := func(token string) (answer, string, string) {
				var a answer
				raw, herr, took := f.invoke(t, event(t, files[name], token, nil), &a)
				times.add(name, took)
				return a, herr, raw
			}
			allowed := func(a answer) bool {
				if a.IsAuthorized != nil {
					return *a.IsAuthorized
				}
				return len(a.PolicyDocument.Statement) == 1 && a.PolicyDocument.Statement[0].Effect == "Allow"
			}
			// The first invocation is the cold start: process, runtime
			// client, verifier and the first key fetch.
			a, herr, raw := call(tk.valid)
			if herr != "" || !allowed(a) || a.Context["tenantId"] != "acme" || a.Context["tier"] != "pro" {
				t.Errorf("%s: valid caller: %s", name, raw)
				return
			}
			if name != "http-simple" {
				if a.PrincipalID != "acme" || !strings.HasSuffix(a.PolicyDocument.Statement[0].Resource[0], "a1b2c3d4e5/"+map[bool]string{true: "$default", false: "prod"}[strings.HasPrefix(name, "http")]+"/*") {
					t.Errorf("%s: principal or resource: %s", name, raw)
				}
			}
			wantKey := map[bool]string{true: proKey, false: ""}[name == "token" || name == "request"]
			if a.UsageIdentifierKey != wantKey {
				t.Errorf("%s: usageIdentifierKey %q, want %q", name, a.UsageIdentifierKey, wantKey)
			}
			if a, _, raw := call(tk.free); name == "token" || name == "request" {
				if a.UsageIdentifierKey != freeKey || a.Context["tier"] != "free" {
					t.Errorf("%s: free tier: %s", name, raw)
				}
			}
			for what, token := range map[string]string{"expired": tk.expired, "forged": tk.forged, "suspended": tk.suspended} {
				a, herr, raw := call(token)
				switch {
				case name == "token" && what != "suspended":
					if herr != "Unauthorized" {
						t.Errorf("%s, %s: %s, want the error Unauthorized", name, what, raw)
					}
				case herr != "" || allowed(a) || a.Context != nil:
					t.Errorf("%s, %s: %s, want an explicit deny", name, what, raw)
				case a.IsAuthorized == nil && (len(a.PolicyDocument.Statement) != 1 || a.PolicyDocument.Statement[0].Effect != "Deny"):
					t.Errorf("%s, %s: %s, want a Deny statement", name, what, raw)
				}
				if containsAny(raw, tk.tails()...) {
					t.Errorf("%s, %s: the answer holds a token", name, what)
				}
			}
			// Warm invocations of the cached token.
			for range 20 {
				if a, _, raw := call(tk.valid); !allowed(a) {
					t.Errorf("%s: warm: %s", name, raw)
					return
				}
			}
			if out := f.output(); containsAny(out, tk.tails()...) {
				t.Errorf("%s: the function's output holds a token", name)
			} else if !strings.Contains(out, "authorizer: deny") {
				t.Errorf("%s: the decisions were not logged:\n%s", name, out)
			}
		}()
	}
	wg.Wait()
	t.Logf("function binary built in %v", build.took.Round(time.Millisecond))
	times.report(t, names...)
}

// seen is what the test function's handler answers.
type seen struct {
	Tenant    string   `json:"tenant"`
	Tier      string   `json:"tier"`
	Issuer    string   `json:"issuer"`
	Method    string   `json:"method"`
	Path      string   `json:"path"`
	Query     string   `json:"query"`
	Spoofable []string `json:"spoofable"`
}

// response is the part of the three response shapes the tests read.
type response struct {
	StatusCode        int                 `json:"statusCode"`
	StatusDescription string              `json:"statusDescription"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

func (r response) seen(tb testing.TB) seen {
	tb.Helper()
	var s seen
	if r.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(r.Body), &s); err != nil {
			tb.Fatalf("body %q: %v", r.Body, err)
		}
	}
	return s
}

func noAuthorizer(m map[string]any) {
	rc, _ := m["requestContext"].(map[string]any)
	delete(rc, "authorizer")
}

func claimInitech(m map[string]any) {
	rc, _ := m["requestContext"].(map[string]any)
	if _, ok := rc["http"]; ok {
		rc["authorizer"] = map[string]any{"lambda": map[string]any{"tenantId": "initech", "tier": "enterprise"}}
		return
	}
	rc["authorizer"] = map[string]any{"principalId": "initech", "tenantId": "initech", "tier": "enterprise"}
}

func multiValue(m map[string]any) {
	h, _ := m["headers"].(map[string]any)
	mv := map[string]any{}
	for k, v := range h {
		mv[k] = []any{v}
	}
	mv["x-tenant-id"] = []any{"initech", "globex"}
	m["multiValueHeaders"] = mv
	delete(m, "headers")
	q, _ := m["queryStringParameters"].(map[string]any)
	mq := map[string]any{}
	for k, v := range q {
		mq[k] = []any{v}
	}
	m["multiValueQueryStringParameters"] = mq
	delete(m, "queryStringParameters")
}

func TestAdaptersUnderTheRuntime(t *testing.T) {
	t.Parallel()
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	tk := newTokens(t, iss)
	names := []string{"rest", "http", "alb", "rest+reverify", "http+reverify", "alb+reverify"}
	fns := startAll(t, issuerEnv(iss), names...)
	files := map[string]string{"rest": "rest-proxy.json", "http": "http-api.json", "alb": "alb.json"}

	type step struct {
		what   string
		token  string
		edit   func(map[string]any)
		status int // 200: the handler saw acme/pro
	}
	plan := map[string][]step{
		"rest": {
			{"authorizer context", tk.valid, nil, 200},
			{"no authorizer context", tk.valid, noAuthorizer, 401},
			{"context of another tenant", tk.valid, claimInitech, -1}, // served as the context says
		},
		"http": {
			{"authorizer context", tk.valid, nil, 200},
			{"no authorizer context", tk.valid, noAuthorizer, 401},
		},
		"alb": {
			{"valid token, no authorizer", tk.valid, nil, 401},
			{"multi-value, valid token", tk.valid, multiValue, 401},
		},
		"rest+reverify": {
			{"valid token", tk.valid, noAuthorizer, 200},
			{"context claims another tenant", tk.valid, claimInitech, 200},
			{"expired token", tk.expired, noAuthorizer, 401},
			{"forged token", tk.forged, noAuthorizer, 401},
		},
		"http+reverify": {
			{"valid token", tk.valid, noAuthorizer, 200},
			{"context claims another tenant", tk.valid, claimInitech, 200},
			{"forged token", tk.forged, noAuthorizer, 401},
		},
		"alb+reverify": {
			{"valid token", tk.valid, nil, 200},
			{"multi-value, valid token", tk.valid, multiValue, 200},
			{"expired token", tk.expired, nil, 401},
		},
	}
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := fns[name]
			base, _, _ := strings.Cut(name, "+")
			run := func(s step) {
				var r response
				raw, herr, took := f.invoke(t, event(t, files[base], s.token, s.edit), &r)
				times.add(name, took)
				if herr != "" {
					t.Errorf("%s, %s: handler error %s", name, s.what, raw)
					return
				}
				if r.IsBase64Encoded {
					t.Errorf("%s, %s: JSON answered as base64", name, s.what)
				}
				got := r.seen(t)
				switch {
				case s.status == -1:
					if r.StatusCode != 200 || got.Tenant != "initech" {
						t.Errorf("%s, %s: %s", name, s.what, raw)
					}
				case r.StatusCode != s.status:
					t.Errorf("%s, %s: status %d, want %d: %s", name, s.what, r.StatusCode, s.status, raw)
				case s.status == 200 && (got.Tenant != "acme" || got.Tier != "pro" || got.Path != "/orders/42" || got.Method != "POST"):
					t.Errorf("%s, %s: handler saw %+v", name, s.what, got)
				case s.status == 200 && len(got.Spoofable) != 0:
					t.Errorf("%s, %s: handler read spoofable headers %v", name, s.what, got.Spoofable)
				}
				if base == "alb" && s.edit != nil && r.MultiValueHeaders == nil {
					t.Errorf("%s, %s: a multi-value request answered with single-value headers", name, s.what)
				}
				if containsAny(raw, tk.tails()...) {
					t.Errorf("%s, %s: the answer holds a token", name, s.what)
				}
			}
			for _, s := range plan[name] {
				run(s)
			}
			for range 20 {
				run(plan[name][0])
			}
		}()
	}
	wg.Wait()
	times.report(t, names...)
}

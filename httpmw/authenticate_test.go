package httpmw_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

type fixture struct {
	idp *authntest.Issuer
	v   *authn.Verifier
	*tenanttest.Fixture
}

func newFixture(t testing.TB) *fixture {
	f := tenanttest.New(t)
	return &fixture{idp: f.IDP, v: f.Verifier, Fixture: f}
}

func (f *fixture) token(id, tier string) string { return f.Token(id, tier) }

// whoami and do are shared with the ecosystem module's router tests.
var (
	whoami = tenanttest.Whoami
	do     = tenanttest.Do
)

func TestAuthenticateErrors(t *testing.T) {
	f := newFixture(t)
	h := httpmw.Authenticate(f.v, httpmw.WithRealm("orders"))(http.HandlerFunc(whoami))
	expired := f.idp.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "exp": time.Now().Add(-time.Minute).Unix()})
	cases := []struct {
		name       string
		auth       []string
		status     int
		challenge  string
		noEchoPart string
	}{
		{"no header", nil, 401, `Bearer realm="orders"`, ""},
		{"basic scheme", []string{"Basic dXNlcjpwYXNz"}, 401, `Bearer realm="orders"`, ""},
		{"empty bearer", []string{"Bearer "}, 401, `Bearer realm="orders", error="invalid_token", error_description="malformed Authorization header"`, ""},
		{"two headers", []string{"Bearer " + f.token("acme", ""), "Bearer " + f.token("victim", "")}, 401, `error="invalid_token"`, ""},
		{"garbage", []string{"Bearer not-a-jwt"}, 401, `error="invalid_token", error_description="malformed token"`, "not-a-jwt"},
		{"expired", []string{"Bearer " + expired}, 401, `error_description="token expired"`, expired},
		{"wildcard tenant", []string{"Bearer " + f.token("*", "")}, 401, `error_description="tenant claim missing or invalid"`, ""},
		{"forbidden tenant", []string{"Bearer " + f.token("suspended", "")}, 403, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, http.Header{"Authorization": tc.auth})
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var p map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p["status"] != float64(tc.status) || p["title"] == "" {
				t.Fatalf("problem body %s (%v)", rec.Body, err)
			}
			if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, tc.challenge) {
				t.Fatalf("WWW-Authenticate %q, want it to contain %q", ch, tc.challenge)
			}
			if tc.noEchoPart != "" && strings.Contains(rec.Body.String()+rec.Header().Get("WWW-Authenticate"), tc.noEchoPart) {
				t.Fatal("response echoes the credential")
			}
		})
	}
}

func TestAuthenticateIssuerUnavailable(t *testing.T) {
	idp, err := authntest.StartIssuer()
	if err != nil {
		t.Fatal(err)
	}
	token := idp.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme"})
	idp.Close()
	v, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), JWKSURL: idp.JWKSURL(), Audiences: []string{"api"}}}, authn.WithFetchTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	rec := do(t, httpmw.Authenticate(v)(http.HandlerFunc(whoami)), http.Header{"Authorization": {"Bearer " + token}})
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestAuthenticateCustomErrorHandler(t *testing.T) {
	f := newFixture(t)
	var seen error
	h := httpmw.Authenticate(f.v, httpmw.WithAuthErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		seen = err
		w.WriteHeader(http.StatusTeapot)
	}))(http.HandlerFunc(whoami))
	rec := do(t, h, http.Header{"Authorization": {"Bearer x.y.z"}})
	if rec.Code != http.StatusTeapot || !errors.Is(seen, tenant.ErrInvalidToken) {
		t.Fatalf("status %d, err %v", rec.Code, seen)
	}
}

func TestAuthenticateCustomSpoofableHeaders(t *testing.T) {
	f := newFixture(t)
	h := httpmw.Authenticate(f.v, httpmw.WithSpoofableHeaders("x-org"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Org"))
	}))
	rec := do(t, h, http.Header{"Authorization": {"Bearer " + f.token("acme", "")}, "X-Org": {"victim"}})
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("status %d body %q", rec.Code, rec.Body)
	}
}

// The server span exists before authentication (otelhttp starts it);
// Authenticate must put the tenant on it.
func TestAuthenticateTagsExistingSpan(t *testing.T) {
	f := newFixture(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	h := httpmw.Authenticate(f.v)(http.HandlerFunc(whoami))
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("test").Start(r.Context(), "server")
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	do(t, outer, http.Header{"Authorization": {"Bearer " + f.token("acme", "gold")}})
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	attrs := map[string]string{}
	for _, kv := range spans[0].Attributes() {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	if attrs["tenant.id"] != "acme" || attrs["tenant.tier"] != "gold" {
		t.Fatalf("span attributes %v", attrs)
	}
}

// tokenRecorder is a verifier that accepts every token as tenant acme and
// records the last one it was given.
type tokenRecorder struct{ token string }

func (v *tokenRecorder) Verify(_ context.Context, token string) (tenant.Tenant, error) {
	v.token = token
	return tenant.New("acme", "free")
}

// bearerThrough sends the Authorization header values through
// Authenticate with v, and returns the response.
func bearerThrough(v tenant.TokenVerifier, values ...string) *httptest.ResponseRecorder {
	h := httpmw.Authenticate(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if len(values) > 0 {
		req.Header["Authorization"] = values
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// Authenticate hands the verifier what follows the Bearer scheme (any
// letter case, one or more spaces); a missing header or one of another
// scheme gets a challenge without an error code, an empty token or a
// repeated header invalid_token, and a malformed token is the verifier's
// to refuse (tenant.ParseBearer's rules are tested in package tenant).
func TestAuthenticateBearerSyntax(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc":          "abc",
		"bearer abc":          "abc",
		"BEARER   a.b-c_d~e+": "a.b-c_d~e+",
		"Bearer abc==":        "abc==",
		"Bearer a/b":          "a/b",
	} {
		rec := &tokenRecorder{}
		if w := bearerThrough(rec, in); w.Code != http.StatusOK || rec.token != want {
			t.Errorf("%q: status %d, verifier saw %q; want 200 and %q", in, w.Code, rec.token, want)
		}
	}
	f := newFixture(t)
	for _, tc := range []struct {
		values    []string
		v         tenant.TokenVerifier
		errorCode bool // the challenge says invalid_token
	}{
		{nil, &tokenRecorder{}, false},
		{[]string{"Basic abc"}, &tokenRecorder{}, false},
		{[]string{"Bearerabc"}, &tokenRecorder{}, false},
		{[]string{"Bearer"}, &tokenRecorder{}, true},
		{[]string{"Bearer "}, &tokenRecorder{}, true},
		{[]string{"Bearer a", "Bearer a"}, &tokenRecorder{}, true},
		{[]string{"Bearer a b"}, f.v, true},
		{[]string{"Bearer a=b"}, f.v, true},
		{[]string{"Bearer ="}, f.v, true},
		{[]string{"Bearer a\tb"}, f.v, true},
		{[]string{"Bearer \"a\""}, f.v, true},
		{[]string{"Bearer a,b"}, f.v, true},
		{[]string{"Bearer a\x00b"}, f.v, true},
	} {
		w := bearerThrough(tc.v, tc.values...)
		challenge := w.Header().Get("WWW-Authenticate")
		rec, _ := tc.v.(*tokenRecorder)
		if w.Code != http.StatusUnauthorized || strings.Contains(challenge, "invalid_token") != tc.errorCode || rec != nil && rec.token != "" {
			t.Errorf("%q: status %d, challenge %q; want 401, invalid_token %v, nothing verified", tc.values, w.Code, challenge, tc.errorCode)
		}
	}
}

// FuzzBearerToken fuzzes the Authorization header through Authenticate:
// whatever it holds, the answer is 401 with nothing verified, or 200 with
// the verifier handed a non-empty suffix of the value that follows the
// Bearer scheme and its spaces.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Basic x", "Bearer  ", "Bearer a==", "Bearer a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		rec := &tokenRecorder{}
		w := bearerThrough(rec, v)
		switch w.Code {
		case http.StatusUnauthorized:
			if rec.token != "" {
				t.Fatalf("401, yet the verifier saw %q", rec.token)
			}
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d for %q", w.Code, v)
		}
		tok := rec.token
		scheme, rest, _ := strings.Cut(v, " ")
		if !strings.EqualFold(scheme, "bearer") || tok == "" || tok[0] == ' ' || strings.TrimLeft(rest, " ") != tok {
			t.Fatalf("%q: the verifier saw %q", v, tok)
		}
	})
}

package tenant_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantkit/tenantkit/internal/oidctest"
	"github.com/tenantkit/tenantkit/tenant"
)

const (
	cognitoURL    = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test123"
	cognitoClient = "app-client-1"
)

// env is a verifier trusting two real loopback issuers and a Cognito pool
// whose keys are served by the first issuer.
type env struct {
	a, b *oidctest.Issuer
	ec   *oidctest.Key
	weak *oidctest.Key
	v    *tenant.Verifier
}

func startIssuer(t testing.TB) *oidctest.Issuer {
	t.Helper()
	is, err := oidctest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(is.Close)
	return is
}

func newVerifier(t testing.TB, issuers []tenant.Issuer, opts ...tenant.Option) *tenant.Verifier {
	t.Helper()
	v, err := tenant.NewVerifier(issuers, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func newEnv(t testing.TB, opts ...tenant.Option) *env {
	t.Helper()
	e := &env{a: startIssuer(t), b: startIssuer(t)}
	var err error
	if e.ec, err = oidctest.NewKey("ec-1", "ES256"); err != nil {
		t.Fatal(err)
	}
	if e.weak, err = oidctest.NewRSAKey("weak-1", 1024); err != nil {
		t.Fatal(err)
	}
	e.a.Publish([]*oidctest.Key{e.a.SigningKey(), e.ec, e.weak})
	cognito, err := tenant.Cognito("us-east-1", "us-east-1_Test123", tenant.TokenUseAccess, cognitoClient)
	if err != nil {
		t.Fatal(err)
	}
	cognito.JWKSURL = e.a.JWKSURL()
	cognito.AnyTenant = true
	opts = append([]tenant.Option{
		tenant.WithRequiredClaims("sub"),
		tenant.WithCheck(func(_ context.Context, tn tenant.Tenant) error {
			if tn.ID() == "blocked" {
				return errors.New("tenant suspended")
			}
			if tn.ID() == "banned" {
				return tenant.ErrForbidden
			}
			return nil
		}),
	}, opts...)
	e.v = newVerifier(t, []tenant.Issuer{
		{URL: e.a.URL(), Audiences: []string{"api"}, AnyTenant: true},
		{URL: e.b.URL(), JWKSURL: e.b.JWKSURL(), Audiences: []string{"api"}, AnyTenant: true},
		cognito,
	}, opts...)
	return e
}

// claims returns valid claims for issuer is, with overrides (nil deletes).
func claims(is *oidctest.Issuer, over map[string]any) map[string]any {
	base := map[string]any{"aud": "api", "custom:tenant_id": "acme", "custom:tier": "gold"}
	for k, v := range over {
		base[k] = v
	}
	return is.Claims(base)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestVerifyValid(t *testing.T) {
	e := newEnv(t)
	for name, tok := range map[string]string{
		"issuer A RS256": e.a.Token(claims(e.a, nil)),
		"issuer A ES256": e.ec.Sign(nil, claims(e.a, nil)),
		"issuer B":       e.b.Token(claims(e.b, nil)),
		"cognito access": e.a.SigningKey().Sign(nil, e.a.Claims(map[string]any{
			"iss": cognitoURL, "token_use": "access", "client_id": cognitoClient,
			"custom:tenant_id": "acme", "custom:tier": "gold",
		})),
	} {
		t.Run(name, func(t *testing.T) {
			tn, err := e.v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if tn.ID() != "acme" || tn.Tier() != "gold" || tn.Subject() != "user-1" {
				t.Fatalf("got %v sub %q", tn, tn.Subject())
			}
			if v, ok := tn.Claim("custom:tier"); !ok || v != "gold" {
				t.Fatalf("Claim(custom:tier) = %v, %v", v, ok)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	e := newEnv(t)
	a, key := e.a, e.a.SigningKey()
	now := time.Now()
	sign := func(over map[string]any) string { return key.Sign(nil, claims(a, over)) }
	withHeader := func(h map[string]any) string { return key.Sign(h, claims(a, nil)) }
	good := sign(nil)
	parts := strings.Split(good, ".")

	// HS256 keyed with the issuer's public key, the classic confusion attack.
	pub, _ := x509.MarshalPKIXPublicKey(key.Private.Public())
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims(a, nil)))
	hs.Header["kid"] = key.ID
	hsToken, _ := hs.SignedString(pemKey)

	attacker, _ := oidctest.NewKey("key-1", "RS256") // same kid as the real key
	embedded := attacker.Sign(map[string]any{"jwk": attacker.JWK()}, claims(a, nil))

	zeroSig := strings.Join(strings.Split(e.ec.Sign(nil, claims(a, nil)), ".")[:2], ".") + "." +
		base64.RawURLEncoding.EncodeToString(make([]byte, 64))

	tampered := parts[0] + "." + b64(mustJSON(claims(a, map[string]any{"custom:tenant_id": "victim"}))) + "." + parts[2]

	dupHeader := `{"alg":"RS256","kid":"key-1","typ":"JWT"}`
	cl := claims(a, nil)
	delete(cl, "custom:tenant_id")
	body := mustJSON(cl)
	dup := key.SignRaw([]byte(dupHeader), []byte(`{"custom:tenant_id":"acme",`+body[1:len(body)-1]+`,"custom:tenant_id":"victim"}`))
	dupEscaped := key.SignRaw([]byte(dupHeader), []byte(`{"custom:tenant_id":"acme",`+body[1:len(body)-1]+`,"\u0063ustom:tenant_id":"victim"}`))

	cognitoClaims := func(over map[string]any) map[string]any {
		base := map[string]any{"iss": cognitoURL, "token_use": "access", "client_id": cognitoClient, "custom:tenant_id": "acme"}
		for k, v := range over {
			base[k] = v
		}
		return a.Claims(base)
	}

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"alg none", b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(mustJSON(claims(a, nil))) + ".", tenant.ErrAlgorithm},
		{"alg none with kid", b64(`{"alg":"none","kid":"key-1"}`) + "." + b64(mustJSON(claims(a, nil))) + ".", tenant.ErrAlgorithm},
		{"alg None", b64(`{"alg":"None","kid":"key-1"}`) + "." + b64(mustJSON(claims(a, nil))) + ".", tenant.ErrAlgorithm},
		{"alg missing", b64(`{"kid":"key-1"}`) + "." + parts[1] + "." + parts[2], tenant.ErrAlgorithm},
		{"HS256 keyed with RSA public key", hsToken, tenant.ErrAlgorithm},
		{"RS384 with RS256 key", withHeader(map[string]any{"alg": "RS384"}), tenant.ErrAlgorithm},
		{"ES256 header on RSA key", b64(`{"alg":"ES256","kid":"key-1"}`) + "." + parts[1] + "." + parts[2], tenant.ErrAlgorithm},
		{"jku header", withHeader(map[string]any{"jku": "https://attacker.example/jwks.json"}), tenant.ErrHeader},
		{"x5u header", withHeader(map[string]any{"x5u": "https://attacker.example/cert.pem"}), tenant.ErrHeader},
		{"x5c header", withHeader(map[string]any{"x5c": []string{"MIIB"}}), tenant.ErrHeader},
		{"embedded jwk", embedded, tenant.ErrHeader},
		{"unknown crit", withHeader(map[string]any{"crit": []string{"exp"}, "exp": 1}), tenant.ErrCritical},
		{"header names kid twice", key.SignRaw([]byte(`{"alg":"RS256","kid":"other","kid":"key-1"}`), []byte(mustJSON(claims(a, nil)))), tenant.ErrMalformed},
		{"ALG beside alg", withHeader(map[string]any{"ALG": "none"}), tenant.ErrMalformed},
		{"Kid beside kid", withHeader(map[string]any{"Kid": "other"}), tenant.ErrMalformed},
		{"CRIT", withHeader(map[string]any{"CRIT": []string{"exp"}, "exp": 1}), tenant.ErrMalformed},
		{"JKU", withHeader(map[string]any{"JKU": "https://attacker.example/jwks.json"}), tenant.ErrMalformed},
		{"no kid", withHeader(map[string]any{"kid": nil}), tenant.ErrMissingKeyID},
		{"empty kid", withHeader(map[string]any{"kid": ""}), tenant.ErrMissingKeyID},
		{"kid not a string", withHeader(map[string]any{"kid": 7}), tenant.ErrMissingKeyID},
		{"RSA key under 2048 bits", e.weak.Sign(nil, claims(a, nil)), tenant.ErrUnknownKey},
		{"expired", sign(map[string]any{"exp": now.Add(-time.Second).Unix()}), tenant.ErrExpired},
		{"nbf in the future", sign(map[string]any{"nbf": now.Add(time.Minute).Unix()}), tenant.ErrNotYetValid},
		{"iat in the future", sign(map[string]any{"iat": now.Add(time.Minute).Unix()}), tenant.ErrIssuedInFuture},
		{"no exp", sign(map[string]any{"exp": nil}), tenant.ErrMissingExpiry},
		{"exp not a number", sign(map[string]any{"exp": "tomorrow"}), tenant.ErrMalformed},
		{"untrusted iss", sign(map[string]any{"iss": "https://evil.example"}), tenant.ErrIssuer},
		{"no iss", sign(map[string]any{"iss": nil}), tenant.ErrIssuer},
		{"key of issuer A, token claims issuer B", sign(map[string]any{"iss": e.b.URL()}), tenant.ErrSignature},
		{"wrong aud", sign(map[string]any{"aud": "other-api"}), tenant.ErrAudience},
		{"no aud", sign(map[string]any{"aud": nil}), tenant.ErrAudience},
		{"cognito access token, wrong client_id", key.Sign(nil, cognitoClaims(map[string]any{"client_id": "other-client"})), tenant.ErrClientID},
		{"cognito ID token where access is required", key.Sign(nil, cognitoClaims(map[string]any{"token_use": "id", "aud": cognitoClient})), tenant.ErrTokenUse},
		{"cognito token without token_use", key.Sign(nil, cognitoClaims(map[string]any{"token_use": nil})), tenant.ErrTokenUse},
		{"missing tenant claim", sign(map[string]any{"custom:tenant_id": nil}), tenant.ErrTenantClaim},
		{"tenant claim not a string", sign(map[string]any{"custom:tenant_id": 42}), tenant.ErrTenantClaim},
		{"tenant claim is a list", sign(map[string]any{"custom:tenant_id": []string{"acme"}}), tenant.ErrTenantClaim},
		{"empty tenant ID", sign(map[string]any{"custom:tenant_id": ""}), tenant.ErrTenantClaim},
		{"wildcard tenant ID", sign(map[string]any{"custom:tenant_id": "*"}), tenant.ErrTenantClaim},
		{"tenant ID with wildcard", sign(map[string]any{"custom:tenant_id": "acme*"}), tenant.ErrTenantClaim},
		{"tenant ID with slash", sign(map[string]any{"custom:tenant_id": "acme/../victim"}), tenant.ErrTenantClaim},
		{"tenant ID with policy variable", sign(map[string]any{"custom:tenant_id": "${aws:username}"}), tenant.ErrTenantClaim},
		{"tenant ID with quote", sign(map[string]any{"custom:tenant_id": `acme"`}), tenant.ErrTenantClaim},
		{"tenant ID with space", sign(map[string]any{"custom:tenant_id": "acme corp"}), tenant.ErrTenantClaim},
		{"tenant ID too long", sign(map[string]any{"custom:tenant_id": strings.Repeat("a", 65)}), tenant.ErrTenantClaim},
		{"duplicate tenant claim", dup, tenant.ErrDuplicateClaim},
		{"duplicate tenant claim via escape", dupEscaped, tenant.ErrDuplicateClaim},
		{"case-variant tenant claim", sign(map[string]any{"custom:Tenant_ID": "victim"}), tenant.ErrDuplicateClaim},
		{"case-variant tier claim", sign(map[string]any{"CUSTOM:TIER": "enterprise"}), tenant.ErrDuplicateClaim},
		{"invalid tier", sign(map[string]any{"custom:tier": "gold tier"}), tenant.ErrTierClaim},
		{"required claim missing", sign(map[string]any{"sub": nil}), tenant.ErrMissingClaim},
		{"rejected by check", sign(map[string]any{"custom:tenant_id": "blocked"}), tenant.ErrRejected},
		{"over-size token", sign(map[string]any{"pad": strings.Repeat("x", 9000)}), tenant.ErrTooLarge},
		{"empty token", "", tenant.ErrMalformed},
		{"one part", parts[0], tenant.ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], tenant.ErrMalformed},
		{"four parts", good + ".x", tenant.ErrMalformed},
		{"bad base64 in payload", parts[0] + ".!!!." + parts[2], tenant.ErrMalformed},
		{"bad base64 in signature", parts[0] + "." + parts[1] + ".%%%", tenant.ErrMalformed},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], tenant.ErrMalformed},
		{"header not JSON", b64("not json") + "." + parts[1] + "." + parts[2], tenant.ErrMalformed},
		{"payload not an object", parts[0] + "." + b64(`["a"]`) + "." + parts[2], tenant.ErrMalformed},
		{"ECDSA signature of zeros", zeroSig, tenant.ErrSignature},
		{"tampered payload", tampered, tenant.ErrSignature},
		{"signature of another key with the same kid", attacker.Sign(nil, claims(a, nil)), tenant.ErrSignature},
		{"unknown kid", withHeader(map[string]any{"kid": "nope"}), tenant.ErrUnknownKey},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.v.Verify(context.Background(), tc.token)
			if err == nil {
				t.Fatalf("accepted, tenant %v", got)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !errors.Is(err, tenant.ErrInvalidToken) {
				t.Fatalf("err = %v does not wrap ErrInvalidToken", err)
			}
			if !got.IsZero() {
				t.Fatalf("rejected token still returned tenant %v", got)
			}
			assertNoTokenBytes(t, err, tc.token)
		})
	}
}

// assertNoTokenBytes fails if the error message quotes the token or any
// sizeable piece of it.
func assertNoTokenBytes(t *testing.T, err error, token string) {
	t.Helper()
	msg := err.Error()
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 8 && strings.Contains(msg, part) {
			t.Fatalf("error %q quotes the token", msg)
		}
	}
}

func TestForbiddenIsNotInvalidToken(t *testing.T) {
	e := newEnv(t)
	_, err := e.v.Verify(context.Background(), e.a.Token(claims(e.a, map[string]any{"custom:tenant_id": "banned"})))
	if !errors.Is(err, tenant.ErrForbidden) || errors.Is(err, tenant.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrForbidden only", err)
	}
}

func TestCognitoIDToken(t *testing.T) {
	a := startIssuer(t)
	is, err := tenant.Cognito("eu-west-1", "eu-west-1_Pool9", tenant.TokenUseID, "web-client")
	if err != nil {
		t.Fatal(err)
	}
	if is.URL != "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool9" || is.JWKSURL != is.URL+"/.well-known/jwks.json" {
		t.Fatalf("Cognito URLs: %+v", is)
	}
	is.JWKSURL = a.JWKSURL()
	v := newVerifier(t, []tenant.Issuer{is})
	c := func(over map[string]any) string {
		base := map[string]any{"iss": is.URL, "token_use": "id", "aud": "web-client", "custom:tenant_id": "acme", "custom:tier": "free"}
		for k, v := range over {
			base[k] = v
		}
		return a.Token(base)
	}
	if tn, err := v.Verify(context.Background(), c(nil)); err != nil || tn.ID() != "acme" || tn.Tier() != "free" {
		t.Fatalf("ID token: %v, %v", tn, err)
	}
	if _, err := v.Verify(context.Background(), c(map[string]any{"aud": "mobile-client"})); !errors.Is(err, tenant.ErrAudience) {
		t.Fatalf("wrong aud: %v", err)
	}
	if _, err := v.Verify(context.Background(), c(map[string]any{"token_use": "access", "aud": nil, "client_id": "web-client"})); !errors.Is(err, tenant.ErrTokenUse) {
		t.Fatalf("access token where ID required: %v", err)
	}
}

func TestCognitoConfigErrors(t *testing.T) {
	for _, tc := range []struct{ region, pool, use string }{
		{"", "us-east-1_X", tenant.TokenUseAccess},
		{"us-east-1", "eu-west-1_X", tenant.TokenUseAccess},
		{"us-east-1", "us-east-1_", tenant.TokenUseAccess},
		{"us-east-1", "us-east-1_X/../", tenant.TokenUseAccess},
		{"us-east-1", "us-east-1_X", "refresh"},
	} {
		if _, err := tenant.Cognito(tc.region, tc.pool, tc.use, "c"); !errors.Is(err, tenant.ErrConfig) {
			t.Errorf("Cognito(%q, %q, %q) = %v, want ErrConfig", tc.region, tc.pool, tc.use, err)
		}
	}
	if _, err := tenant.Cognito("us-east-1", "us-east-1_X", tenant.TokenUseAccess); !errors.Is(err, tenant.ErrConfig) {
		t.Errorf("no client IDs: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := []tenant.Issuer{{URL: "https://issuer.example", Audiences: []string{"api"}}}
	for name, tc := range map[string]struct {
		issuers []tenant.Issuer
		opts    []tenant.Option
	}{
		"no issuers":          {nil, nil},
		"no audience rule":    {[]tenant.Issuer{{URL: "https://issuer.example"}}, nil},
		"plain http remote":   {[]tenant.Issuer{{URL: "http://issuer.example", AnyAudience: true}}, nil},
		"duplicate issuer":    {[]tenant.Issuer{{URL: "https://issuer.example", AnyAudience: true, AnyTenant: true}, {URL: "https://issuer.example", AnyAudience: true, AnyTenant: true}}, nil},
		"HS256 allowed":       {ok, []tenant.Option{tenant.WithAlgorithms("HS256")}},
		"none allowed":        {ok, []tenant.Option{tenant.WithAlgorithms("none")}},
		"leeway over maximum": {ok, []tenant.Option{tenant.WithLeeway(time.Hour)}},
		"negative leeway":     {ok, []tenant.Option{tenant.WithLeeway(-time.Second)}},
		"bad default tier":    {ok, []tenant.Option{tenant.WithDefaultTier("a b")}},
		"zero token size":     {ok, []tenant.Option{tenant.WithMaxTokenSize(0)}},
	} {
		v, err := tenant.NewVerifier(tc.issuers, tc.opts...)
		if !errors.Is(err, tenant.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
		if v != nil {
			v.Close()
		}
	}
}

func TestLeewayAndDefaultTier(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, []tenant.Issuer{{URL: a.URL(), AnyAudience: true}},
		tenant.WithLeeway(30*time.Second), tenant.WithDefaultTier("free"))
	tok := a.Token(map[string]any{"custom:tenant_id": "acme", "exp": time.Now().Add(-10 * time.Second).Unix()})
	tn, err := v.Verify(context.Background(), tok)
	if err != nil || tn.Tier() != "free" {
		t.Fatalf("within leeway: %v, %v", tn, err)
	}
}

func TestDiscovery(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, []tenant.Issuer{{URL: a.URL(), Audiences: []string{"api"}}}) // no JWKSURL
	if _, err := v.Verify(context.Background(), a.Token(claims(a, nil))); err != nil {
		t.Fatal(err)
	}
}

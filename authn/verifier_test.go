package authn_test

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

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/tenant"
)

const (
	cognitoURL    = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test123"
	cognitoClient = "app-client-1"
)

// env is a verifier trusting two real loopback issuers and a Cognito pool
// whose keys are served by the first issuer.
type env struct {
	a, b *authntest.Issuer
	ec   *authntest.Key
	weak *authntest.Key
	v    *authn.Verifier
}

func startIssuer(t testing.TB) *authntest.Issuer {
	t.Helper()
	is, err := authntest.StartIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(is.Close)
	return is
}

func newVerifier(t testing.TB, issuers []authn.Issuer, opts ...authn.Option) *authn.Verifier {
	t.Helper()
	v, err := authn.NewVerifier(issuers, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func newEnv(t testing.TB, opts ...authn.Option) *env {
	t.Helper()
	e := &env{a: startIssuer(t), b: startIssuer(t)}
	var err error
	if e.ec, err = authntest.NewKey("ec-1", "ES256"); err != nil {
		t.Fatal(err)
	}
	if e.weak, err = authntest.NewRSAKey("weak-1", 1024); err != nil {
		t.Fatal(err)
	}
	e.a.Publish([]*authntest.Key{e.a.SigningKey(), e.ec, e.weak})
	cognito, err := authn.Cognito("us-east-1", "us-east-1_Test123", authn.TokenUseAccess, cognitoClient)
	if err != nil {
		t.Fatal(err)
	}
	cognito.JWKSURL = e.a.JWKSURL()
	cognito.AnyTenant = true
	opts = append([]authn.Option{
		authn.WithRequiredClaims("sub"),
		authn.WithCheck(func(_ context.Context, tn tenant.Tenant) error {
			if tn.ID() == "blocked" {
				return errors.New("tenant suspended")
			}
			if tn.ID() == "banned" {
				return tenant.ErrForbidden
			}
			return nil
		}),
	}, opts...)
	e.v = newVerifier(t, []authn.Issuer{
		{URL: e.a.URL(), Audiences: []string{"api"}, AnyTenant: true},
		{URL: e.b.URL(), JWKSURL: e.b.JWKSURL(), Audiences: []string{"api"}, AnyTenant: true},
		cognito,
	}, opts...)
	return e
}

// claims returns valid claims for issuer is, with overrides (nil deletes).
func claims(is *authntest.Issuer, over map[string]any) map[string]any {
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
		"issuer A RS256": e.a.TokenWithClaims(claims(e.a, nil)),
		"issuer A ES256": e.ec.Sign(nil, claims(e.a, nil)),
		"issuer B":       e.b.TokenWithClaims(claims(e.b, nil)),
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

	attacker, _ := authntest.NewKey("key-1", "RS256") // same kid as the real key
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
		{"alg none", b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(mustJSON(claims(a, nil))) + ".", authn.ErrAlgorithm},
		{"alg none with kid", b64(`{"alg":"none","kid":"key-1"}`) + "." + b64(mustJSON(claims(a, nil))) + ".", authn.ErrAlgorithm},
		{"alg None", b64(`{"alg":"None","kid":"key-1"}`) + "." + b64(mustJSON(claims(a, nil))) + ".", authn.ErrAlgorithm},
		{"alg missing", b64(`{"kid":"key-1"}`) + "." + parts[1] + "." + parts[2], authn.ErrAlgorithm},
		{"HS256 keyed with RSA public key", hsToken, authn.ErrAlgorithm},
		{"RS384 with RS256 key", withHeader(map[string]any{"alg": "RS384"}), authn.ErrAlgorithm},
		{"ES256 header on RSA key", b64(`{"alg":"ES256","kid":"key-1"}`) + "." + parts[1] + "." + parts[2], authn.ErrAlgorithm},
		{"jku header", withHeader(map[string]any{"jku": "https://attacker.example/jwks.json"}), authn.ErrHeader},
		{"x5u header", withHeader(map[string]any{"x5u": "https://attacker.example/cert.pem"}), authn.ErrHeader},
		{"x5c header", withHeader(map[string]any{"x5c": []string{"MIIB"}}), authn.ErrHeader},
		{"embedded jwk", embedded, authn.ErrHeader},
		{"unknown crit", withHeader(map[string]any{"crit": []string{"exp"}, "exp": 1}), authn.ErrCritical},
		{"header names kid twice", key.SignRaw([]byte(`{"alg":"RS256","kid":"other","kid":"key-1"}`), []byte(mustJSON(claims(a, nil)))), authn.ErrMalformed},
		{"ALG beside alg", withHeader(map[string]any{"ALG": "none"}), authn.ErrMalformed},
		{"Kid beside kid", withHeader(map[string]any{"Kid": "other"}), authn.ErrMalformed},
		{"CRIT", withHeader(map[string]any{"CRIT": []string{"exp"}, "exp": 1}), authn.ErrMalformed},
		{"JKU", withHeader(map[string]any{"JKU": "https://attacker.example/jwks.json"}), authn.ErrMalformed},
		{"no kid", withHeader(map[string]any{"kid": nil}), authn.ErrMissingKeyID},
		{"empty kid", withHeader(map[string]any{"kid": ""}), authn.ErrMissingKeyID},
		{"kid not a string", withHeader(map[string]any{"kid": 7}), authn.ErrMissingKeyID},
		{"RSA key under 2048 bits", e.weak.Sign(nil, claims(a, nil)), authn.ErrUnknownKey},
		{"expired", sign(map[string]any{"exp": now.Add(-time.Second).Unix()}), authn.ErrExpired},
		{"nbf in the future", sign(map[string]any{"nbf": now.Add(time.Minute).Unix()}), authn.ErrNotYetValid},
		{"iat in the future", sign(map[string]any{"iat": now.Add(time.Minute).Unix()}), authn.ErrIssuedInFuture},
		{"no exp", sign(map[string]any{"exp": nil}), authn.ErrMissingExpiry},
		{"exp not a number", sign(map[string]any{"exp": "tomorrow"}), authn.ErrMalformed},
		{"untrusted iss", sign(map[string]any{"iss": "https://evil.example"}), authn.ErrIssuer},
		{"no iss", sign(map[string]any{"iss": nil}), authn.ErrIssuer},
		{"key of issuer A, token claims issuer B", sign(map[string]any{"iss": e.b.URL()}), authn.ErrSignature},
		{"wrong aud", sign(map[string]any{"aud": "other-api"}), authn.ErrAudience},
		{"no aud", sign(map[string]any{"aud": nil}), authn.ErrAudience},
		{"cognito access token, wrong client_id", key.Sign(nil, cognitoClaims(map[string]any{"client_id": "other-client"})), authn.ErrClientID},
		{"cognito ID token where access is required", key.Sign(nil, cognitoClaims(map[string]any{"token_use": "id", "aud": cognitoClient})), authn.ErrTokenUse},
		{"cognito token without token_use", key.Sign(nil, cognitoClaims(map[string]any{"token_use": nil})), authn.ErrTokenUse},
		{"missing tenant claim", sign(map[string]any{"custom:tenant_id": nil}), authn.ErrTenantClaim},
		{"tenant claim not a string", sign(map[string]any{"custom:tenant_id": 42}), authn.ErrTenantClaim},
		{"tenant claim is a list", sign(map[string]any{"custom:tenant_id": []string{"acme"}}), authn.ErrTenantClaim},
		{"empty tenant ID", sign(map[string]any{"custom:tenant_id": ""}), authn.ErrTenantClaim},
		{"wildcard tenant ID", sign(map[string]any{"custom:tenant_id": "*"}), authn.ErrTenantClaim},
		{"tenant ID with wildcard", sign(map[string]any{"custom:tenant_id": "acme*"}), authn.ErrTenantClaim},
		{"tenant ID with slash", sign(map[string]any{"custom:tenant_id": "acme/../victim"}), authn.ErrTenantClaim},
		{"tenant ID with policy variable", sign(map[string]any{"custom:tenant_id": "${aws:username}"}), authn.ErrTenantClaim},
		{"tenant ID with quote", sign(map[string]any{"custom:tenant_id": `acme"`}), authn.ErrTenantClaim},
		{"tenant ID with space", sign(map[string]any{"custom:tenant_id": "acme corp"}), authn.ErrTenantClaim},
		{"tenant ID too long", sign(map[string]any{"custom:tenant_id": strings.Repeat("a", 65)}), authn.ErrTenantClaim},
		{"duplicate tenant claim", dup, authn.ErrDuplicateClaim},
		{"duplicate tenant claim via escape", dupEscaped, authn.ErrDuplicateClaim},
		{"case-variant tenant claim", sign(map[string]any{"custom:Tenant_ID": "victim"}), authn.ErrDuplicateClaim},
		{"case-variant tier claim", sign(map[string]any{"CUSTOM:TIER": "enterprise"}), authn.ErrDuplicateClaim},
		{"invalid tier", sign(map[string]any{"custom:tier": "gold tier"}), authn.ErrTierClaim},
		{"required claim missing", sign(map[string]any{"sub": nil}), authn.ErrMissingClaim},
		{"rejected by check", sign(map[string]any{"custom:tenant_id": "blocked"}), authn.ErrRejected},
		{"over-size token", sign(map[string]any{"pad": strings.Repeat("x", 9000)}), authn.ErrTooLarge},
		{"empty token", "", authn.ErrMalformed},
		{"one part", parts[0], authn.ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], authn.ErrMalformed},
		{"four parts", good + ".x", authn.ErrMalformed},
		{"bad base64 in payload", parts[0] + ".!!!." + parts[2], authn.ErrMalformed},
		{"bad base64 in signature", parts[0] + "." + parts[1] + ".%%%", authn.ErrMalformed},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], authn.ErrMalformed},
		{"header not JSON", b64("not json") + "." + parts[1] + "." + parts[2], authn.ErrMalformed},
		{"payload not an object", parts[0] + "." + b64(`["a"]`) + "." + parts[2], authn.ErrMalformed},
		{"ECDSA signature of zeros", zeroSig, authn.ErrSignature},
		{"tampered payload", tampered, authn.ErrSignature},
		{"signature of another key with the same kid", attacker.Sign(nil, claims(a, nil)), authn.ErrSignature},
		{"unknown kid", withHeader(map[string]any{"kid": "nope"}), authn.ErrUnknownKey},
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
	_, err := e.v.Verify(context.Background(), e.a.TokenWithClaims(claims(e.a, map[string]any{"custom:tenant_id": "banned"})))
	if !errors.Is(err, tenant.ErrForbidden) || errors.Is(err, tenant.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrForbidden only", err)
	}
}

func TestCognitoIDToken(t *testing.T) {
	a := startIssuer(t)
	is, err := authn.Cognito("eu-west-1", "eu-west-1_Pool9", authn.TokenUseID, "web-client")
	if err != nil {
		t.Fatal(err)
	}
	if is.URL != "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool9" || is.JWKSURL != is.URL+"/.well-known/jwks.json" {
		t.Fatalf("Cognito URLs: %+v", is)
	}
	is.JWKSURL = a.JWKSURL()
	v := newVerifier(t, []authn.Issuer{is})
	c := func(over map[string]any) string {
		base := map[string]any{"iss": is.URL, "token_use": "id", "aud": "web-client", "custom:tenant_id": "acme", "custom:tier": "free"}
		for k, v := range over {
			base[k] = v
		}
		return a.TokenWithClaims(base)
	}
	if tn, err := v.Verify(context.Background(), c(nil)); err != nil || tn.ID() != "acme" || tn.Tier() != "free" {
		t.Fatalf("ID token: %v, %v", tn, err)
	}
	if _, err := v.Verify(context.Background(), c(map[string]any{"aud": "mobile-client"})); !errors.Is(err, authn.ErrAudience) {
		t.Fatalf("wrong aud: %v", err)
	}
	if _, err := v.Verify(context.Background(), c(map[string]any{"token_use": "access", "aud": nil, "client_id": "web-client"})); !errors.Is(err, authn.ErrTokenUse) {
		t.Fatalf("access token where ID required: %v", err)
	}
}

func TestCognitoConfigErrors(t *testing.T) {
	for _, tc := range []struct{ region, pool, use string }{
		{"", "us-east-1_X", authn.TokenUseAccess},
		{"us-east-1", "eu-west-1_X", authn.TokenUseAccess},
		{"us-east-1", "us-east-1_", authn.TokenUseAccess},
		{"us-east-1", "us-east-1_X/../", authn.TokenUseAccess},
		{"us-east-1", "us-east-1_X", "refresh"},
	} {
		if _, err := authn.Cognito(tc.region, tc.pool, tc.use, "c"); !errors.Is(err, authn.ErrConfig) {
			t.Errorf("Cognito(%q, %q, %q) = %v, want ErrConfig", tc.region, tc.pool, tc.use, err)
		}
	}
	if _, err := authn.Cognito("us-east-1", "us-east-1_X", authn.TokenUseAccess); !errors.Is(err, authn.ErrConfig) {
		t.Errorf("no client IDs: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := []authn.Issuer{{URL: "https://issuer.example", Audiences: []string{"api"}}}
	for name, tc := range map[string]struct {
		issuers []authn.Issuer
		opts    []authn.Option
	}{
		"no issuers":          {nil, nil},
		"no audience rule":    {[]authn.Issuer{{URL: "https://issuer.example"}}, nil},
		"plain http remote":   {[]authn.Issuer{{URL: "http://issuer.example", AnyAudience: true}}, nil},
		"duplicate issuer":    {[]authn.Issuer{{URL: "https://issuer.example", AnyAudience: true, AnyTenant: true}, {URL: "https://issuer.example", AnyAudience: true, AnyTenant: true}}, nil},
		"HS256 allowed":       {ok, []authn.Option{authn.WithAlgorithms("HS256")}},
		"none allowed":        {ok, []authn.Option{authn.WithAlgorithms("none")}},
		"leeway over maximum": {ok, []authn.Option{authn.WithLeeway(time.Hour)}},
		"negative leeway":     {ok, []authn.Option{authn.WithLeeway(-time.Second)}},
		"bad default tier":    {ok, []authn.Option{authn.WithDefaultTier("a b")}},
		"zero token size":     {ok, []authn.Option{authn.WithMaxTokenSize(0)}},
	} {
		v, err := authn.NewVerifier(tc.issuers, tc.opts...)
		if !errors.Is(err, authn.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
		if v != nil {
			v.Close()
		}
	}
}

func TestLeewayAndDefaultTier(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, []authn.Issuer{{URL: a.URL(), AnyAudience: true}},
		authn.WithLeeway(30*time.Second), authn.WithDefaultTier("free"))
	tok := a.TokenWithClaims(map[string]any{"custom:tenant_id": "acme", "exp": time.Now().Add(-10 * time.Second).Unix()})
	tn, err := v.Verify(context.Background(), tok)
	if err != nil || tn.Tier() != "free" {
		t.Fatalf("within leeway: %v, %v", tn, err)
	}
}

func TestDiscovery(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, []authn.Issuer{{URL: a.URL(), Audiences: []string{"api"}}}) // no JWKSURL
	if _, err := v.Verify(context.Background(), a.TokenWithClaims(claims(a, nil))); err != nil {
		t.Fatal(err)
	}
}

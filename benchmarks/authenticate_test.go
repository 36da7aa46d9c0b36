package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/httpmw"
)

const audience = "orders-api"

// authSetup is one issuer on loopback, one RS256 token and the three
// middleware stacks under comparison, each wrapping the same handler.
type authSetup struct {
	idp      *authntest.Issuer
	token    string
	handlers map[string]http.Handler
	order    []string
}

// ok is the protected handler: it only proves it ran.
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

func newAuthSetup(tb testing.TB) *authSetup {
	tb.Helper()
	idp, err := authntest.StartIssuer()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(idp.Close)
	s := &authSetup{
		idp:      idp,
		token:    idp.TokenWithClaims(map[string]any{"aud": audience, "custom:tenant_id": "acme", "custom:tier": "gold"}),
		handlers: map[string]http.Handler{},
		order:    []string{"tenantkit", "auth0", "keyfunc"},
	}

	// tenantkit: Authenticate with its default verified-token cache.
	v, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), JWKSURL: idp.JWKSURL(), Audiences: []string{audience}}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	s.handlers["tenantkit"] = httpmw.Authenticate(v)(ok)

	// auth0/go-jwt-middleware v2 with its caching JWKS provider.
	issuerURL, _ := url.Parse(idp.URL())
	provider := jwks.NewCachingProvider(issuerURL, 5*time.Minute)
	val, err := validator.New(provider.KeyFunc, validator.RS256, idp.URL(), []string{audience})
	if err != nil {
		tb.Fatal(err)
	}
	s.handlers["auth0"] = jwtmiddleware.New(val.ValidateToken).CheckJWT(ok)

	// The common hand-wired middleware: golang-jwt/v5 + keyfunc/v3.
	ctx, cancel := context.WithCancel(context.Background())
	kf, err := keyfunc.NewDefaultCtx(ctx, []string{idp.JWKSURL()})
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(cancel)
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(idp.URL()),
		jwt.WithAudience(audience), jwt.WithExpirationRequired())
	type tenantKey struct{}
	s.handlers["keyfunc"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		claims := jwt.MapClaims{}
		if _, err := parser.ParseWithClaims(raw, claims, kf.Keyfunc); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id, _ := claims["custom:tenant_id"].(string)
		if id == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ok.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, id)))
	})
	return s
}

func (s *authSetup) serve(h http.Handler, token string) int {
	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// TestAuthenticateSetups checks that every stack accepts the token and
// rejects a tampered one, so the benchmark compares equal work.
func TestAuthenticateSetups(t *testing.T) {
	s := newAuthSetup(t)
	forger, err := authntest.NewKey(s.idp.SigningKey().ID, "RS256")
	if err != nil {
		t.Fatal(err)
	}
	forged := forger.Sign(nil, s.idp.Claims(map[string]any{"aud": audience, "custom:tenant_id": "acme"}))
	for _, name := range s.order {
		h := s.handlers[name]
		if code := s.serve(h, s.token); code != http.StatusNoContent {
			t.Errorf("%s: good token got %d", name, code)
		}
		if code := s.serve(h, forged); code != http.StatusUnauthorized {
			t.Errorf("%s: forged token got %d", name, code)
		}
	}
}

// BenchmarkAuthenticate: one request through each middleware with the same
// RS256 token every time (the steady state of a client reusing its token);
// "tenantkit-1000" rotates over the tokens of 1,000 tenants (see
// mixRequests; the peers verify every token anyway).
func BenchmarkAuthenticate(b *testing.B) {
	s := newAuthSetup(b)
	defer b.Run("tenantkit-1000", func(b *testing.B) { benchMix(b, s.handlers["tenantkit"], mixRequests(s.idp)) })
	for _, name := range s.order {
		h := s.handlers[name]
		b.Run(name, func(b *testing.B) {
			if code := s.serve(h, s.token); code != http.StatusNoContent {
				b.Fatalf("status %d", code)
			}
			req := httptest.NewRequest(http.MethodGet, "/orders", nil)
			req.Header.Set("Authorization", "Bearer "+s.token)
			w := discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkVerifyFloor compares tenantkit's uncached verification with the
// least any golang-jwt based verifier does: ParseWithClaims with a fixed key.
func BenchmarkVerifyFloor(b *testing.B) {
	s := newAuthSetup(b)
	pub := s.idp.SigningKey().Private.Public()
	b.Run("jwt.ParseWithClaims", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jwt.ParseWithClaims(s.token, jwt.MapClaims{}, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tenantkit-cold", func(b *testing.B) {
		v, err := authn.NewVerifier([]authn.Issuer{{URL: s.idp.URL(), JWKSURL: s.idp.JWKSURL(), Audiences: []string{audience}}},
			authn.WithCacheSize(0))
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		ctx := context.Background()
		if _, err := v.Verify(ctx, s.token); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := v.Verify(ctx, s.token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the middleware, not a recorder.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

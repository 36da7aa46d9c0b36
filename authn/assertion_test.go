package authn_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.opentelemetry.io/otel/propagation"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/tenant"
)

func newRing(t testing.TB, ids ...string) (*authn.KeyRing, []authn.RingKey) {
	t.Helper()
	keys := make([]authn.RingKey, len(ids))
	for i, id := range ids {
		k, err := authn.GenerateRingKey(id)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	ring, err := authn.NewKeyRing(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return ring, keys
}

func newAssertion(t testing.TB, ring *authn.KeyRing, aud string, opts ...authn.Option) *authn.Assertion {
	t.Helper()
	a, err := authn.NewAssertion(ring, aud, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustTenant(t testing.TB, id, tier string) tenant.Tenant {
	t.Helper()
	tn, err := tenant.New(id, tier)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestAssertionRoundTrip(t *testing.T) {
	ring, _ := newRing(t, "k1")
	a := newAssertion(t, ring, "orders")
	ctx := tenant.NewContext(context.Background(), mustTenant(t, "acme", "gold"))
	h := propagation.HeaderCarrier{}
	if err := a.Inject(ctx, h); err != nil {
		t.Fatal(err)
	}
	got, err := a.Extract(context.Background(), h)
	if err != nil || got.ID() != "acme" || got.Tier() != "gold" {
		t.Fatalf("Extract = %v, %v", got, err)
	}
	// An assertion is not a bearer token: it cannot be relayed further.
	if err := (tenant.Relay{}).Inject(tenant.NewContext(context.Background(), got), propagation.HeaderCarrier{}); !errors.Is(err, tenant.ErrNoCredential) {
		t.Fatalf("relay of an assertion tenant: %v", err)
	}
}

func TestAssertionReusedUntilNearExpiry(t *testing.T) {
	ring, _ := newRing(t, "k1")
	var now atomic.Pointer[time.Time]
	t0 := time.Unix(1_800_000_000, 0)
	now.Store(&t0)
	clock := func() time.Time { return *now.Load() }
	a := newAssertion(t, ring, "orders", authn.WithClock(clock), authn.WithAssertionTTL(30*time.Second))
	tn := mustTenant(t, "acme", "gold")
	first, _ := a.Mint(tn)
	set := func(d time.Duration) { x := t0.Add(d); now.Store(&x) }
	set(20 * time.Second)
	if again, _ := a.Mint(tn); again != first {
		t.Fatal("assertion re-minted long before expiry")
	}
	set(25 * time.Second) // within renewBefore (ttl/5 = 6s) of expiry
	if again, _ := a.Mint(tn); again == first {
		t.Fatal("assertion reused too close to expiry")
	}
	if other, _ := a.Mint(mustTenant(t, "globex", "gold")); other == first {
		t.Fatal("assertion shared between tenants")
	}
}

func TestAssertionRejects(t *testing.T) {
	ring, keys := newRing(t, "k1")
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	clock := func() time.Time { return *now.Load() }
	a := newAssertion(t, ring, "orders", authn.WithClock(clock))
	tn := mustTenant(t, "acme", "gold")
	good, err := a.Mint(tn)
	if err != nil {
		t.Fatal(err)
	}
	otherRing, _ := newRing(t, "k1") // same kid, different key
	forged, _ := newAssertion(t, otherRing, "orders").Mint(tn)
	unknownRing, _ := newRing(t, "k9")
	unknown, _ := newAssertion(t, unknownRing, "orders").Mint(tn)
	wrongAud, _ := newAssertion(t, ring, "billing").Mint(tn)

	signWith := func(method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = kid
		tok.Header["typ"] = authn.AssertionType
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := func(over jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "tenantkit", "aud": "orders", "tenant_id": "acme", "iat": t0.Unix(), "exp": t0.Add(30 * time.Second).Unix()}
		for k, v := range over {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	ed := keys[0].Private
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	parts := strings.Split(good, ".")
	tamperedPayload := parts[0] + "." + strings.Split(signWith(jwt.SigningMethodEdDSA, ed, "k1", base(jwt.MapClaims{"tenant_id": "victim"})), ".")[1] + "." + parts[2]

	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"not yet valid", signWith(jwt.SigningMethodEdDSA, ed, "k1", base(jwt.MapClaims{"nbf": t0.Add(time.Minute).Unix()})), authn.ErrNotYetValid},
		{"issued in the future", signWith(jwt.SigningMethodEdDSA, ed, "k1", base(jwt.MapClaims{"iat": t0.Add(time.Minute).Unix()})), authn.ErrIssuedInFuture},
		{"wrong audience", wrongAud, authn.ErrAudience},
		{"unknown key", unknown, authn.ErrUnknownKey},
		{"forged with same kid", forged, authn.ErrSignature},
		{"tampered payload", tamperedPayload, authn.ErrSignature},
		{"alg other than the ring's", signWith(jwt.SigningMethodES256, ecKey, "k1", base(nil)), authn.ErrAlgorithm},
		{"alg none", b64(`{"alg":"none","kid":"k1"}`) + "." + parts[1] + ".", authn.ErrAlgorithm},
		{"wildcard tenant", signWith(jwt.SigningMethodEdDSA, ed, "k1", base(jwt.MapClaims{"tenant_id": "*"})), authn.ErrTenantClaim},
		{"no tenant", signWith(jwt.SigningMethodEdDSA, ed, "k1", base(jwt.MapClaims{"tenant_id": nil})), authn.ErrTenantClaim},
		{"wrong issuer", signWith(jwt.SigningMethodEdDSA, ed, "k1", base(jwt.MapClaims{"iss": "someone"})), authn.ErrIssuer},
		{"no expiry", signWith(jwt.SigningMethodEdDSA, ed, "k1", base(jwt.MapClaims{"exp": nil})), authn.ErrMissingExpiry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Verify(context.Background(), tc.token)
			if !errors.Is(err, tc.want) || !errors.Is(err, tenant.ErrInvalidToken) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}

	// Expiry: the good assertion verifies (and is cached), then stops
	// verifying once its 30 seconds are over, cached or not.
	if _, err := a.Verify(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(31 * time.Second)
	now.Store(&later)
	if _, err := a.Verify(context.Background(), good); !errors.Is(err, authn.ErrExpired) {
		t.Fatalf("expired assertion: %v", err)
	}
	if _, err := a.Extract(context.Background(), propagation.HeaderCarrier{}); !errors.Is(err, authn.ErrMissingAssertion) {
		t.Fatalf("missing: %v", err)
	}
}

func TestKeyRingRotation(t *testing.T) {
	oldRing, keys := newRing(t, "old")
	newKey, _ := authn.GenerateRingKey("new")
	// Step 1: receivers accept both keys while senders still sign with old.
	receiver, err := authn.NewKeyRing(authn.RingKey{ID: "old", Public: keys[0].Private.Public()}, newKey)
	if err != nil {
		t.Fatal(err)
	}
	// Step 2: senders switch to the new key.
	sender, err := authn.NewKeyRing(newKey, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	tn := mustTenant(t, "acme", "")
	recv := newAssertion(t, receiver, "orders")
	for _, r := range []*authn.KeyRing{oldRing, sender} {
		tok, err := newAssertion(t, r, "orders").Mint(tn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recv.Verify(context.Background(), tok); err != nil {
			t.Fatalf("during rotation: %v", err)
		}
	}
	// A verify-only ring cannot mint.
	if _, err := recv.Mint(tn); !errors.Is(err, authn.ErrConfig) {
		t.Fatalf("verify-only ring minted: %v", err)
	}
}

func TestKeyRingConfig(t *testing.T) {
	ed, _ := authn.GenerateRingKey("a")
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, keys := range map[string][]authn.RingKey{
		"no ID":        {{Private: ed.Private}},
		"mixed algs":   {ed, {ID: "b", Private: ec}},
		"P-384":        {{ID: "b", Private: p384}},
		"duplicate ID": {ed, {ID: "a", Private: ec}},
		"no key":       {{ID: "x"}},
	} {
		if _, err := authn.NewKeyRing(keys[0], keys[1:]...); !errors.Is(err, authn.ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := authn.NewKeyRing(authn.RingKey{ID: "e", Private: ec}); err != nil {
		t.Errorf("ES256 ring: %v", err)
	}
}

func TestRelay(t *testing.T) {
	idp, err := authntest.StartIssuer()
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	v := newVerifier(t, []authn.Issuer{{URL: idp.URL(), JWKSURL: idp.JWKSURL(), Audiences: []string{"api"}}})
	token := idp.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme"})
	tn, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	relay := tenant.Relay{Verifier: v}
	h := propagation.HeaderCarrier{}
	if err := relay.Inject(tenant.NewContext(context.Background(), tn), h); err != nil {
		t.Fatal(err)
	}
	if h.Get("Authorization") != "Bearer "+token {
		t.Fatal("relay did not send the verified token")
	}
	got, err := relay.Extract(context.Background(), h)
	if err != nil || got.ID() != "acme" {
		t.Fatalf("Extract = %v, %v", got, err)
	}
	// A tenant built with New has no token to relay.
	if err := relay.Inject(tenant.NewContext(context.Background(), mustTenant(t, "acme", "")), h); !errors.Is(err, tenant.ErrNoCredential) {
		t.Fatalf("relay without token: %v", err)
	}
	if err := relay.Inject(context.Background(), h); !errors.Is(err, tenant.ErrNoTenant) {
		t.Fatalf("relay without tenant: %v", err)
	}
}

func TestCheckOutgoing(t *testing.T) {
	ring, _ := newRing(t, "k1")
	a := newAssertion(t, ring, "orders")
	acme, globex := mustTenant(t, "acme", ""), mustTenant(t, "globex", "")
	ctx := tenant.NewContext(context.Background(), acme)

	if _, _, err := tenant.CheckOutgoing(context.Background(), propagation.HeaderCarrier{}, a); !errors.Is(err, tenant.ErrNoTenant) {
		t.Fatalf("no tenant: %v", err)
	}
	if _, ok, err := tenant.CheckOutgoing(tenant.WithoutTenant(context.Background()), propagation.HeaderCarrier{}, a); ok || err != nil {
		t.Fatalf("tenant-less: %v %v", ok, err)
	}
	h := propagation.HeaderCarrier{}
	_ = a.Inject(tenant.NewContext(context.Background(), globex), h)
	if _, _, err := tenant.CheckOutgoing(ctx, h, a); !errors.Is(err, tenant.ErrMismatch) {
		t.Fatalf("another tenant's assertion: %v", err)
	}
	h = propagation.HeaderCarrier{}
	h.Set(tenant.AssertionKey, "garbage")
	if _, _, err := tenant.CheckOutgoing(ctx, h, a); !errors.Is(err, tenant.ErrMismatch) {
		t.Fatalf("unverifiable credential: %v", err)
	}
	h = propagation.HeaderCarrier{}
	_ = a.Inject(ctx, h)
	if got, send, err := tenant.CheckOutgoing(ctx, h, a); err != nil || send || got.ID() != "acme" {
		t.Fatalf("own assertion already present: %v send=%v %v", got, send, err)
	}
	if got, send, err := tenant.CheckOutgoing(ctx, propagation.HeaderCarrier{}, a); err != nil || !send || got.ID() != "acme" {
		t.Fatalf("nothing present yet: %v send=%v %v", got, send, err)
	}
}

// FuzzAssertion: assertions arrive from other services over the network and
// are parsed before anything is trusted.
func FuzzAssertion(f *testing.F) {
	ring, _ := newRing(f, "k1")
	a := newAssertion(f, ring, "orders", authn.WithCacheSize(16))
	good, _ := a.Mint(mustTenant(f, "acme", "gold"))
	f.Add(good)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		tn, err := a.Verify(context.Background(), token)
		if err != nil {
			if !errors.Is(err, tenant.ErrInvalidToken) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if tenant.ValidateID(tn.ID()) != nil {
			t.Fatalf("accepted invalid tenant %q", tn.ID())
		}
	})
}

package authn

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantkit/tenantkit/tenant"
)

// Defaults of an Assertion.
const (
	// DefaultAssertionTTL is the lifetime of a minted assertion. It only
	// has to outlive one hop, so it is seconds, not the hour of a user
	// token: a leaked assertion is useless almost at once.
	DefaultAssertionTTL = 30 * time.Second
	// DefaultAssertionIssuer is the "iss" of minted assertions.
	DefaultAssertionIssuer = "tenantkit"
	// Claim names inside an assertion.
	assertionTenantClaim = "tenant_id"
	assertionTierClaim   = "tenant_tier"
)

// ErrMissingAssertion reports a request without a Tenant-Assertion. It
// wraps ErrAbsent.
var ErrMissingAssertion = fmt.Errorf("%w: no tenant assertion", tenant.ErrAbsent)

// RingKey is one key of a KeyRing. Private is set on services that mint
// assertions; services that only verify set Public. Keys are shared between
// services with PublicJWKS and ParsePublicJWKS (the public side, for
// receivers) and PrivatePEM or PrivateJWK and their parsers (the secret
// side, for senders, through a secret store); PublicJWKS tells how to
// distribute and rotate them.
type RingKey struct {
	ID      string
	Private crypto.Signer    // ed25519.PrivateKey or *ecdsa.PrivateKey (P-256)
	Public  crypto.PublicKey // derived from Private when nil
}

// GenerateRingKey returns a new Ed25519 ring key with the given ID.
func GenerateRingKey(id string) (RingKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return RingKey{}, err
	}
	return RingKey{ID: id, Private: priv}, nil
}

// KeyRing holds the keys of internal tenant assertions: the one that signs
// new assertions and every key whose assertions are still accepted. To
// rotate, first deploy a ring that accepts the new key everywhere, then
// make it the signing key, then drop the old one once its last assertions
// have expired (seconds later).
type KeyRing struct {
	alg    string
	method jwt.SigningMethod
	signer crypto.Signer // nil for a verify-only ring
	kid    string
	keys   map[string]*publicKey
}

// NewKeyRing returns a ring that signs with sign (when sign.Private is set)
// and accepts assertions signed by sign and by every key of accept. All keys
// must be of one algorithm, EdDSA (Ed25519) or ES256 (P-256); the ring
// accepts no other algorithm. A key with only Public set is verify-only: in
// the sign position it makes a ring that verifies but whose Mint fails with
// ErrConfig. A key with both set must have Public match Private. Keys are
// checked as PublicJWK checks them; errors wrap ErrRingKey.
func NewKeyRing(sign RingKey, accept ...RingKey) (*KeyRing, error) {
	r := &KeyRing{keys: make(map[string]*publicKey, 1+len(accept))}
	for i, k := range append([]RingKey{sign}, accept...) {
		alg, pub, err := k.public()
		if err != nil {
			return nil, fmt.Errorf("ring key %d: %w", i, err)
		}
		if r.alg != "" && r.alg != alg {
			return nil, fmt.Errorf("%w: ring mixes %s and %s keys", ErrConfig, r.alg, alg)
		}
		if _, dup := r.keys[k.ID]; dup {
			return nil, fmt.Errorf("%w: ring key ID %s used twice", ErrConfig, k.ID)
		}
		r.alg = alg
		r.keys[k.ID] = &publicKey{kid: k.ID, alg: alg, key: pub}
		if i == 0 && k.Private != nil {
			r.signer, r.kid = k.Private, k.ID
		}
	}
	r.method = jwt.GetSigningMethod(r.alg)
	return r, nil
}

// Assertion is the signed internal assertion propagator: a short-lived JWS
// naming the tenant, tier, subject and the audience (the receiving service),
// carried in the Tenant-Assertion header or tenant-assertion metadata key.
//
// Minted assertions are reused for the same tenant until shortly before they
// expire, and verified ones are cached until they expire, so a steady stream
// of calls costs neither a signature nor a verification per call. Both sides
// of a hop build an Assertion with the same audience; a service that calls
// several others uses one Assertion per audience.
type Assertion struct {
	ring        *KeyRing
	audience    string
	issuer      string
	ttl         time.Duration
	renewBefore time.Duration
	now         func() time.Time
	minted      *boundedCache[mintKey, *mintEntry]
	verifier    *Verifier
	header      string // base64url of the fixed JWS header
	// fields is what Fields returns: built once, because the propagation
	// rules ask for it on every request and call.
	fields []string
}

type mintKey struct{ id, tier, subject string }

type mintEntry struct {
	token   string
	renewAt time.Time
}

func (e *mintEntry) expiry() time.Time { return e.renewAt }

// WithAssertionTTL sets the lifetime of minted assertions (default
// DefaultAssertionTTL, between 1 second and 5 minutes). NewAssertion only.
func WithAssertionTTL(d time.Duration) Option {
	return func(c *config) {
		if !c.applies("WithAssertionTTL", forAssertion) {
			return
		}
		if d < time.Second || d > 5*time.Minute {
			c.fail("WithAssertionTTL(%v): outside [1s, 5m]", d)
			return
		}
		c.assertionTTL = d
	}
}

// WithAssertionIssuer sets the "iss" of minted assertions and the only one
// accepted (default DefaultAssertionIssuer); it may not be empty.
// NewAssertion only.
func WithAssertionIssuer(iss string) Option {
	return func(c *config) {
		if !c.applies("WithAssertionIssuer", forAssertion) {
			return
		}
		if iss == "" {
			c.fail("WithAssertionIssuer(%q): an empty issuer", iss)
			return
		}
		c.assertionIssuer = iss
	}
}

// NewAssertion returns the assertion propagator for one audience: the name
// of the service that receives the assertions. It takes [WithClock],
// [WithLeeway], [WithCacheSize], [WithAssertionTTL] and
// [WithAssertionIssuer]; any other option, an invalid value, a nil ring or
// an empty audience is an error wrapping [ErrConfig].
func NewAssertion(ring *KeyRing, audience string, opts ...Option) (*Assertion, error) {
	cfg := newConfig(forAssertion, opts)
	if cfg.err != nil {
		return nil, cfg.err
	}
	if ring == nil {
		return nil, fmt.Errorf("%w: NewAssertion: the key ring is nil", ErrConfig)
	}
	if audience == "" {
		return nil, fmt.Errorf("%w: NewAssertion: the audience is empty", ErrConfig)
	}
	vcfg := newConfig(forVerifier, []Option{
		WithAlgorithms(ring.alg),
		WithTenantClaim(assertionTenantClaim),
		WithTierClaim(assertionTierClaim),
		WithLeeway(cfg.leeway),
		WithClock(cfg.now),
		WithCacheSize(cfg.cacheSize),
		WithMaxTokenSize(2048),
	})
	if vcfg.err != nil {
		return nil, vcfg.err
	}
	v, err := newVerifier(vcfg, []Issuer{{URL: cfg.assertionIssuer, Audiences: []string{audience}, Types: []string{AssertionType}}}, ring.keys)
	if err != nil {
		return nil, err
	}
	a := &Assertion{
		fields:      []string{tenant.AssertionKey},
		ring:        ring,
		audience:    audience,
		issuer:      cfg.assertionIssuer,
		ttl:         cfg.assertionTTL,
		renewBefore: max(cfg.assertionTTL/5, time.Second),
		now:         cfg.now,
		verifier:    v,
	}
	if cfg.cacheSize > 0 {
		a.minted = newBoundedCache[mintKey, *mintEntry](cfg.cacheSize)
	}
	if ring.signer != nil {
		h, _ := json.Marshal(map[string]string{"alg": ring.alg, "kid": ring.kid, "typ": AssertionType})
		a.header = base64.RawURLEncoding.EncodeToString(h)
	}
	return a, nil
}

// Inject writes an assertion for the tenant in ctx.
func (a *Assertion) Inject(ctx context.Context, c tenant.Carrier) error {
	t, err := tenant.Require(ctx)
	if err != nil {
		return err
	}
	token, err := a.Mint(t)
	if err != nil {
		return err
	}
	c.Set(tenant.AssertionKey, token)
	return nil
}

// Mint returns an assertion for t, reusing a cached one that is not close
// to expiry.
func (a *Assertion) Mint(t tenant.Tenant) (string, error) {
	if t.IsZero() {
		return "", tenant.ErrNoTenant
	}
	if a.ring.signer == nil {
		return "", fmt.Errorf("%w: the key ring has no signing key", ErrConfig)
	}
	now := a.now()
	sub := t.Subject()
	k := mintKey{t.ID(), t.Tier(), sub}
	if a.minted != nil {
		if e, ok := a.minted.get(k, now); ok {
			return e.token, nil
		}
	}
	claims := map[string]any{
		"iss":                a.issuer,
		"aud":                a.audience,
		assertionTenantClaim: t.ID(),
		"iat":                now.Unix(),
		"exp":                now.Add(a.ttl).Unix(),
	}
	if tier := t.Tier(); tier != "" {
		claims[assertionTierClaim] = tier
	}
	if sub != "" {
		claims["sub"] = sub
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := a.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := a.ring.method.Sign(signing, a.ring.signer)
	if err != nil {
		return "", fmt.Errorf("tenant: sign assertion: %w", err)
	}
	token := signing + "." + base64.RawURLEncoding.EncodeToString(sig)
	if a.minted != nil {
		// exp is whole seconds; renew against the truncated expiry.
		exp := time.Unix(now.Add(a.ttl).Unix(), 0)
		a.minted.put(k, &mintEntry{token: token, renewAt: exp.Add(-a.renewBefore)}, now)
	}
	return token, nil
}

// Extract verifies the assertion in c: signature by a ring key with the
// ring's algorithm, issuer, audience, expiry and tenant ID. Errors wrap
// ErrInvalidToken and the reason, as a Verifier's do.
func (a *Assertion) Extract(ctx context.Context, c tenant.Carrier) (tenant.Tenant, error) {
	token := c.Get(tenant.AssertionKey)
	if token == "" {
		return tenant.Tenant{}, ErrMissingAssertion
	}
	return a.verifier.Verify(ctx, token)
}

// Verify checks one assertion token.
func (a *Assertion) Verify(ctx context.Context, token string) (tenant.Tenant, error) {
	return a.verifier.Verify(ctx, token)
}

// Fields returns the Tenant-Assertion key. The slice is shared: callers
// must not modify it.
func (a *Assertion) Fields() []string { return a.fields }

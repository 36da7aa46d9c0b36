package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantkit/tenantkit/tenant"
)

// Verifier turns a bearer token into a Tenant. It checks the signature
// against the keys of the issuer the token names, the registered claims,
// the issuer's audience rules and the tenant claim. It is safe for
// concurrent use; Close stops its background key refresh.
type Verifier struct {
	cfg       *config
	issuers   map[string]*trustedIssuer
	algs      map[string]bool
	validator *jwt.Validator
	cache     *tokenCache // nil when caching is off

	// relayable: the tokens verified are bearer tokens that Relay may send
	// on. Internal assertions are not: each hop mints its own.
	relayable bool

	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup // the refresh loop and every key fetch
}

type trustedIssuer struct {
	Issuer
	keys    *keySet
	tenants map[string]struct{} // the tenants it may assert; nil for any
	types   map[string]bool     // accepted normalized typ values; nil for the default rule
}

// NewVerifier returns a Verifier that trusts the given issuers. It does not
// fetch keys itself: a background loop starts fetching at once and then
// refreshes every refresh interval, and a token with an unknown key ID
// triggers a fetch (see WithMissCooldown). Call Close when done.
func NewVerifier(issuers []Issuer, opts ...Option) (*Verifier, error) {
	cfg := newConfig(forVerifier, opts)
	if cfg.err != nil {
		return nil, cfg.err
	}
	if len(issuers) == 0 {
		return nil, fmt.Errorf("%w: no issuers", ErrConfig)
	}
	for _, is := range issuers {
		if err := is.validate(); err != nil {
			return nil, err
		}
		if len(issuers) > 1 && len(is.Tenants) == 0 && !is.AnyTenant {
			return nil, fmt.Errorf("%w: issuer %s: with several issuers, each sets Tenants or AnyTenant", ErrConfig, is.URL)
		}
	}
	return newVerifier(cfg, issuers, nil)
}

// newVerifier builds a Verifier. With static keys (used for internal
// assertions, whose keys come from a KeyRing) the one issuer never fetches
// keys and no refresh goroutine runs.
func newVerifier(cfg *config, issuers []Issuer, static map[string]*publicKey) (*Verifier, error) {
	v := &Verifier{
		cfg:     cfg,
		issuers: make(map[string]*trustedIssuer, len(issuers)),
		algs:    make(map[string]bool, len(cfg.algorithms)),
		stop:    make(chan struct{}),

		relayable: static == nil,
	}
	for _, a := range cfg.algorithms {
		v.algs[a] = true
	}
	if cfg.cacheSize > 0 {
		v.cache = newTokenCache(cfg.cacheSize)
	}
	var client *http.Client
	if static == nil {
		client = guardClient(cfg.client)
	}
	for _, is := range issuers {
		if _, dup := v.issuers[is.URL]; dup {
			return nil, fmt.Errorf("%w: issuer %s listed twice", ErrConfig, is.URL)
		}
		ks := &keySet{
			issuer:       is.URL,
			client:       client,
			fetchTimeout: cfg.fetchTimeout,
			cooldown:     cfg.missCooldown,
			fresh:        cfg.refreshInterval,
			onError:      cfg.onFetchError,
			now:          cfg.now,
			wg:           &v.wg,
		}
		if static != nil {
			ks.static, ks.fetched = true, true
			ks.keys.Store(&static)
		}
		if is.JWKSURL != "" {
			u := is.JWKSURL
			ks.jwksURL.Store(&u)
		}
		if v.cache != nil {
			ks.onRemove = func(kid string) { v.cache.dropKey(ks, kid) }
		}
		v.issuers[is.URL] = &trustedIssuer{Issuer: is, keys: ks, tenants: is.tenantSet(), types: typeSet(is.Types)}
	}
	v.validator = jwt.NewValidator(
		jwt.WithLeeway(cfg.leeway),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(cfg.now),
	)
	if static == nil {
		v.wg.Add(1)
		go v.refreshLoop()
	}
	return v, nil
}

// Close stops the background refresh and waits for fetches in flight. A
// closed Verifier still verifies tokens with the keys it holds.
func (v *Verifier) Close() error {
	v.once.Do(func() { close(v.stop) })
	v.wg.Wait()
	return nil
}

func (v *Verifier) refreshLoop() {
	defer v.wg.Done()
	for {
		var wg sync.WaitGroup
		for _, ti := range v.issuers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = ti.keys.refresh() // failures keep the old keys; misses retry
			}()
		}
		wg.Wait()
		t := time.NewTimer(v.cfg.refreshInterval)
		select {
		case <-v.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Check fetches the keys of every issuer, or keeps the ones fetched within
// the refresh interval, and reports each issuer it could not get keys
// from: a startup or readiness check. The error joins one error per failed
// issuer, naming it and wrapping the cause; it matches ErrKeysUnavailable
// when that issuer has no keys at all (an issuer whose refresh fails while
// earlier keys are still in use is reported without it). ctx bounds the
// wait; the fetches themselves are bounded by the fetch timeout.
func (v *Verifier) Check(ctx context.Context) error {
	urls := make([]string, 0, len(v.issuers))
	for u := range v.issuers {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = v.issuers[u].keys.check(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Verify checks token (the compact JWS, without any "Bearer " prefix) and
// returns the Tenant it proves. Errors wrap ErrInvalidToken and a specific
// reason, except ErrKeysUnavailable (the issuer could not be reached; the
// error also wraps why, such as an *HTTPStatusError, a network error, a
// timeout or ErrFetchRefused) and
// ErrForbidden errors from a WithCheck hook, which runs on every call, the
// cached ones included. ctx bounds a key fetch the token may cause and is
// passed to the hook.
func (v *Verifier) Verify(ctx context.Context, token string) (tenant.Tenant, error) {
	if len(token) > v.cfg.maxTokenSize {
		return tenant.Tenant{}, tokenErr(ErrTooLarge, "")
	}
	var (
		t   tenant.Tenant
		kid string
		hit bool
	)
	if v.cache != nil {
		t, kid, hit = v.cache.get(token, v.cfg.now())
	}
	if !hit {
		var err error
		if t, kid, err = v.verify(ctx, token); err != nil {
			return tenant.Tenant{}, err
		}
	}
	return v.admit(ctx, t, kid)
}

// admit runs the WithCheck hook. It runs on every request, cache hits
// included, so that a verdict such as a suspension applies at once to
// tokens verified before it.
func (v *Verifier) admit(ctx context.Context, t tenant.Tenant, kid string) (tenant.Tenant, error) {
	if v.cfg.check == nil {
		return t, nil
	}
	if err := v.cfg.check(ctx, t); err != nil {
		if errors.Is(err, tenant.ErrForbidden) {
			return tenant.Tenant{}, err
		}
		if cerr := ctx.Err(); cerr != nil {
			// The hook gave up because the request did: its error says
			// nothing about the token, so it must not read as a 401.
			return tenant.Tenant{}, fmt.Errorf("authn: check: %w", cerr)
		}
		return tenant.Tenant{}, &tenant.TokenError{Reason: ErrRejected, Issuer: t.Issuer(), KeyID: kid}
	}
	return t, nil
}

// verify checks a token that is not in the cache and caches it. It returns
// the Tenant and the ID of the key that verified it; the WithCheck hook has
// not run yet.
func (v *Verifier) verify(ctx context.Context, token string) (tenant.Tenant, string, error) {
	if strings.Count(token, ".") != 2 {
		return tenant.Tenant{}, "", tokenErr(ErrMalformed, "want three dot-separated parts")
	}
	j, err := parseJWS(token)
	if err != nil {
		return tenant.Tenant{}, "", err
	}
	alg, _, _ := j.headerString("alg")
	if !v.algs[alg] {
		return tenant.Tenant{}, "", tokenErr(ErrAlgorithm, "")
	}
	for _, h := range [...]string{"jku", "x5u", "jwk", "x5c"} {
		// Keys or key locations chosen by the token's author are never
		// used; a token that offers them is not from an issuer we
		// configured.
		if _, ok := j.header[h]; ok {
			return tenant.Tenant{}, "", tokenErr(ErrHeader, h)
		}
	}
	if _, ok := j.header["crit"]; ok {
		return tenant.Tenant{}, "", tokenErr(ErrCritical, "")
	}
	kid, _, _ := j.headerString("kid")
	if kid == "" {
		return tenant.Tenant{}, "", tokenErr(ErrMissingKeyID, "")
	}
	var ti *trustedIssuer
	if j.iss != nil {
		if iss, ok := jsonString(j.iss); ok {
			ti = v.issuers[iss]
		}
	}
	if ti == nil {
		return tenant.Tenant{}, "", tokenErr(ErrIssuer, "")
	}
	if err := checkType(ti.types, j); err != nil {
		return tenant.Tenant{}, "", err
	}
	key, err := ti.keys.keyFor(ctx, kid)
	if err != nil {
		return tenant.Tenant{}, "", v.mapError(err, nil, nil)
	}
	if !key.accepts(alg) {
		return tenant.Tenant{}, "", &tenant.TokenError{Reason: ErrAlgorithm, Issuer: ti.URL, KeyID: key.kid, Detail: "key does not match algorithm"}
	}
	// The signature is checked before the claims are decoded: until it
	// verifies, the payload is attacker-controlled bytes.
	if err := jwt.GetSigningMethod(alg).Verify(j.signing, j.sig, key.key); err != nil {
		return tenant.Tenant{}, "", &tenant.TokenError{Reason: ErrSignature, Issuer: ti.URL, KeyID: key.kid}
	}
	var claims claimSet
	if err := json.Unmarshal(j.payload, &claims); err != nil {
		return tenant.Tenant{}, "", v.mapError(err, ti, key)
	}
	if iss, _ := claims.str("iss"); iss != ti.URL {
		// The scan and the decoder disagree on "iss"; trust neither.
		return tenant.Tenant{}, "", &tenant.TokenError{Reason: ErrIssuer, Issuer: ti.URL, KeyID: key.kid, Detail: "ambiguous iss"}
	}
	if err := v.validator.Validate(&claims); err != nil {
		// As golang-jwt's parser does, so that mapError sees the same.
		return tenant.Tenant{}, "", v.mapError(errors.Join(jwt.ErrTokenInvalidClaims, err), ti, key)
	}
	fail := func(reason error, detail string) (tenant.Tenant, string, error) {
		return tenant.Tenant{}, "", &tenant.TokenError{Reason: reason, Issuer: ti.URL, KeyID: key.kid, Detail: detail}
	}
	if _, ok := claims.m["events"]; ok {
		// RFC 8417 and OpenID Connect back-channel logout: an event
		// report, not a credential, whatever its typ says.
		return fail(ErrTokenType, "token carries an events claim")
	}
	if err := ti.checkAudience(&claims); err != nil {
		return fail(err, "")
	}
	for _, name := range v.cfg.requiredClaims {
		if _, ok := claims.m[name]; !ok {
			return fail(ErrMissingClaim, "claim "+strconv.Quote(name))
		}
	}
	id, ok := claims.str(v.cfg.tenantClaim)
	if !ok {
		if _, present := claims.m[v.cfg.tenantClaim]; present {
			return fail(ErrTenantClaim, "claim "+strconv.Quote(v.cfg.tenantClaim)+" is not a string")
		}
		return fail(ErrTenantClaim, "claim "+strconv.Quote(v.cfg.tenantClaim)+" missing")
	}
	if tenant.ValidateID(id) != nil {
		return fail(ErrTenantClaim, "claim "+strconv.Quote(v.cfg.tenantClaim)+" is not a valid tenant ID")
	}
	if claims.caseVariant(v.cfg.tenantClaim) {
		return fail(ErrDuplicateClaim, "tenant claim "+strconv.Quote(v.cfg.tenantClaim)+" has a case variant")
	}
	if ti.tenants != nil {
		if _, ok := ti.tenants[id]; !ok {
			return fail(ErrTenantNotAllowed, "")
		}
	}
	tier := v.cfg.defaultTier
	if raw, present := claims.m[v.cfg.tierClaim]; present {
		s, ok := raw.(string)
		if !ok {
			return fail(ErrTierClaim, "claim "+strconv.Quote(v.cfg.tierClaim)+" is not a string")
		}
		if tenant.ValidateID(s) != nil {
			return fail(ErrTierClaim, "claim "+strconv.Quote(v.cfg.tierClaim)+" is not a valid tier name")
		}
		tier = s
	}
	if claims.caseVariant(v.cfg.tierClaim) {
		return fail(ErrDuplicateClaim, "tier claim "+strconv.Quote(v.cfg.tierClaim)+" has a case variant")
	}
	sub, _ := claims.str("sub")
	proof := tenant.Proof{Issuer: ti.URL, Subject: sub, Claims: claims.m}
	if v.relayable {
		proof.Token = token
	}
	t, err := tenant.Verified(id, tier, proof)
	if err != nil { // unreachable: id and tier were checked above
		return fail(ErrTenantClaim, "")
	}
	if v.cache != nil {
		exp, _ := claims.GetExpirationTime() // present: the parser requires it
		v.cache.put(token, &cacheEntry{tenant: t, exp: exp.Time, keys: ti.keys, key: key}, v.cfg.now())
	}
	return t, key.kid, nil
}

// mapError turns the errors of key lookup, claims decoding and golang-jwt's
// claims validator into ours. Our own errors pass through; the others'
// messages are dropped because some of them quote decoded token bytes.
func (v *Verifier) mapError(err error, ti *trustedIssuer, key *publicKey) error {
	var te *tenant.TokenError
	if errors.As(err, &te) {
		return te
	}
	if errors.Is(err, ErrKeysUnavailable) {
		return err // names the issuer and wraps the fetch failure
	}
	if cerr := contextError(err); cerr != nil {
		return fmt.Errorf("authn: check: %w", cerr)
	}
	reason, detail := errUnknownReason, ""
	switch {
	case errors.Is(err, errDuplicateMember):
		reason, detail = ErrDuplicateClaim, "payload names a member twice"
	case isJSONError(err):
		reason, detail = ErrMalformed, "claims are not a JSON object"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		reason = ErrMissingExpiry
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		reason = ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason = ErrIssuedInFuture
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		reason, detail = ErrMalformed, "registered claim of the wrong type"
	}
	te = &tenant.TokenError{Reason: reason, Detail: detail}
	if ti != nil && key != nil {
		te.Issuer, te.KeyID = ti.URL, key.kid
	}
	return te
}

func isJSONError(err error) bool {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	return errors.As(err, &syntax) || errors.As(err, &typ)
}

func contextError(err error) error {
	for _, target := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, target) {
			return target
		}
	}
	return nil
}

var _ tenant.TokenVerifier = (*Verifier)(nil)

package apikey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/tenantkit/tenantkit/internal/lookupcache"
	"github.com/tenantkit/tenantkit/tenant"
)

// fetchTimeout bounds one store lookup, which runs detached from the
// contexts of the requests waiting for it.
const fetchTimeout = 10 * time.Second

// Verifier verifies API keys against a Store. It implements
// tenant.TokenVerifier: give it to the adapters through Dispatch (bearer
// tokens) or Header (X-API-Key). It is safe for concurrent use.
//
// Verified keys are cached by key ID for the TTL; past it the store is
// asked again, and while the store fails a cached key is served for up to
// the maximum staleness more. Unknown key IDs are cached for the negative
// TTL, concurrent lookups of one key ID are merged into one store call, and
// Invalidate and InvalidateAll (for a fleet-wide feed) drop entries at once.
// A malformed key, bad checksum included, is refused without a lookup.
type Verifier struct {
	cfg   config
	store Store
	cache *lookupcache.Cache[entry]
}

// entry is what the cache holds of a key ID the store knows. It never
// changes once stored.
type entry struct {
	key     string   // the full key that verified, for the fast path
	hash    [32]byte // the stored digest
	tenant  tenant.Tenant
	expires time.Time
	revoked time.Time
}

// NewVerifier returns a Verifier of the keys in s. It returns an error
// wrapping ErrInvalidOption for an invalid option.
func NewVerifier(s Store, opts ...Option) (*Verifier, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrInvalidOption)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, store: s}
	// Now is always set: Verify reads the clock anyway, for revocation
	// and expiry, and gives it to the cache (PeekAt).
	v.cache = lookupcache.New[entry](nil, lookupcache.Options{TTL: cfg.ttl, MaxStale: cfg.maxStale,
		NegativeTTL: cfg.negTTL, LookupTimeout: fetchTimeout, Size: cfg.cacheSize, Now: cfg.now, NotFound: ErrNotFound})
	return v, nil
}

// Prefix returns the prefix of the keys v verifies.
func (v *Verifier) Prefix() string { return v.cfg.prefix }

// Verify returns the tenant of key. The Tenant's issuer is Issuer, its
// subject the key ID, its tier the key's override or "" (a directory
// verifier then supplies the tenant's), and it holds no credential that
// tenant.Relay could send on: a key never leaves the service it was given
// to. Its claim "scope" holds the key's scopes, space-separated.
//
// A refused key yields a *tenant.TokenError wrapping ErrMalformedKey,
// ErrUnknownKey (also for a wrong secret), ErrRevoked or ErrExpired; a
// store that cannot answer an error wrapping tenant.ErrUnavailable; a
// context that ended, the context's error.
func (v *Verifier) Verify(ctx context.Context, key string) (tenant.Tenant, error) {
	p := len(v.cfg.prefix)
	if len(key) != p+1+BodyLen || key[:p] != v.cfg.prefix || key[p] != '_' {
		return tenant.Tenant{}, malformed
	}
	id := key[p+1 : p+1+IDLen]
	now := v.cfg.now()
	if e, found, ok := v.cache.PeekAt(id, now); ok {
		if found && e.key != "" && constantTimeEqual(e.key, key) {
			return e.check(now)
		}
		if _, _, ok := parse(v.cfg.prefix, key); !ok {
			return tenant.Tenant{}, malformed
		}
		if !found {
			return tenant.Tenant{}, refused(ErrUnknownKey, id, "no such key")
		}
		return v.match(e, key, now)
	}
	k, err := Parse(v.cfg.prefix, key)
	if err != nil {
		return tenant.Tenant{}, err
	}
	// The store's answer, or while it fails the last one within the
	// max-stale bound; the lookup is shared with concurrent callers, and
	// cached unless an invalidation comes meanwhile.
	e, err := v.cache.LoadWith(ctx, id, func(ctx context.Context, id string) (entry, error) {
		return v.lookup(ctx, k, id)
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return tenant.Tenant{}, refused(ErrUnknownKey, id, "no such key")
	case err != nil:
		return tenant.Tenant{}, err
	}
	return v.match(&e, key, now)
}

// match checks key's secret against e's digest, then e itself.
func (v *Verifier) match(e *entry, key string, now time.Time) (tenant.Tenant, error) {
	id := key[len(v.cfg.prefix)+1:][:IDLen]
	secret := key[len(v.cfg.prefix)+1+IDLen:][:SecretLen]
	d := digest(v.cfg.pepper, id, secret)
	if subtle.ConstantTimeCompare(d[:], e.hash[:]) != 1 {
		return tenant.Tenant{}, refused(ErrUnknownKey, id, "no such key")
	}
	return e.check(now)
}

// check refuses a revoked or expired key.
func (e *entry) check(now time.Time) (tenant.Tenant, error) {
	if !e.revoked.IsZero() && !now.Before(e.revoked) {
		return tenant.Tenant{}, refused(ErrRevoked, e.tenant.Subject(), "the key was revoked")
	}
	if !e.expires.IsZero() && !now.Before(e.expires) {
		return tenant.Tenant{}, refused(ErrExpired, e.tenant.Subject(), "the key expired")
	}
	return e.tenant, nil
}

// lookup is the cache's loader for key k, of ID id.
func (v *Verifier) lookup(ctx context.Context, k Key, id string) (entry, error) {
	r, err := v.store.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return entry{}, ErrNotFound
	case err != nil:
		return entry{}, fmt.Errorf("%w: apikey: key store: %w", tenant.ErrUnavailable, err)
	}
	return v.newEntry(r, k)
}

// newEntry builds the cache entry of r, found for key k.
func (v *Verifier) newEntry(r Record, k Key) (entry, error) {
	if r.KeyID != k.ID || len(r.Hash) != sha256.Size {
		return entry{}, fmt.Errorf("%w: apikey: key store returned a bad record", tenant.ErrUnavailable)
	}
	claims := map[string]any{"scope": strings.Join(r.Scopes, " ")}
	t, err := tenant.Verified(r.TenantID, r.Tier, tenant.Proof{Issuer: Issuer, Subject: r.KeyID, Claims: claims})
	if err != nil {
		return entry{}, fmt.Errorf("%w: apikey: key store returned a bad record: %w", tenant.ErrUnavailable, err)
	}
	e := entry{tenant: t, expires: r.ExpiresAt, revoked: r.RevokedAt}
	copy(e.hash[:], r.Hash)
	d := digest(v.cfg.pepper, k.ID, k.secret)
	if subtle.ConstantTimeCompare(d[:], e.hash[:]) == 1 {
		e.key = format(k.Prefix, k.ID, k.secret)
	}
	return e, nil
}

// Invalidate drops what v caches of keyID, so that the next Verify of it
// asks the store. A lookup already under way is not cached.
func (v *Verifier) Invalidate(keyID string) { v.cache.Invalidate(keyID) }

// InvalidateAll drops everything v caches.
func (v *Verifier) InvalidateAll() { v.cache.InvalidateAll() }

// digest is the stored form of a secret: SHA-256, or HMAC-SHA-256 under
// pepper, of the key ID and the secret (both of fixed length).
func digest(pepper []byte, id, secret string) [32]byte {
	var out [32]byte
	if pepper == nil {
		h := sha256.New()
		h.Write([]byte(id))
		h.Write([]byte(secret))
		h.Sum(out[:0])
		return out
	}
	h := hmac.New(sha256.New, pepper)
	h.Write([]byte(id))
	h.Write([]byte(secret))
	h.Sum(out[:0])
	return out
}

// constantTimeEqual compares a and b in time that depends only on their
// lengths.
func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare(unsafe.Slice(unsafe.StringData(a), len(a)), unsafe.Slice(unsafe.StringData(b), len(b))) == 1
}

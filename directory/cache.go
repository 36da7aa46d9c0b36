package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/tenantkit/tenantkit/internal/lookupcache"
	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/tenant"
)

// Cache is a caching layer in front of any [Directory]: a bounded map of
// answers, each used for a TTL, served stale up to a maximum while the
// directory fails, with unknown tenants remembered briefly and concurrent
// misses for one tenant merged into one lookup. It is itself a Directory,
// and safe for concurrent use.
type Cache struct {
	d   Directory
	cfg config
	lc  *lookupcache.Cache[Entry]
}

// NewCache returns a Cache in front of d.
func NewCache(d Directory, opts ...Option) (*Cache, error) {
	if err := nilarg.Check("directory", "Directory", d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	cfg := newConfig(opts)
	if cfg.err != nil {
		return nil, cfg.err
	}
	c := &Cache{d: d, cfg: cfg}
	o := lookupcache.Options{TTL: cfg.ttl, MaxStale: cfg.maxStale, NegativeTTL: cfg.negTTL,
		RetryInterval: retryInterval, LookupTimeout: cfg.lookupTimeout, Size: cfg.size, NotFound: ErrNotFound}
	if cfg.injected {
		o.Now = cfg.now // hits read it; on the real clock they read a timer-set flag
	}
	c.lc = lookupcache.New(c.load, o)
	return c, nil
}

// Lookup returns the entry of id: from the cache while fresh, else from the
// directory. When the directory fails, an answer up to the max-stale window
// old is served; with none, the error wraps [ErrUnavailable]. An unknown
// tenant's error wraps [ErrNotFound]. When ctx ends first, Lookup returns
// ctx's error.
func (c *Cache) Lookup(ctx context.Context, id string) (Entry, error) {
	if r, ok := c.lc.Record(id); ok && c.lc.Fresh(r) {
		if !r.Found() {
			return Entry{}, ErrNotFound
		}
		return *r.Value(), nil
	}
	return c.miss(ctx, id)
}

// miss loads id, which is not cached fresh.
func (c *Cache) miss(ctx context.Context, id string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	if tenant.ValidateID(id) != nil {
		return Entry{}, ErrNotFound // no directory holds an invalid ID
	}
	return c.lc.Load(ctx, id)
}

// load is the cache's loader: it looks id up in the directory, and keeps
// only valid entries.
func (c *Cache) load(ctx context.Context, id string) (Entry, error) {
	e, err := c.d.Lookup(ctx, id)
	if err == nil {
		if err = e.Validate(); err == nil {
			return e, nil
		}
	}
	if errors.Is(err, ErrNotFound) {
		return Entry{}, ErrNotFound
	}
	return Entry{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Invalidate forgets what is cached of id, including the answer of a
// lookup in flight: the next Lookup asks the directory.
func (c *Cache) Invalidate(id string) { c.lc.Invalidate(id) }

// InvalidateAll forgets everything cached.
func (c *Cache) InvalidateAll() { c.lc.InvalidateAll() }

// Admit checks t against the directory: an active tenant is returned with
// the directory's tier (and plan override) in place of its credential's;
// a suspended, offboarded or (by default) unknown tenant is refused with
// [ErrSuspended], [ErrOffboarded] or [ErrUnknownTenant]; when the
// directory cannot answer and nothing usable is cached, the error wraps
// [ErrUnavailable]; when ctx ends first, it is ctx's error. A cached answer
// costs no allocation.
func (c *Cache) Admit(ctx context.Context, t tenant.Tenant) (tenant.Tenant, error) {
	rec, ok := c.lc.Record(t.ID())
	if !ok || !c.lc.Fresh(rec) {
		return c.admit(ctx, t)
	}
	if r := rec.Value(); !rec.Found() || r.Status != Active {
		return c.refuse(t, *r, rec.Found())
	}
	// The override, written out here so that WithTier and WithPlan inline:
	// a Tenant is copied once per call instead of once per function.
	var err error
	if e := rec.Value(); e.Tier != "" && e.Tier != t.Tier() {
		if t, err = t.WithTier(e.Tier); err != nil {
			return tenant.Tenant{}, invalidOverride(err)
		}
	}
	if e := rec.Value(); e.Plan != "" {
		if t, err = t.WithPlan(e.Plan); err != nil {
			return tenant.Tenant{}, invalidOverride(err)
		}
	}
	return t, nil
}

// admit is Admit on a miss: it looks the tenant up, then decides.
func (c *Cache) admit(ctx context.Context, t tenant.Tenant) (tenant.Tenant, error) {
	if t.IsZero() {
		return tenant.Tenant{}, tenant.ErrNoTenant
	}
	e, err := c.Lookup(ctx, t.ID())
	switch {
	case errors.Is(err, ErrNotFound):
		return c.refuse(t, e, false)
	case err != nil:
		return tenant.Tenant{}, err
	case e.Status != Active:
		return c.refuse(t, e, true)
	}
	if e.Tier != "" && e.Tier != t.Tier() {
		if t, err = t.WithTier(e.Tier); err != nil {
			return tenant.Tenant{}, invalidOverride(err)
		}
	}
	if e.Plan != "" {
		if t, err = t.WithPlan(e.Plan); err != nil {
			return tenant.Tenant{}, invalidOverride(err)
		}
	}
	return t, nil
}

// refuse answers a tenant that is not active (e), or not found: an
// unknown tenant is admitted as it is under WithAdmitUnknown.
func (c *Cache) refuse(t tenant.Tenant, e Entry, found bool) (tenant.Tenant, error) {
	switch {
	case !found && c.cfg.admitUnknown:
		return t, nil
	case !found:
		return tenant.Tenant{}, ErrUnknownTenant
	case e.Status == Suspended:
		return tenant.Tenant{}, ErrSuspended
	}
	return tenant.Tenant{}, ErrOffboarded // Lookup stores only valid entries
}

// invalidOverride is the error of an entry whose tier or plan is invalid,
// which Lookup never stores.
func invalidOverride(err error) error { return fmt.Errorf("%w: %w", ErrUnavailable, err) }

// Verifier returns a [tenant.TokenVerifier] that verifies a credential with
// v and then admits its tenant with c.Admit: use it in place of v in the
// server middleware (httpmw.Authenticate, grpcmw.UnaryServerAuthenticate),
// and in the Relay of the client adapters, so that a credential already on
// an outgoing request is compared with the re-tiered tenant of the
// context. A cached verification and a cached directory answer together
// cost no allocation.
//
// A signed assertion (authn.Assertion) carries the tier of the tenant it
// was minted for, so the directory's tier travels with it; a service that
// accepts assertions (httpmw.WithAssertion, grpcmw.WithAssertion) trusts
// the minting service's admission for the assertion's lifetime (seconds).
func Verifier(v tenant.TokenVerifier, c *Cache) tenant.TokenVerifier {
	nilarg.MustDependency("directory", "Verifier", "v", v)
	nilarg.MustDependency("directory", "Verifier", "c", c)
	return &admitting{v: v, c: c}
}

type admitting struct {
	v tenant.TokenVerifier
	c *Cache
}

func (a *admitting) Verify(ctx context.Context, token string) (tenant.Tenant, error) {
	t, err := a.v.Verify(ctx, token)
	if err != nil {
		return tenant.Tenant{}, err
	}
	return a.c.Admit(ctx, t)
}

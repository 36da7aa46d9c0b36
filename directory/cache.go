package directory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/internal/shardmap"
	"github.com/tenantkit/tenantkit/tenant"
)

// cacheShards is the number of shards of a Cache's map.
const cacheShards = 64

// Cache is a caching layer in front of any [Directory]: a bounded map of
// answers, each used for a TTL, served stale up to a maximum while the
// directory fails, with unknown tenants remembered briefly and concurrent
// misses for one tenant merged into one lookup. It is itself a Directory,
// and safe for concurrent use.
type Cache struct {
	d   Directory
	cfg config
	m   *shardmap.Evicting[string, *record]

	mu      sync.Mutex // guards flights; held while storing and deleting records
	flights map[string]*flight
}

// record is one cached answer. Only expired changes once it is stored.
type record struct {
	entry Entry
	found bool
	fresh time.Time // used without a lookup until then
	stale time.Time // served on a lookup failure until then

	// On the real clock, a timer sets expired at fresh, so that a hit
	// reads an atomic flag instead of the clock: time.Now costs more
	// than the rest of a hit. With WithClock, hits read the clock.
	expired atomic.Bool
	timer   *time.Timer
}

// flight is one lookup in progress, shared by every caller that missed.
type flight struct {
	done      chan struct{}
	entry     Entry
	err       error
	forgotten bool // invalidated while in flight: its answer is not stored
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
	return &Cache{d: d, cfg: cfg, m: shardmap.NewEvicting[string, *record](cfg.size, cacheShards),
		flights: make(map[string]*flight)}, nil
}

// Lookup returns the entry of id: from the cache while fresh, else from the
// directory. When the directory fails, an answer up to the max-stale window
// old is served; with none, the error wraps [ErrUnavailable]. An unknown
// tenant's error wraps [ErrNotFound]. When ctx ends first, Lookup returns
// ctx's error.
func (c *Cache) Lookup(ctx context.Context, id string) (Entry, error) {
	r, ok := c.m.Load(id)
	if ok && c.fresh(r) {
		if !r.found {
			return Entry{}, ErrNotFound
		}
		return r.entry, nil
	}
	return c.miss(ctx, id)
}

// fresh reports whether r can be used without a lookup.
func (c *Cache) fresh(r *record) bool {
	if !c.cfg.injected {
		return !r.expired.Load()
	}
	return c.freshAt(r)
}

// freshAt is fresh on the clock of WithClock.
func (c *Cache) freshAt(r *record) bool { return c.cfg.now().Before(r.fresh) }

// miss joins or starts the lookup of id and waits for it or for ctx.
func (c *Cache) miss(ctx context.Context, id string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	if tenant.ValidateID(id) != nil {
		return Entry{}, ErrNotFound // no directory holds an invalid ID
	}
	c.mu.Lock()
	f := c.flights[id]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flights[id] = f
		// The lookup serves every caller that joins it, so one caller
		// giving up does not cut it; its own timeout bounds it.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.lookupTimeout)
		go func() {
			defer cancel()
			c.run(lctx, id, f)
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil && ctx.Err() != nil {
			return Entry{}, ctx.Err() // the caller's end, whatever the lookup's
		}
		return f.entry, f.err
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	}
}

// run looks id up, stores the answer and completes f.
func (c *Cache) run(ctx context.Context, id string, f *flight) {
	e, err := c.d.Lookup(ctx, id)
	if err == nil {
		err = e.Validate()
		if err != nil {
			e = Entry{}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(f.done)
	if !f.forgotten {
		delete(c.flights, id)
	}
	now := c.cfg.now()
	switch {
	case err == nil:
		f.entry = e
		c.store(f, id, &record{entry: e, found: true, fresh: now.Add(c.cfg.ttl), stale: now.Add(c.cfg.ttl + c.cfg.maxStale)})
	case errors.Is(err, ErrNotFound):
		f.err = ErrNotFound
		if c.cfg.negTTL > 0 {
			c.store(f, id, &record{fresh: now.Add(c.cfg.negTTL)})
		} else {
			c.drop(id)
		}
	default:
		if old, ok := c.m.Load(id); ok && old.found && now.Before(old.stale) && !f.forgotten {
			// Serve the last answer, and ask again in a while rather
			// than on every request.
			f.entry = old.entry
			c.store(f, id, &record{entry: old.entry, found: true, stale: old.stale,
				fresh: minTime(now.Add(min(retryInterval, c.cfg.ttl)), old.stale)})
			return
		}
		f.err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
}

// store caches r for id unless f was invalidated. c.mu is held.
func (c *Cache) store(f *flight, id string, r *record) {
	if f.forgotten {
		return
	}
	now := c.cfg.now()
	if !c.cfg.injected {
		r.timer = time.AfterFunc(r.fresh.Sub(now), func() { r.expired.Store(true) })
	}
	if old, ok := c.m.Load(id); ok {
		old.stop()
	}
	c.m.Store(id, r, func(o *record) bool {
		if !now.Before(o.stale) && !now.Before(o.fresh) {
			o.stop()
			return true
		}
		return false
	})
}

// stop stops r's timer, if any, so that it no longer holds r.
func (r *record) stop() {
	if r.timer != nil {
		r.timer.Stop()
	}
}

// drop deletes the record of id. c.mu is held.
func (c *Cache) drop(id string) {
	if old, ok := c.m.Load(id); ok {
		old.stop()
		c.m.CompareAndDelete(id, old)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Invalidate forgets what is cached of id, including the answer of a
// lookup in flight: the next Lookup asks the directory.
func (c *Cache) Invalidate(id string) {
	c.mu.Lock()
	if f := c.flights[id]; f != nil {
		f.forgotten = true
		delete(c.flights, id)
	}
	c.drop(id)
	c.mu.Unlock()
}

// InvalidateAll forgets everything cached.
func (c *Cache) InvalidateAll() {
	c.mu.Lock()
	for id, f := range c.flights {
		f.forgotten = true
		delete(c.flights, id)
	}
	c.m.DeleteFunc(func(_ string, r *record) bool {
		r.stop()
		return true
	})
	c.mu.Unlock()
}

// Admit checks t against the directory: an active tenant is returned with
// the directory's tier (and plan override) in place of its credential's;
// a suspended, offboarded or (by default) unknown tenant is refused with
// [ErrSuspended], [ErrOffboarded] or [ErrUnknownTenant]; when the
// directory cannot answer and nothing usable is cached, the error wraps
// [ErrUnavailable]; when ctx ends first, it is ctx's error. A cached answer
// costs no allocation.
func (c *Cache) Admit(ctx context.Context, t tenant.Tenant) (tenant.Tenant, error) {
	r, ok := c.m.Load(t.ID())
	if !ok || !c.fresh(r) {
		return c.admit(ctx, t)
	}
	if !r.found || r.entry.Status != Active {
		return c.refuse(t, r.entry, r.found)
	}
	// The override, written out here so that WithTier and WithPlan inline:
	// a Tenant is copied once per call instead of once per function.
	var err error
	if e := &r.entry; e.Tier != "" && e.Tier != t.Tier() {
		if t, err = t.WithTier(e.Tier); err != nil {
			return tenant.Tenant{}, invalidOverride(err)
		}
	}
	if e := &r.entry; e.Plan != "" {
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

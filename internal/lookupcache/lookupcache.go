// Package lookupcache is the caching layer that directory.Cache and
// apikey.Verifier share: a bounded map of answers keyed by string, each
// used for a TTL and served stale up to a maximum while the loader fails,
// with unknown keys remembered for a negative TTL and concurrent misses of
// one key merged into one load.
package lookupcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantkit/tenantkit/internal/shardmap"
)

// shards is the number of shards of a Cache's map.
const shards = 64

// Loader looks key up. Its error is classified with [Options.NotFound]:
// one that wraps it is an unknown key; any other is a failure, returned
// to the callers as it is (so the loader wraps it as its package wants).
type Loader[V any] func(ctx context.Context, key string) (V, error)

// Options are a Cache's bounds, all of them fixed at New.
type Options struct {
	// TTL is how long a found answer is used without a load.
	TTL time.Duration
	// MaxStale is how long past its TTL a found answer is still served
	// while the loader fails.
	MaxStale time.Duration
	// NegativeTTL is how long an unknown key is remembered; 0 remembers
	// none.
	NegativeTTL time.Duration
	// RetryInterval bounds how often a key whose loader fails is loaded
	// again while a stale answer is served (capped at TTL); 0 loads it
	// again on every miss.
	RetryInterval time.Duration
	// LookupTimeout bounds one load, which runs detached from the
	// contexts of the callers waiting for it.
	LookupTimeout time.Duration
	// Size bounds the number of keys held (about).
	Size int
	// Now is the clock; nil is time.Now, and then a timer marks each
	// answer expired at the end of its TTL so that a hit reads no clock.
	// With Now set, hits read Now.
	Now func() time.Time
	// NotFound is the error of an unknown key: a loader error wrapping
	// it is cached for NegativeTTL, and Get and Load return it itself.
	NotFound error
}

// Cache is a lookup cache of values V keyed by string. It is safe for
// concurrent use.
type Cache[V any] struct {
	load  Loader[V]
	o     Options
	now   func() time.Time
	timed bool // the real clock: hits read expired
	m     *shardmap.Evicting[string, *Record[V]]

	mu      sync.Mutex // guards flights; held while storing and deleting records
	flights map[string]*flight[V]
	gen     uint64 // bumped by InvalidateAll; guarded by mu
}

// Record is one cached answer. Only expired changes once it is stored.
type Record[V any] struct {
	val   V
	found bool
	fresh time.Time // used without a load until then
	stale time.Time // served on a load failure until then

	// On the real clock, a timer sets expired at fresh, so that a hit
	// reads an atomic flag instead of the clock: time.Now costs more
	// than the rest of a hit.
	expired atomic.Bool
	timer   *time.Timer
}

// flight is one load in progress, shared by every caller that missed.
type flight[V any] struct {
	done      chan struct{}
	val       V
	err       error
	gen       uint64 // the Cache's gen when the flight started
	forgotten bool   // invalidated while in flight: its answer is not stored
}

// New returns an empty Cache whose misses call load.
func New[V any](load Loader[V], o Options) *Cache[V] {
	c := &Cache[V]{load: load, o: o, now: o.Now, m: shardmap.NewEvicting[string, *Record[V]](o.Size, shards),
		flights: make(map[string]*flight[V])}
	if c.now == nil {
		c.now, c.timed = time.Now, true
	}
	return c
}

// Peek returns the answer cached for key while it is fresh, without a
// load: ok reports a fresh answer, found whether it is a value (v) rather
// than an unknown key. v points into the cache and must not be changed.
func (c *Cache[V]) Peek(key string) (v *V, found, ok bool) {
	r, ok := c.m.Load(key)
	if !ok || !c.Fresh(r) {
		return nil, false, false
	}
	return &r.val, r.found, true
}

// Record returns the record cached for key, fresh or not: Peek in two
// steps (Record, then Fresh), each of which inlines, for the hottest
// paths.
func (c *Cache[V]) Record(key string) (*Record[V], bool) { return c.m.Load(key) }

// Fresh reports whether r, a record of c, can be used without a load.
func (c *Cache[V]) Fresh(r *Record[V]) bool {
	if c.timed {
		return !r.expired.Load()
	}
	return c.freshAt(r)
}

// freshAt is Fresh on the clock of Options.Now.
func (c *Cache[V]) freshAt(r *Record[V]) bool { return c.now().Before(r.fresh) }

// Value returns the value of r, which must not be changed; see Found.
func (r *Record[V]) Value() *V { return &r.val }

// Found reports whether r holds a value rather than an unknown key.
func (r *Record[V]) Found() bool { return r.found }

// PeekAt is Peek at time now, for a caller that reads the clock anyway:
// it compares now with the answer's TTL whatever the clock.
func (c *Cache[V]) PeekAt(key string, now time.Time) (v *V, found, ok bool) {
	r, ok := c.m.Load(key)
	if !ok || !now.Before(r.fresh) {
		return nil, false, false
	}
	return &r.val, r.found, true
}

// Get returns the value of key: cached while fresh, else loaded (see Load).
// An unknown key yields Options.NotFound.
func (c *Cache[V]) Get(ctx context.Context, key string) (V, error) {
	if v, found, ok := c.Peek(key); ok {
		if !found {
			var zero V
			return zero, c.o.NotFound
		}
		return *v, nil
	}
	return c.Load(ctx, key)
}

// Load joins or starts the load of key, cached or not, and waits for it or
// for ctx. When the loader fails, an answer up to MaxStale past its TTL is
// served; with none, the loader's error is returned. When ctx ends first,
// or the load fails after ctx ended, Load returns ctx's error; the load
// goes on for the other callers and the cache.
func (c *Cache[V]) Load(ctx context.Context, key string) (V, error) {
	return c.LoadWith(ctx, key, c.load)
}

// LoadWith is Load with load in place of the Cache's loader, should this
// call start the load.
func (c *Cache[V]) LoadWith(ctx context.Context, key string, load Loader[V]) (V, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	c.mu.Lock()
	f := c.flights[key]
	if f == nil {
		f = &flight[V]{done: make(chan struct{}), gen: c.gen}
		c.flights[key] = f
		// The load serves every caller that joins it, so one caller
		// giving up does not cut it; its own timeout bounds it.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.LookupTimeout)
		go func() {
			defer cancel()
			c.run(lctx, key, f, load)
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil && ctx.Err() != nil {
			return zero, ctx.Err() // the caller's end, whatever the load's
		}
		return f.val, f.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// run loads key, stores the answer and completes f.
func (c *Cache[V]) run(ctx context.Context, key string, f *flight[V], load Loader[V]) {
	v, err := load(ctx, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(f.done)
	if f.gen != c.gen {
		f.forgotten = true
	}
	if !f.forgotten {
		delete(c.flights, key)
	}
	now := c.now()
	switch {
	case err == nil:
		f.val = v
		c.store(f, key, &Record[V]{val: v, found: true, fresh: now.Add(c.o.TTL), stale: now.Add(c.o.TTL + c.o.MaxStale)})
	case c.o.NotFound != nil && errors.Is(err, c.o.NotFound):
		f.err = c.o.NotFound
		if c.o.NegativeTTL > 0 {
			c.store(f, key, &Record[V]{fresh: now.Add(c.o.NegativeTTL)})
		} else if !f.forgotten {
			c.drop(key)
		}
	default:
		if old, ok := c.m.Load(key); ok && old.found && now.Before(old.stale) && !f.forgotten {
			// Serve the last answer, and load again in a while rather
			// than on every miss.
			f.val = old.val
			if c.o.RetryInterval > 0 {
				c.store(f, key, &Record[V]{val: old.val, found: true, stale: old.stale,
					fresh: minTime(now.Add(min(c.o.RetryInterval, c.o.TTL)), old.stale)})
			}
			return
		}
		f.err = err
	}
}

// store caches r for key unless f was invalidated. c.mu is held.
func (c *Cache[V]) store(f *flight[V], key string, r *Record[V]) {
	if f.forgotten {
		return
	}
	now := c.now()
	if c.timed {
		r.timer = time.AfterFunc(r.fresh.Sub(now), func() { r.expired.Store(true) })
	}
	if old, ok := c.m.Load(key); ok {
		old.stop()
	}
	c.m.Store(key, r, func(o *Record[V]) bool {
		if !now.Before(o.stale) && !now.Before(o.fresh) {
			o.stop()
			return true
		}
		return false
	})
}

// stop stops r's timer, if any, so that it no longer holds r.
func (r *Record[V]) stop() {
	if r.timer != nil {
		r.timer.Stop()
	}
}

// drop deletes the record of key. c.mu is held.
func (c *Cache[V]) drop(key string) {
	if old, ok := c.m.Load(key); ok {
		old.stop()
		c.m.CompareAndDelete(key, old)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Invalidate forgets what is cached of key, including the answer of a load
// in flight: the next miss loads it again.
func (c *Cache[V]) Invalidate(key string) {
	c.mu.Lock()
	if f := c.flights[key]; f != nil {
		f.forgotten = true
		delete(c.flights, key)
	}
	c.drop(key)
	c.mu.Unlock()
}

// InvalidateAll forgets everything cached, including the answers of the
// loads in flight: it starts a new generation, and a load started in an
// older one stores nothing.
func (c *Cache[V]) InvalidateAll() {
	c.mu.Lock()
	c.gen++
	clear(c.flights)
	c.m.DeleteFunc(func(_ string, r *Record[V]) bool {
		r.stop()
		return true
	})
	c.mu.Unlock()
}

// Len returns the number of keys cached.
func (c *Cache[V]) Len() int { return c.m.Len() }

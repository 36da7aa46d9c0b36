package lookupcache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/internal/lookupcache"
)

var (
	errNotFound = errors.New("not found")
	errDown     = errors.New("down")
	bg          = context.Background()
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// source is a loader over a map, counting its loads.
type source struct {
	mu    sync.Mutex
	vals  map[string]int
	err   error
	block chan struct{}
	loads atomic.Int32
}

func (s *source) load(ctx context.Context, key string) (int, error) {
	s.loads.Add(1)
	s.mu.Lock()
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	v, ok := s.vals[key]
	if !ok {
		return 0, fmt.Errorf("key %q: %w", key, errNotFound)
	}
	return v, nil
}

func (s *source) set(key string, v int) { s.mu.Lock(); s.vals[key] = v; s.mu.Unlock() }
func (s *source) fail(err error)        { s.mu.Lock(); s.err = err; s.mu.Unlock() }
func (s *source) hold(ch chan struct{}) { s.mu.Lock(); s.block = ch; s.mu.Unlock() }

func opts(clk *clock) lookupcache.Options {
	o := lookupcache.Options{TTL: 10 * time.Second, MaxStale: time.Minute, NegativeTTL: 5 * time.Second,
		RetryInterval: time.Second, LookupTimeout: time.Second, Size: 100, NotFound: errNotFound}
	if clk != nil {
		o.Now = clk.Now
	}
	return o
}

func setup(t *testing.T, mod func(*lookupcache.Options)) (*lookupcache.Cache[int], *source, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1e9, 0)}
	s := &source{vals: map[string]int{"a": 1}}
	o := opts(clk)
	if mod != nil {
		mod(&o)
	}
	return lookupcache.New(s.load, o), s, clk
}

func get(t *testing.T, c *lookupcache.Cache[int], key string, want int, wantErr error) {
	t.Helper()
	v, err := c.Get(bg, key)
	if v != want || !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) {
		t.Fatalf("Get(%q) = %d, %v; want %d, %v", key, v, err, want, wantErr)
	}
}

func TestFreshAnswerIsServedForTheTTL(t *testing.T) {
	c, s, clk := setup(t, nil)
	get(t, c, "a", 1, nil)
	s.set("a", 2)
	clk.Advance(9 * time.Second)
	get(t, c, "a", 1, nil)
	if v, found, ok := c.Peek("a"); !ok || !found || *v != 1 {
		t.Fatalf("Peek = %v, %v, %v", v, found, ok)
	}
	clk.Advance(time.Second)
	if _, _, ok := c.Peek("a"); ok {
		t.Fatal("Peek past the TTL")
	}
	get(t, c, "a", 2, nil)
	if n := s.loads.Load(); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}
}

func TestPeekAtComparesTheGivenTime(t *testing.T) {
	c, _, clk := setup(t, nil)
	get(t, c, "a", 1, nil)
	now := clk.Now()
	if _, _, ok := c.PeekAt("a", now.Add(10*time.Second)); ok {
		t.Fatal("PeekAt past the TTL")
	}
	if v, found, ok := c.PeekAt("a", now.Add(9*time.Second)); !ok || !found || *v != 1 {
		t.Fatalf("PeekAt = %v, %v, %v", v, found, ok)
	}
}

func TestRealClockExpiresByTimer(t *testing.T) {
	c, s, _ := setup(t, func(o *lookupcache.Options) { o.Now = nil; o.TTL = 50 * time.Millisecond })
	get(t, c, "a", 1, nil)
	if _, _, ok := c.Peek("a"); !ok {
		t.Fatal("not fresh after the load")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, ok := c.Peek("a"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
	get(t, c, "a", 1, nil)
	if n := s.loads.Load(); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}
	c.InvalidateAll() // stops the timers
}

func TestHitDoesNotAllocate(t *testing.T) {
	for _, real := range []bool{false, true} {
		c, _, _ := setup(t, func(o *lookupcache.Options) {
			if real {
				o.Now = nil
			}
		})
		get(t, c, "a", 1, nil)
		if n := testing.AllocsPerRun(100, func() { _, _ = c.Get(bg, "a") }); n != 0 {
			t.Fatalf("real clock %v: %v allocations per hit", real, n)
		}
		c.InvalidateAll()
	}
}

func TestUnknownKeyIsRememberedForTheNegativeTTL(t *testing.T) {
	c, s, clk := setup(t, nil)
	get(t, c, "b", 0, errNotFound)
	if _, err := c.Get(bg, "b"); err != errNotFound {
		t.Fatalf("err = %v, want the NotFound sentinel itself", err)
	}
	if _, found, ok := c.Peek("b"); !ok || found {
		t.Fatalf("Peek: found %v, ok %v", found, ok)
	}
	s.set("b", 3)
	clk.Advance(4 * time.Second)
	get(t, c, "b", 0, errNotFound)
	clk.Advance(time.Second)
	get(t, c, "b", 3, nil)
	if n := s.loads.Load(); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}
}

func TestZeroNegativeTTLRemembersNothing(t *testing.T) {
	c, s, _ := setup(t, func(o *lookupcache.Options) { o.NegativeTTL = 0 })
	get(t, c, "b", 0, errNotFound)
	get(t, c, "b", 0, errNotFound)
	if n := s.loads.Load(); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}
	if n := c.Len(); n != 0 {
		t.Fatalf("Len = %d", n)
	}
}

func TestStaleAnswerIsServedUpToTheBoundRetryingOncePerInterval(t *testing.T) {
	c, s, clk := setup(t, nil)
	get(t, c, "a", 1, nil)
	s.fail(errDown)
	clk.Advance(30 * time.Second)
	get(t, c, "a", 1, nil)
	get(t, c, "a", 1, nil) // within the retry interval: no load
	if n := s.loads.Load(); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}
	clk.Advance(time.Second)
	get(t, c, "a", 1, nil)
	if n := s.loads.Load(); n != 3 {
		t.Fatalf("%d loads, want 3", n)
	}
	clk.Advance(40 * time.Second) // past TTL + MaxStale
	get(t, c, "a", 0, errDown)
	get(t, c, "other", 0, errDown) // never cached
	s.fail(nil)
	get(t, c, "a", 1, nil)
}

func TestZeroRetryIntervalRetriesEveryMiss(t *testing.T) {
	c, s, clk := setup(t, func(o *lookupcache.Options) { o.RetryInterval = 0 })
	get(t, c, "a", 1, nil)
	s.fail(errDown)
	clk.Advance(30 * time.Second)
	get(t, c, "a", 1, nil)
	get(t, c, "a", 1, nil)
	if n := s.loads.Load(); n != 3 {
		t.Fatalf("%d loads, want 3", n)
	}
}

func TestStaleIsNotServedForAnUnknownKey(t *testing.T) {
	c, s, clk := setup(t, nil)
	get(t, c, "b", 0, errNotFound)
	s.fail(errDown)
	clk.Advance(5 * time.Second)
	get(t, c, "b", 0, errDown)
}

func TestConcurrentMissesShareOneLoad(t *testing.T) {
	c, s, _ := setup(t, nil)
	block := make(chan struct{})
	s.hold(block)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := c.Get(bg, "a"); err != nil || v != 1 {
				errs <- fmt.Errorf("%d, %v", v, err)
			}
		}()
	}
	for s.loads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others join
	close(block)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := s.loads.Load(); n != 1 {
		t.Fatalf("%d loads, want 1", n)
	}
}

func TestEndedContextReturnsItsErrorWhileTheLoadGoesOn(t *testing.T) {
	c, s, _ := setup(t, nil)
	block := make(chan struct{})
	s.hold(block)
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if _, err := c.Get(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Get(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ended before: err = %v", err)
	}
	s.hold(nil)
	close(block)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, found, ok := c.Peek("a"); ok && found && *v == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shared load was not stored")
		}
		time.Sleep(time.Millisecond)
	}
	if n := s.loads.Load(); n != 1 {
		t.Fatalf("%d loads, want 1", n)
	}
}

func TestLoadTimesOut(t *testing.T) {
	c, s, _ := setup(t, func(o *lookupcache.Options) { o.LookupTimeout = 20 * time.Millisecond })
	block := make(chan struct{})
	defer close(block)
	s.hold(block)
	if _, err := c.Get(bg, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadWithUsesTheGivenLoader(t *testing.T) {
	c, s, _ := setup(t, nil)
	v, err := c.LoadWith(bg, "z", func(context.Context, string) (int, error) { return 7, nil })
	if err != nil || v != 7 {
		t.Fatalf("LoadWith = %d, %v", v, err)
	}
	get(t, c, "z", 7, nil)
	if n := s.loads.Load(); n != 0 {
		t.Fatalf("%d loads of the Cache's loader", n)
	}
}

func TestInvalidateDropsTheAnswerAndTheLoadInFlight(t *testing.T) {
	c, s, _ := setup(t, nil)
	get(t, c, "a", 1, nil)
	s.set("a", 2)
	c.Invalidate("a")
	if _, _, ok := c.Peek("a"); ok {
		t.Fatal("cached after Invalidate")
	}
	// A load that started before the invalidation is not stored.
	block := make(chan struct{})
	s.hold(block)
	done := make(chan int)
	go func() { v, _ := c.Get(bg, "a"); done <- v }()
	for s.loads.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	c.Invalidate("a")
	s.hold(nil)
	close(block)
	if v := <-done; v != 2 {
		t.Fatalf("the waiting caller got %d", v)
	}
	if _, _, ok := c.Peek("a"); ok {
		t.Fatal("the invalidated load was stored")
	}
	get(t, c, "a", 2, nil)
}

func TestInvalidateAllDropsEverythingAndTheLoadsInFlight(t *testing.T) {
	c, s, _ := setup(t, nil)
	s.set("b", 2)
	get(t, c, "a", 1, nil)
	get(t, c, "b", 2, nil)
	c.InvalidateAll()
	if n := c.Len(); n != 0 {
		t.Fatalf("Len = %d after InvalidateAll", n)
	}
	block := make(chan struct{})
	s.hold(block)
	done := make(chan struct{})
	go func() { _, _ = c.Get(bg, "a"); close(done) }()
	for s.loads.Load() != 3 {
		time.Sleep(time.Millisecond)
	}
	c.InvalidateAll()
	s.hold(nil)
	close(block)
	<-done
	if _, _, ok := c.Peek("a"); ok {
		t.Fatal("a load of an older generation was stored")
	}
}

func TestSizeBoundsTheCache(t *testing.T) {
	c, s, _ := setup(t, func(o *lookupcache.Options) { o.Size = 64 })
	for i := range 1000 {
		k := fmt.Sprint("k", i)
		s.set(k, i)
		get(t, c, k, i, nil)
	}
	if n := c.Len(); n > 64 {
		t.Fatalf("Len = %d, want at most 64", n)
	}
}

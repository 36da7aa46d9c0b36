package directory_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/tenant"
)

func TestCacheAnswersFromCacheWithinTTL(t *testing.T) {
	clk := newClock()
	d := newCtlDir(map[string]directory.Entry{"acme": active})
	c := newCache(t, d, directory.WithClock(clk.Now))
	for range 10 {
		e, err := c.Lookup(context.Background(), "acme")
		if err != nil || e != active {
			t.Fatalf("Lookup = %+v, %v", e, err)
		}
		clk.Advance(directory.DefaultTTL / 20)
	}
	if n := d.calls.Load(); n != 1 {
		t.Fatalf("%d lookups within the TTL, want 1", n)
	}
}

func TestCacheAsksAgainAtTTL(t *testing.T) {
	clk := newClock()
	d := newCtlDir(map[string]directory.Entry{"acme": active})
	c := newCache(t, d, directory.WithClock(clk.Now), directory.WithTTL(5*time.Second))
	if _, err := c.Lookup(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	d.Set("acme", suspended)
	clk.Advance(5*time.Second - time.Nanosecond)
	if e, _ := c.Lookup(context.Background(), "acme"); e.Status != directory.Active {
		t.Fatalf("before the TTL: %v, want the cached active", e.Status)
	}
	clk.Advance(time.Nanosecond)
	if e, _ := c.Lookup(context.Background(), "acme"); e.Status != directory.Suspended {
		t.Fatalf("at the TTL: %v, want suspended", e.Status)
	}
}

func TestCacheServesStaleWhileDownThenRefusesThenRecovers(t *testing.T) {
	clk := newClock()
	d := newCtlDir(map[string]directory.Entry{"acme": active, "newco": active})
	ttl, maxStale := 10*time.Second, time.Minute
	c := newCache(t, d, directory.WithClock(clk.Now), directory.WithTTL(ttl), directory.WithMaxStale(maxStale))
	ctx := context.Background()
	if _, err := c.Lookup(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	d.down.Store(true)
	clk.Advance(ttl)
	if e, err := c.Lookup(ctx, "acme"); err != nil || e != active {
		t.Fatalf("past the TTL, directory down: %+v, %v; want the stale answer", e, err)
	}
	calls := d.calls.Load()
	for range 100 {
		_, _ = c.Lookup(ctx, "acme")
	}
	if n := d.calls.Load() - calls; n != 0 {
		t.Errorf("%d lookups while serving stale within the retry interval, want 0", n)
	}
	// Unknown to the cache: never admitted, unavailable.
	if _, err := c.Lookup(ctx, "newco"); !errors.Is(err, directory.ErrUnavailable) || !errors.Is(err, tenant.ErrUnavailable) {
		t.Fatalf("uncached tenant, directory down: %v, want ErrUnavailable", err)
	}
	clk.Advance(maxStale - time.Second)
	if _, err := c.Lookup(ctx, "acme"); err != nil {
		t.Fatalf("just before max-stale: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := c.Lookup(ctx, "acme"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("at TTL + max-stale: %v, want ErrUnavailable", err)
	}
	d.down.Store(false)
	d.Set("acme", suspended)
	if e, err := c.Lookup(ctx, "acme"); err != nil || e != suspended {
		t.Fatalf("after recovery: %+v, %v; want the directory's answer", e, err)
	}
	if e, err := c.Lookup(ctx, "newco"); err != nil || e != active {
		t.Fatalf("uncached tenant after recovery: %+v, %v", e, err)
	}
}

func TestCacheMaxStaleZeroServesNothingStale(t *testing.T) {
	clk := newClock()
	d := newCtlDir(map[string]directory.Entry{"acme": active})
	c := newCache(t, d, directory.WithClock(clk.Now), directory.WithMaxStale(0))
	_, _ = c.Lookup(context.Background(), "acme")
	d.down.Store(true)
	clk.Advance(directory.DefaultTTL)
	if _, err := c.Lookup(context.Background(), "acme"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("%v, want ErrUnavailable", err)
	}
}

func TestCacheRemembersUnknownBriefly(t *testing.T) {
	clk := newClock()
	d := newCtlDir(nil)
	c := newCache(t, d, directory.WithClock(clk.Now), directory.WithNegativeTTL(time.Second))
	ctx := context.Background()
	if _, err := c.Lookup(ctx, "newco"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("%v, want ErrNotFound", err)
	}
	d.Set("newco", active)
	if _, err := c.Lookup(ctx, "newco"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("within the negative TTL: %v, want ErrNotFound", err)
	}
	if n := d.calls.Load(); n != 1 {
		t.Errorf("%d lookups, want 1", n)
	}
	clk.Advance(time.Second)
	if _, err := c.Lookup(ctx, "newco"); err != nil {
		t.Fatalf("after the negative TTL: %v", err)
	}
}

func TestCacheMergesConcurrentMisses(t *testing.T) {
	d := newCtlDir(map[string]directory.Entry{"acme": active})
	c := newCache(t, d)
	release := d.hold()
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			e, err := c.Lookup(context.Background(), "acme")
			if err == nil && e != active {
				err = errors.New("wrong entry")
			}
			errs <- err
		})
	}
	time.Sleep(20 * time.Millisecond) // let the callers join the lookup
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := d.calls.Load(); got != 1 {
		t.Fatalf("%d directory lookups for %d concurrent callers, want 1", got, n)
	}
}

func TestCacheLookupCutByCallerReportsContextError(t *testing.T) {
	d := newCtlDir(map[string]directory.Entry{"acme": active})
	c := newCache(t, d)
	release := d.hold()
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	_, err := c.Lookup(ctx, "acme")
	if !errors.Is(err, context.Canceled) || errors.Is(err, directory.ErrUnavailable) || errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("canceled: %v, want context.Canceled only", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	if _, err := c.Lookup(dctx, "acme"); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("deadline: %v, want context.DeadlineExceeded only", err)
	}
	_, err = c.Admit(dctx, mustTenant(t, "acme", "free"))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, tenant.ErrForbidden) {
		t.Fatalf("Admit after deadline: %v", err)
	}
	// The lookup went on for whoever comes next.
	release()
	if e, err := c.Lookup(context.Background(), "acme"); err != nil || e != active {
		t.Fatalf("after release: %+v, %v", e, err)
	}
	if n := d.calls.Load(); n != 1 {
		t.Errorf("%d lookups, want the one merged", n)
	}
}

func TestCacheLookupTimeoutIsUnavailable(t *testing.T) {
	d := newCtlDir(map[string]directory.Entry{"acme": active})
	c := newCache(t, d, directory.WithLookupTimeout(20*time.Millisecond))
	release := d.hold()
	defer release()
	if _, err := c.Lookup(context.Background(), "acme"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("%v, want ErrUnavailable", err)
	}
}

func TestCacheInvalidate(t *testing.T) {
	d := newCtlDir(map[string]directory.Entry{"acme": active, "globex": active})
	c := newCache(t, d)
	ctx := context.Background()
	_, _ = c.Lookup(ctx, "acme")
	_, _ = c.Lookup(ctx, "globex")
	d.Set("acme", suspended)
	d.Set("globex", suspended)
	c.Invalidate("acme")
	if e, _ := c.Lookup(ctx, "acme"); e != suspended {
		t.Fatalf("after Invalidate: %+v", e)
	}
	if e, _ := c.Lookup(ctx, "globex"); e != active {
		t.Fatalf("another tenant after Invalidate: %+v, want its cached answer", e)
	}
	c.InvalidateAll()
	if e, _ := c.Lookup(ctx, "globex"); e != suspended {
		t.Fatalf("after InvalidateAll: %+v", e)
	}
}

func TestCacheInvalidateDuringLookupDropsItsAnswer(t *testing.T) {
	d := newCtlDir(map[string]directory.Entry{"acme": active})
	c := newCache(t, d)
	release := d.hold()
	done := make(chan directory.Entry)
	go func() {
		e, _ := c.Lookup(context.Background(), "acme")
		done <- e
	}()
	for d.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	c.Invalidate("acme")
	release()
	<-done
	d.Set("acme", suspended)
	if e, _ := c.Lookup(context.Background(), "acme"); e != suspended {
		t.Fatalf("the answer of a lookup invalidated in flight was cached: %+v", e)
	}
}

type badDir struct{}

func (badDir) Lookup(context.Context, string) (directory.Entry, error) {
	return directory.Entry{Status: 9, Tier: "bad tier"}, nil
}

func TestCacheRefusesInvalidAnswers(t *testing.T) {
	c := newCache(t, badDir{})
	if _, err := c.Lookup(context.Background(), "acme"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("%v, want ErrUnavailable", err)
	}
	if _, err := c.Lookup(context.Background(), "not valid/*"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("invalid ID: %v, want ErrNotFound", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	d := newCtlDir(nil)
	c := newCache(t, d, directory.WithCacheSize(64))
	for i := range 1000 {
		id := "t" + strconv.Itoa(i)
		d.Set(id, active)
		_, _ = c.Lookup(context.Background(), id)
	}
	if n := directory.CacheLen(c); n > 64+64 { // per-shard rounding
		t.Fatalf("%d entries cached, bound 64", n)
	}
}

func TestNewCacheRefusesInvalidOptions(t *testing.T) {
	d := directory.NewMemory(nil)
	for name, opts := range map[string][]directory.Option{
		"ttl 0":          {directory.WithTTL(0)},
		"ttl too long":   {directory.WithTTL(2 * time.Hour)},
		"max-stale < 0":  {directory.WithMaxStale(-time.Second)},
		"negative ttl":   {directory.WithNegativeTTL(-1)},
		"size 0":         {directory.WithCacheSize(0)},
		"timeout 0":      {directory.WithLookupTimeout(0)},
		"nil clock":      {directory.WithClock(nil)},
		"nil option":     {nil},
		"second invalid": {directory.WithTTL(time.Second), directory.WithCacheSize(-1)},
	} {
		if _, err := directory.NewCache(d, opts...); !errors.Is(err, directory.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	var nilMem *directory.Memory
	for _, dir := range []directory.Directory{nil, nilMem} {
		if _, err := directory.NewCache(dir); !errors.Is(err, directory.ErrInvalidOption) {
			t.Errorf("NewCache(%v): %v, want ErrInvalidOption", dir, err)
		}
	}
}

func mustTenant(t testing.TB, id, tier string) tenant.Tenant {
	t.Helper()
	tn, err := tenant.New(id, tier)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestAdmit(t *testing.T) {
	d := directory.NewMemory(map[string]directory.Entry{
		"acme":    {Status: directory.Active, Tier: "free"},
		"globex":  {Status: directory.Active, Tier: "free", Plan: "pro"},
		"plain":   {Status: directory.Active},
		"initech": {Status: directory.Suspended, Tier: "pro"},
		"hooli":   {Status: directory.Offboarded},
	})
	c := newCache(t, d)
	ctx := context.Background()
	tok, err := tenant.Verified("acme", "pro", tenant.Proof{Issuer: "https://issuer", Subject: "user-1", Token: "tok",
		Claims: map[string]any{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Admit(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != "acme" || got.Tier() != "free" || got.Plan() != "free" {
		t.Errorf("re-tiered tenant %v plan %q, want acme (free) plan free", got, got.Plan())
	}
	if got.Issuer() != "https://issuer" || got.Subject() != "user-1" {
		t.Errorf("the override lost the proof: issuer %q subject %q", got.Issuer(), got.Subject())
	}
	if v, ok := got.Claim("k"); !ok || v != "v" {
		t.Errorf("the override lost the claims")
	}
	if got, _ := c.Admit(ctx, mustTenant(t, "globex", "free")); got.Tier() != "free" || got.Plan() != "pro" {
		t.Errorf("plan override: tier %q plan %q, want free / pro", got.Tier(), got.Plan())
	}
	if got, _ := c.Admit(ctx, mustTenant(t, "plain", "gold")); got.Tier() != "gold" || got.Plan() != "gold" {
		t.Errorf("no tier in the directory: tier %q plan %q, want the credential's gold", got.Tier(), got.Plan())
	}
	for id, want := range map[string]error{"initech": directory.ErrSuspended, "hooli": directory.ErrOffboarded,
		"nobody": directory.ErrUnknownTenant} {
		got, err := c.Admit(ctx, mustTenant(t, id, "pro"))
		if !errors.Is(err, want) || !errors.Is(err, tenant.ErrForbidden) || !got.IsZero() {
			t.Errorf("%s: %v, %v; want %v wrapping tenant.ErrForbidden", id, got, err, want)
		}
	}
	if _, err := c.Admit(ctx, tenant.Tenant{}); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("zero tenant: %v", err)
	}
	open := newCache(t, d, directory.WithAdmitUnknown())
	for range 2 { // a miss, then a cached "unknown"
		if got, err := open.Admit(ctx, mustTenant(t, "nobody", "pro")); err != nil || got.Tier() != "pro" {
			t.Errorf("WithAdmitUnknown: %v, %v", got, err)
		}
	}
	for range 2 {
		if _, err := c.Admit(ctx, mustTenant(t, "initech", "pro")); !errors.Is(err, directory.ErrSuspended) {
			t.Errorf("cached suspension: %v", err)
		}
	}
	if _, err := open.Admit(ctx, mustTenant(t, "hooli", "pro")); !errors.Is(err, directory.ErrOffboarded) {
		t.Errorf("WithAdmitUnknown still refuses the offboarded: %v", err)
	}
}

func TestCacheHitDoesNotAllocate(t *testing.T) {
	c := newCache(t, directory.NewMemory(map[string]directory.Entry{"acme": {Status: directory.Active, Tier: "free", Plan: "pro"}}))
	ctx := context.Background()
	tn := mustTenant(t, "acme", "pro")
	if _, err := c.Admit(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { _, _ = c.Admit(ctx, tn) }); n != 0 {
		t.Fatalf("Admit on a hit allocates %v times", n)
	}
	sus := newCache(t, directory.NewMemory(map[string]directory.Entry{"acme": suspended}))
	_, _ = sus.Admit(ctx, tn)
	if n := testing.AllocsPerRun(1000, func() { _, _ = sus.Admit(ctx, tn) }); n != 0 {
		t.Fatalf("a cached refusal allocates %v times", n)
	}
}

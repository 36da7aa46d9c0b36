package apikey_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/tenant"
)

var bg = context.Background()

func TestKeyVerifiesAsItsTenantOnly(t *testing.T) {
	f := newFixture(t)
	keyA, recA := f.create(t, "tenant-a", apikey.CreateOptions{Scopes: []string{"orders:read", "orders:write"}})
	keyB, _ := f.create(t, "tenant-b", apikey.CreateOptions{Tier: "gold"})
	a, err := f.keys.Verify(bg, keyA)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() != "tenant-a" || a.Tier() != "" || a.Issuer() != apikey.Issuer || a.Subject() != recA.KeyID {
		t.Fatalf("key A verified as %#v (subject %q)", a, a.Subject())
	}
	if s, _ := a.Claim("scope"); s != "orders:read orders:write" {
		t.Fatalf("scope claim %v", s)
	}
	b, err := f.keys.Verify(bg, keyB)
	if err != nil || b.ID() != "tenant-b" || b.Tier() != "gold" {
		t.Fatalf("key B: %v, %v", b, err)
	}
	// A's key ID with B's secret (checksum fixed up) is no key at all.
	kA, _ := apikey.Parse(apikey.DefaultPrefix, keyA)
	kB, _ := apikey.Parse(apikey.DefaultPrefix, keyB)
	for _, forged := range []string{
		apikey.Format(apikey.DefaultPrefix, kA.ID, kB.Secret()),
		apikey.Format(apikey.DefaultPrefix, kB.ID, kA.Secret()),
	} {
		for range 2 { // from the store, then from the cache
			if tn, err := f.keys.Verify(bg, forged); !errors.Is(err, apikey.ErrUnknownKey) {
				t.Fatalf("a forged key verified as %v, %v", tn, err)
			}
		}
	}
}

func TestBadChecksumIsRefusedWithoutAStoreLookup(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	bad := []byte(key)
	bad[len(bad)-1] ^= 1
	if bad[len(bad)-1] == key[len(key)-1] || !isAlnum(bad[len(bad)-1]) {
		bad[len(bad)-1] = '0' + (key[len(key)-1]+1)%10
	}
	for range 100 {
		if _, err := f.keys.Verify(bg, string(bad)); !errors.Is(err, apikey.ErrMalformedKey) {
			t.Fatalf("err = %v", err)
		}
		if _, err := f.keys.Verify(bg, key[:40]); !errors.Is(err, apikey.ErrMalformedKey) {
			t.Fatalf("err = %v", err)
		}
	}
	if n := f.store.gets.Load(); n != 0 {
		t.Fatalf("%d store lookups for malformed keys", n)
	}
	// Also when the key ID is cached: a typo in the secret fails the
	// checksum before any digest is compared.
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keys.Verify(bg, string(bad)); !errors.Is(err, apikey.ErrMalformedKey) {
		t.Fatalf("err = %v", err)
	}
	if n := f.store.gets.Load(); n != 1 {
		t.Fatalf("%d store lookups, want 1", n)
	}
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func TestRevokedKeyIsRefusedAtOnceThroughInvalidation(t *testing.T) {
	f := newFixture(t)
	key, r := f.create(t, "acme", apikey.CreateOptions{})
	other, _ := f.create(t, "acme", apikey.CreateOptions{})
	for _, k := range []string{key, other} {
		if _, err := f.keys.Verify(bg, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.mgr.Revoke(bg, r.KeyID); err != nil {
		t.Fatal(err)
	}
	_, err := f.keys.Verify(bg, key)
	var te *tenant.TokenError
	if !errors.Is(err, apikey.ErrRevoked) || !errors.As(err, &te) || te.KeyID != r.KeyID {
		t.Fatalf("revoked key: err = %v", err)
	}
	if _, err := f.keys.Verify(bg, other); err != nil {
		t.Fatalf("another key of the tenant: %v", err)
	}
	if err := f.mgr.Revoke(bg, r.KeyID); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if err := f.mgr.Revoke(bg, "0000000000000000"); !errors.Is(err, apikey.ErrNotFound) {
		t.Fatalf("revoking an unknown key: %v", err)
	}
}

func TestRevocationWithoutTheFeedTakesAtMostTheTTL(t *testing.T) {
	f := newFixture(t, apikey.WithTTL(5*time.Second))
	f.mgr.OnChange(nil) // no invalidation
	key, r := f.create(t, "acme", apikey.CreateOptions{})
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Second)
	if err := f.mgr.Revoke(bg, r.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatalf("within the TTL the cached key still works: %v", err)
	}
	f.clk.Advance(4 * time.Second)
	if _, err := f.keys.Verify(bg, key); !errors.Is(err, apikey.ErrRevoked) {
		t.Fatalf("after the TTL: err = %v", err)
	}
}

func TestExpiredKeyIsRefusedEvenWhenCached(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, "acme", apikey.CreateOptions{ExpiresAt: f.clk.Now().Add(2 * time.Second)})
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(2 * time.Second)
	if _, err := f.keys.Verify(bg, key); !errors.Is(err, apikey.ErrExpired) || !errors.Is(err, tenant.ErrInvalidToken) {
		t.Fatalf("err = %v", err)
	}
	if n := f.store.gets.Load(); n != 1 {
		t.Fatalf("%d lookups: the expiry is checked on the cached entry", n)
	}
}

func TestRotationOverlapWorksAndEnds(t *testing.T) {
	f := newFixture(t)
	old, oldRec := f.create(t, "acme", apikey.CreateOptions{Tier: "gold", Scopes: []string{"read"}})
	if _, err := f.keys.Verify(bg, old); err != nil {
		t.Fatal(err)
	}
	next, nextRec, err := f.mgr.Rotate(bg, oldRec.KeyID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if next == old || nextRec.TenantID != "acme" || nextRec.Tier != "gold" || len(nextRec.Scopes) != 1 {
		t.Fatalf("successor %+v", nextRec)
	}
	f.clk.Advance(59 * time.Minute)
	for _, k := range []string{old, next} {
		if tn, err := f.keys.Verify(bg, k); err != nil || tn.ID() != "acme" || tn.Tier() != "gold" {
			t.Fatalf("during the overlap: %v, %v", tn, err)
		}
	}
	f.clk.Advance(time.Minute)
	if _, err := f.keys.Verify(bg, old); !errors.Is(err, apikey.ErrExpired) {
		t.Fatalf("old key after the overlap: %v", err)
	}
	if _, err := f.keys.Verify(bg, next); err != nil {
		t.Fatalf("new key after the overlap: %v", err)
	}
	if _, _, err := f.mgr.Rotate(bg, oldRec.KeyID, time.Hour); !errors.Is(err, apikey.ErrExpired) {
		t.Fatalf("rotating an expired key: %v", err)
	}
	list, err := f.mgr.List(bg, "acme")
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v", list, err)
	}
	for _, r := range list {
		if r.Hash != nil {
			t.Fatal("List returns digests")
		}
		if r.KeyID == oldRec.KeyID && r.Successor != nextRec.KeyID {
			t.Fatalf("old record's successor %q", r.Successor)
		}
	}
	// An overlap of 0 ends the old key at once.
	_, third, err := f.mgr.Rotate(bg, nextRec.KeyID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.keys.Verify(bg, next); !errors.Is(err, apikey.ErrExpired) {
		t.Fatalf("rotated with no overlap: %v", err)
	}
	if third.KeyID == "" {
		t.Fatal("no successor")
	}
}

func TestRotationKeepsTheLifetime(t *testing.T) {
	f := newFixture(t)
	_, r := f.create(t, "acme", apikey.CreateOptions{ExpiresAt: f.clk.Now().Add(90 * 24 * time.Hour)})
	f.clk.Advance(80 * 24 * time.Hour)
	_, next, err := f.mgr.Rotate(bg, r.KeyID, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clk.Now().Add(90 * 24 * time.Hour); !next.ExpiresAt.Equal(want) {
		t.Fatalf("successor expires %v, want %v", next.ExpiresAt, want)
	}
	if _, _, err := f.mgr.Rotate(bg, r.KeyID, -time.Second); err == nil {
		t.Fatal("a negative overlap was accepted")
	}
}

func TestUnknownKeysAreCachedNegatively(t *testing.T) {
	f := newFixture(t, apikey.WithNegativeTTL(time.Second))
	unknown := apikey.Format(apikey.DefaultPrefix, "0123456789abcdef", "0123456789012345678901234567890123456789012")
	for range 10 {
		if _, err := f.keys.Verify(bg, unknown); !errors.Is(err, apikey.ErrUnknownKey) {
			t.Fatalf("err = %v", err)
		}
	}
	if n := f.store.gets.Load(); n != 1 {
		t.Fatalf("%d lookups, want 1", n)
	}
	f.clk.Advance(time.Second)
	_, _ = f.keys.Verify(bg, unknown)
	if n := f.store.gets.Load(); n != 2 {
		t.Fatalf("%d lookups after the negative TTL, want 2", n)
	}
}

func TestConcurrentMissesShareOneLookup(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	block := make(chan struct{})
	f.store.mu.Lock()
	f.store.block = block
	f.store.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := f.keys.Verify(bg, key)
			errs <- err
		})
	}
	for f.store.gets.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others join the lookup
	close(block)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.store.gets.Load(); n != 1 {
		t.Fatalf("%d lookups, want 1", n)
	}
}

func TestStaleEntryServedWhileTheStoreFailsUpToTheBound(t *testing.T) {
	f := newFixture(t, apikey.WithTTL(10*time.Second), apikey.WithMaxStale(time.Minute))
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatal(err)
	}
	f.store.setFail(errStoreDown)
	f.clk.Advance(30 * time.Second)
	if tn, err := f.keys.Verify(bg, key); err != nil || tn.ID() != "acme" {
		t.Fatalf("stale: %v, %v", tn, err)
	}
	f.clk.Advance(40 * time.Second)
	_, err := f.keys.Verify(bg, key)
	if !errors.Is(err, tenant.ErrUnavailable) || errors.Is(err, tenant.ErrInvalidToken) {
		t.Fatalf("past the bound: err = %v", err)
	}
	// A key never seen cannot be checked either.
	other, _ := f.create(t, "acme", apikey.CreateOptions{})
	if _, err := f.keys.Verify(bg, other); !errors.Is(err, tenant.ErrUnavailable) {
		t.Fatalf("unknown while down: %v", err)
	}
	f.store.setFail(nil)
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatalf("store back: %v", err)
	}
}

func TestEndedContextYieldsItsError(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	block := make(chan struct{})
	f.store.mu.Lock()
	f.store.block = block
	f.store.mu.Unlock()
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	_, err := f.keys.Verify(ctx, key)
	close(block)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The lookup finished for others meanwhile.
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidateAllDropsEveryEntry(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	_, _ = f.keys.Verify(bg, key)
	f.keys.InvalidateAll()
	_, _ = f.keys.Verify(bg, key)
	if n := f.store.gets.Load(); n != 2 {
		t.Fatalf("%d lookups, want 2", n)
	}
}

func TestPepperMustMatch(t *testing.T) {
	pepper := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, apikey.WithPepper(pepper))
	key, r := f.create(t, "acme", apikey.CreateOptions{})
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatal(err)
	}
	plain, err := apikey.NewVerifier(f.store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Verify(bg, key); !errors.Is(err, apikey.ErrUnknownKey) {
		t.Fatalf("without the pepper: %v", err)
	}
	got, _ := f.store.Memory.Get(bg, r.KeyID)
	if len(got.Hash) != 32 {
		t.Fatalf("stored digest of %d bytes", len(got.Hash))
	}
}

func TestCustomPrefix(t *testing.T) {
	f := newFixture(t, apikey.WithPrefix("acme_test"))
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	if key[:10] != "acme_test_" {
		t.Fatalf("key starts %q", key[:10])
	}
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatal(err)
	}
	live := newFixture(t)
	if _, err := live.keys.Verify(bg, key); !errors.Is(err, apikey.ErrMalformedKey) {
		t.Fatalf("another prefix: %v", err)
	}
}

func TestCreateChecksItsInput(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.mgr.Create(bg, "a*", apikey.CreateOptions{}); !errors.Is(err, tenant.ErrInvalidID) {
		t.Fatalf("bad tenant: %v", err)
	}
	if _, _, err := f.mgr.Create(bg, "acme", apikey.CreateOptions{Tier: "gold tier"}); !errors.Is(err, tenant.ErrInvalidTier) {
		t.Fatalf("bad tier: %v", err)
	}
}

func TestCachedVerifyDoesNotAllocate(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	if _, err := f.keys.Verify(bg, key); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = f.keys.Verify(bg, key) }); n != 0 {
		t.Fatalf("%v allocations per cached verification", n)
	}
}

func TestDispatchPanicsOnNilVerifiers(t *testing.T) {
	f := newFixture(t)
	var typedNil *apikey.Verifier
	for name, build := range map[string]func(){
		"nil keys":        func() { apikey.Dispatch(nil, nil) },
		"typed nil other": func() { apikey.Dispatch(typedNil, f.keys) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			build()
		}()
	}
}

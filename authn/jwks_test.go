package authn_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/tenant"
)

func tok(is *authntest.Issuer, k *authntest.Key, tenantID string) string {
	return k.Sign(nil, is.Claims(map[string]any{"aud": "api", "custom:tenant_id": tenantID}))
}

func issuerCfg(is *authntest.Issuer) []authn.Issuer {
	return []authn.Issuer{{URL: is.URL(), JWKSURL: is.JWKSURL(), Audiences: []string{"api"}}}
}

// waitFetches waits until the issuer served at least n key set requests.
func waitFetches(t *testing.T, is *authntest.Issuer, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for is.JWKSFetches() < n {
		if time.Now().After(deadline) {
			t.Fatalf("issuer served %d key set fetches, want %d", is.JWKSFetches(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIssuerDownKeepsKnownKeys(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a), authn.WithCacheSize(0), authn.WithMissCooldown(0), authn.WithFetchTimeout(300*time.Millisecond))
	if _, err := v.Verify(context.Background(), tok(a, a.SigningKey(), "acme")); err != nil {
		t.Fatal(err)
	}
	a.Down()
	// A fresh token (cache is off anyway) signed by a known key verifies.
	if tn, err := v.Verify(context.Background(), tok(a, a.SigningKey(), "globex")); err != nil || tn.ID() != "globex" {
		t.Fatalf("issuer down: %v, %v", tn, err)
	}
	// An unknown kid tries one fetch, which fails; the held keys stay.
	k2, _ := authntest.NewKey("key-2", "RS256")
	if _, err := v.Verify(context.Background(), tok(a, k2, "acme")); !errors.Is(err, authn.ErrUnknownKey) {
		t.Fatalf("unknown kid while down: %v", err)
	}
	if _, err := v.Verify(context.Background(), tok(a, a.SigningKey(), "acme")); err != nil {
		t.Fatalf("known key after failed fetch: %v", err)
	}
	if err := a.Up(); err != nil {
		t.Fatal(err)
	}
}

func TestKeysUnavailableWhenNeverFetched(t *testing.T) {
	a := startIssuer(t)
	k := a.SigningKey()
	token := tok(a, k, "acme")
	a.Down()
	v := newVerifier(t, issuerCfg(a), authn.WithFetchTimeout(300*time.Millisecond))
	_, err := v.Verify(context.Background(), token)
	if !errors.Is(err, authn.ErrKeysUnavailable) || errors.Is(err, tenant.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrKeysUnavailable only", err)
	}
}

func TestRotationAcceptsNewKidAfterOneFetch(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a), authn.WithMissCooldown(0))
	if _, err := v.Verify(context.Background(), tok(a, a.SigningKey(), "acme")); err != nil {
		t.Fatal(err)
	}
	before := a.JWKSFetches()
	k2, _ := authntest.NewKey("key-2", "ES256")
	a.Rotate(k2)
	if _, err := v.Verify(context.Background(), tok(a, k2, "acme")); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if got := a.JWKSFetches() - before; got != 1 {
		t.Fatalf("rotation cost %d fetches, want 1", got)
	}
	// The old key is still published and still verifies.
	if _, err := v.Verify(context.Background(), tok(a, a.Key("key-1"), "acme")); err != nil {
		t.Fatalf("old key during overlap: %v", err)
	}
}

func TestRemovedKeyStopsVerifying(t *testing.T) {
	for _, cached := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache=%v", cached), func(t *testing.T) {
			a := startIssuer(t)
			size := 0
			if cached {
				size = 100
			}
			v := newVerifier(t, issuerCfg(a), authn.WithCacheSize(size), authn.WithRefreshInterval(20*time.Millisecond))
			old := a.SigningKey()
			token := tok(a, old, "acme")
			if _, err := v.Verify(context.Background(), token); err != nil {
				t.Fatal(err)
			}
			if cached && v.CacheLen() != 1 {
				t.Fatalf("cache holds %d entries", v.CacheLen())
			}
			k2, _ := authntest.NewKey("key-2", "RS256")
			a.Publish([]*authntest.Key{k2})
			waitFetches(t, a, a.JWKSFetches()+2) // one complete refresh after the change
			if _, err := v.Verify(context.Background(), token); !errors.Is(err, authn.ErrUnknownKey) {
				t.Fatalf("token of removed key: %v", err)
			}
			if v.CacheLen() != 0 {
				t.Fatalf("cache still holds %d entries of the removed key", v.CacheLen())
			}
		})
	}
}

// A flood of tokens with random unknown kids costs the issuer one fetch per
// cooldown, and no request waits longer than the fetch timeout.
func TestUnknownKidFlood(t *testing.T) {
	a := startIssuer(t)
	const fetchTimeout = time.Second
	v := newVerifier(t, issuerCfg(a), authn.WithMissCooldown(time.Minute), authn.WithFetchTimeout(fetchTimeout))
	if _, err := v.Verify(context.Background(), tok(a, a.SigningKey(), "acme")); err != nil {
		t.Fatal(err)
	}
	before := a.JWKSFetches()
	a.SetDelay(300 * time.Millisecond) // a slow issuer: waiters pile up on one fetch

	forged, _ := authntest.NewKey("x", "RS256")
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = forged.Sign(map[string]any{"kid": fmt.Sprintf("forged-%d", i)}, a.Claims(map[string]any{"aud": "api", "custom:tenant_id": "acme"}))
	}
	var (
		wg      sync.WaitGroup
		maxWait atomic.Int64
		bad     atomic.Int64
	)
	start := make(chan struct{})
	for _, token := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			_, err := v.Verify(context.Background(), token)
			d := int64(time.Since(t0))
			for {
				m := maxWait.Load()
				if d <= m || maxWait.CompareAndSwap(m, d) {
					break
				}
			}
			if !errors.Is(err, authn.ErrUnknownKey) {
				bad.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d requests did not fail with ErrUnknownKey", n)
	}
	if got := a.JWKSFetches() - before; got > 1 {
		t.Fatalf("%d key set fetches during one cooldown, want at most 1", got)
	}
	// Scheduling 1000 goroutines under -race adds some slack on top.
	if w := time.Duration(maxWait.Load()); w > fetchTimeout+500*time.Millisecond {
		t.Fatalf("a request waited %v, fetch timeout is %v", w, fetchTimeout)
	}
	t.Logf("fetches: %d, longest wait: %v", a.JWKSFetches()-before, time.Duration(maxWait.Load()))
}

func TestBadJWKSEntriesSkipped(t *testing.T) {
	a := startIssuer(t)
	a.Publish([]*authntest.Key{a.SigningKey()},
		map[string]any{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
		map[string]any{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
		map[string]any{"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": "AQ", "y": "AQ"},
		map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"},
	)
	v := newVerifier(t, issuerCfg(a))
	if _, err := v.Verify(context.Background(), tok(a, a.SigningKey(), "acme")); err != nil {
		t.Fatalf("good key next to bad entries: %v", err)
	}
}

func TestCacheNeverServesPastExpiry(t *testing.T) {
	a := startIssuer(t)
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	v := newVerifier(t, issuerCfg(a), authn.WithClock(func() time.Time { return *now.Load() }))
	token := a.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "exp": t0.Add(10 * time.Second).Unix()})
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if v.CacheLen() != 1 {
		t.Fatalf("cache holds %d entries, want 1", v.CacheLen())
	}
	later := t0.Add(11 * time.Second)
	now.Store(&later)
	if _, err := v.Verify(context.Background(), token); !errors.Is(err, authn.ErrExpired) {
		t.Fatalf("after exp: %v", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a), authn.WithCacheSize(64))
	for i := range 500 {
		if _, err := v.Verify(context.Background(), tok(a, a.SigningKey(), fmt.Sprintf("t%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.CacheLen(); n > 64 || n == 0 {
		t.Fatalf("cache holds %d entries, bound is 64", n)
	}
}

func TestCacheOff(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a), authn.WithCacheSize(0))
	for range 3 {
		if _, err := v.Verify(context.Background(), tok(a, a.SigningKey(), "acme")); err != nil {
			t.Fatal(err)
		}
	}
	if v.CacheLen() != 0 {
		t.Fatal("cache used while off")
	}
}

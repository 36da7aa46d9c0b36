package authn_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/tenant"
)

// A tenant suspended after its token was verified (and cached) is refused on
// its very next request.
func TestCheckRunsOnCachedTokens(t *testing.T) {
	for _, tc := range []struct {
		name    string
		verdict error
		want    error
	}{
		{"forbidden", tenant.ErrForbidden, tenant.ErrForbidden},
		{"rejected", errors.New("suspended"), authn.ErrRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startIssuer(t)
			var (
				suspended atomic.Bool
				calls     atomic.Int64
			)
			v := newVerifier(t, issuerCfg(a), authn.WithCheck(func(_ context.Context, tn tenant.Tenant) error {
				calls.Add(1)
				if suspended.Load() && tn.ID() == "acme" {
					return tc.verdict
				}
				return nil
			}))
			token := tok(a, a.SigningKey(), "acme")
			for range 3 {
				if _, err := v.Verify(context.Background(), token); err != nil {
					t.Fatal(err)
				}
			}
			if v.CacheLen() != 1 {
				t.Fatalf("cache holds %d entries, want 1", v.CacheLen())
			}
			suspended.Store(true)
			tn, err := v.Verify(context.Background(), token)
			if !errors.Is(err, tc.want) || !tn.IsZero() {
				t.Fatalf("suspended tenant with a cached token: %v, %v; want %v", tn, err, tc.want)
			}
			if calls.Load() != 4 {
				t.Fatalf("check ran %d times for 4 requests", calls.Load())
			}
			suspended.Store(false)
			if _, err := v.Verify(context.Background(), token); err != nil {
				t.Fatalf("reinstated tenant: %v", err)
			}
		})
	}
}

// A cached Verify is a map lookup and the check hook: it allocates nothing,
// with or without a hook.
func TestCachedVerifyDoesNotAllocate(t *testing.T) {
	a := startIssuer(t)
	token := tok(a, a.SigningKey(), "acme")
	ctx := context.Background()
	for name, opts := range map[string][]authn.Option{
		"no check":   nil,
		"with check": {authn.WithCheck(func(context.Context, tenant.Tenant) error { return nil })},
	} {
		v := newVerifier(t, issuerCfg(a), opts...)
		if _, err := v.Verify(ctx, token); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = v.Verify(ctx, token) }); n != 0 {
			t.Errorf("%s: cached Verify allocates %v times", name, n)
		}
	}
}

// A check hook that gives up because the request ended (a directory lookup
// cut by the caller's deadline) says nothing about the token: Verify
// reports the context's error, never an invalid token.
func TestCheckCutByContextIsNotInvalidToken(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a), authn.WithCheck(func(ctx context.Context, _ tenant.Tenant) error {
		<-ctx.Done()
		return errors.New("directory lookup: " + ctx.Err().Error())
	}))
	token := tok(a, a.SigningKey(), "acme")
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 10*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			_, err := v.Verify(ctx, token)
			if !errors.Is(err, tc.want) || errors.Is(err, tenant.ErrInvalidToken) {
				t.Fatalf("Verify = %v, want %v and not ErrInvalidToken", err, tc.want)
			}
		})
	}
}

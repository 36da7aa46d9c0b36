package authn_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn"
)

// Check reports every issuer it cannot get keys from, each by name and
// with its cause, and nothing about the issuers that answer.
func TestCheckNamesEachFailedIssuer(t *testing.T) {
	good, missing, down := startIssuer(t), startIssuer(t), startIssuer(t)
	down.Down()
	v := newVerifier(t, []authn.Issuer{
		{URL: good.URL(), JWKSURL: good.JWKSURL(), Audiences: []string{"api"}, AnyTenant: true},
		{URL: missing.URL(), JWKSURL: missing.URL() + "/gone.json", Audiences: []string{"api"}, AnyTenant: true},
		{URL: down.URL(), JWKSURL: down.JWKSURL(), Audiences: []string{"api"}, AnyTenant: true},
	})
	err := v.Check(context.Background())
	if !errors.Is(err, authn.ErrKeysUnavailable) {
		t.Fatalf("Check = %v, want ErrKeysUnavailable", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, missing.URL()) || !strings.Contains(msg, down.URL()) || strings.Contains(msg, good.URL()) {
		t.Fatalf("Check = %q, want the 404 and the unreachable issuer named, not the good one", msg)
	}
	var se *authn.HTTPStatusError
	if !errors.As(err, &se) || se.StatusCode != 404 {
		t.Fatalf("Check = %v, want the 404 reachable with errors.As", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("Check = %v, want the dial error reachable with errors.As", err)
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) != 2 {
		t.Fatalf("Check = %v, want one joined error per failed issuer", err)
	}
}

// Keys fetched within the refresh interval are used as they are; Check
// does not fetch them again.
func TestCheckKeepsFreshKeys(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a))
	if err := v.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := a.JWKSFetches()
	for range 3 {
		if err := v.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.JWKSFetches(); got != before {
		t.Fatalf("Check fetched fresh keys again: %d fetches, want %d", got, before)
	}
	// The keys Check fetched verify a token without another fetch.
	a.Down()
	if _, err := v.Verify(context.Background(), tok(a, a.SigningKey(), "acme")); err != nil {
		t.Fatal(err)
	}
}

// Once keys are older than the refresh interval Check fetches again; if
// that fails while the old keys still work, the issuer is reported, but not
// as ErrKeysUnavailable.
func TestCheckStaleKeysRefetched(t *testing.T) {
	a := startIssuer(t)
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	v := newVerifier(t, issuerCfg(a), authn.WithClock(clock))
	if err := v.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := a.JWKSFetches()
	offset.Store(int64(2 * authn.DefaultRefreshInterval))
	if err := v.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.JWKSFetches() == before {
		t.Fatal("Check kept keys older than the refresh interval")
	}
	offset.Store(int64(4 * authn.DefaultRefreshInterval))
	a.Down()
	err := v.Check(context.Background())
	if err == nil || errors.Is(err, authn.ErrKeysUnavailable) || !strings.Contains(err.Error(), a.URL()) {
		t.Fatalf("Check with stale keys and the issuer down = %v, want an error naming the issuer, not ErrKeysUnavailable", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("Check = %v, want the dial error", err)
	}
}

// ctx bounds how long Check waits.
func TestCheckHonoursContext(t *testing.T) {
	a := startIssuer(t)
	a.SetDelay(2 * time.Second)
	v := newVerifier(t, issuerCfg(a), authn.WithFetchTimeout(500*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := v.Check(ctx)
	if !errors.Is(err, authn.ErrKeysUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Check = %v, want ErrKeysUnavailable wrapping the deadline", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("Check waited %v past its context", d)
	}
}

// fetchReports records what a fetch error handler is called with.
type fetchReports struct {
	mu      sync.Mutex
	issuers []string
	errs    []error
	got     chan struct{}
}

func newFetchReports() *fetchReports { return &fetchReports{got: make(chan struct{}, 1)} }

func (r *fetchReports) option() authn.Option {
	return authn.WithFetchErrorHandler(func(issuer string, err error) {
		r.mu.Lock()
		r.issuers, r.errs = append(r.issuers, issuer), append(r.errs, err)
		r.mu.Unlock()
		select {
		case r.got <- struct{}{}:
		default:
		}
	})
}

func (r *fetchReports) wait(t *testing.T) (string, error) {
	t.Helper()
	select {
	case <-r.got:
	case <-time.After(5 * time.Second):
		t.Fatal("no report of a failed fetch")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.issuers[0], r.errs[0]
}

func (r *fetchReports) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

// The fetch error handler sees the failures of background fetches, by
// issuer, and is not called when fetches succeed.
func TestFetchErrorHandler(t *testing.T) {
	a := startIssuer(t)
	reports := newFetchReports()
	v := newVerifier(t, issuerCfg(a), reports.option(), authn.WithRefreshInterval(50*time.Millisecond))
	if err := v.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFetches(t, a, a.JWKSFetches()+2) // a few background refreshes
	if n := reports.len(); n != 0 {
		t.Fatalf("handler called %d times while the issuer answers", n)
	}
	a.Down()
	issuer, err := reports.wait(t)
	var oe *net.OpError
	if issuer != a.URL() || !errors.As(err, &oe) || !strings.Contains(err.Error(), a.URL()) {
		t.Fatalf("report = %q, %v; want the issuer and the dial error", issuer, err)
	}
	if errors.Is(err, authn.ErrKeysUnavailable) {
		t.Fatalf("report = %v: keys are still held, want no ErrKeysUnavailable", err)
	}
}

// An issuer never reached is reported as ErrKeysUnavailable.
func TestFetchErrorHandlerFirstFetch(t *testing.T) {
	b := startIssuer(t)
	b.Down()
	reports := newFetchReports()
	newVerifier(t, issuerCfg(b), reports.option())
	issuer, err := reports.wait(t)
	var oe *net.OpError
	if issuer != b.URL() || !errors.Is(err, authn.ErrKeysUnavailable) || !errors.As(err, &oe) {
		t.Fatalf("report = %q, %v; want the issuer, ErrKeysUnavailable and the dial error", issuer, err)
	}
}

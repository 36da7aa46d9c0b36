package authn

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantkit/tenantkit/tenant"
)

// maxDocumentSize bounds a JWKS or discovery document. Real ones are a few
// KiB; the bound stops a hostile or broken endpoint from exhausting memory.
const maxDocumentSize = 1 << 20

// keySet is the verification keys of one issuer and the policy for
// refreshing them. Keys are read lock-free on every verification; the mutex
// only guards the refresh bookkeeping.
type keySet struct {
	issuer       string
	jwksURL      atomic.Pointer[string] // set up front or found by discovery
	client       *http.Client
	fetchTimeout time.Duration
	cooldown     time.Duration
	fresh        time.Duration // how long fetched keys count as current, for check
	now          func() time.Time
	onRemove     func(kid string)               // called for each kid a refresh drops
	onError      func(issuer string, err error) // called after a failed fetch, or nil
	wg           *sync.WaitGroup                // tracks fetch goroutines, for Close

	keys atomic.Pointer[map[string]*publicKey]

	mu       sync.Mutex
	inflight *fetchCall // the fetch every waiter shares, or nil
	lastMiss time.Time  // when a kid miss last triggered a fetch
	lastErr  error      // why the last fetch failed; nil after a success
	lastOK   time.Time  // when a fetch last succeeded
	fetched  bool       // keys were fetched successfully at least once
	static   bool       // keys were given up front and are never fetched
}

// unavailable is the error of a token that cannot be checked because no
// keys were ever fetched: it matches ErrKeysUnavailable and wraps cause.
func (ks *keySet) unavailable(cause error) error {
	if cause == nil {
		cause = errors.New("no key set fetched yet")
	}
	return fmt.Errorf("%w: %s: %w", ErrKeysUnavailable, ks.issuer, cause)
}

// staleError is the error of a failed fetch while keys from an earlier one
// are still in use: tokens still verify, so it does not match
// ErrKeysUnavailable.
func (ks *keySet) staleError(cause error) error {
	return fmt.Errorf("tenant: %s: key refresh failed, earlier keys still in use: %w", ks.issuer, cause)
}

// check makes sure the set holds current keys: it returns nil at once if a
// fetch succeeded within the fresh period, and otherwise fetches (or joins
// the fetch in flight) and reports its failure.
func (ks *keySet) check(ctx context.Context) error {
	if ks.static {
		return nil
	}
	ks.mu.Lock()
	if ks.fetched && ks.now().Sub(ks.lastOK) < ks.fresh {
		ks.mu.Unlock()
		return nil
	}
	call := ks.inflight
	if call == nil {
		call = ks.startFetchLocked()
	}
	ks.mu.Unlock()
	var cause error
	select {
	case <-call.done:
		cause = call.err
	case <-ctx.Done():
		cause = ctx.Err()
	}
	if cause == nil {
		return nil
	}
	ks.mu.Lock()
	fetched := ks.fetched
	ks.mu.Unlock()
	if fetched {
		return ks.staleError(cause)
	}
	return ks.unavailable(cause)
}

// fetchCall is one fetch that any number of callers wait for.
type fetchCall struct {
	done chan struct{}
	err  error
}

func (ks *keySet) lookup(kid string) (*publicKey, bool) {
	m := ks.keys.Load()
	if m == nil {
		return nil, false
	}
	k, ok := (*m)[kid]
	return k, ok
}

// holds reports whether k is still in the current set: a cached verification
// made with a key the issuer has since withdrawn must not be served.
func (ks *keySet) holds(k *publicKey) bool {
	cur, ok := ks.lookup(k.kid)
	return ok && cur == k
}

// keyFor returns the key for kid, fetching the set once if kid is unknown.
// Unknown kids are attacker-controlled, so a miss may start at most one fetch
// per cooldown; misses inside the cooldown fail at once instead of queueing,
// and a caller never waits longer than the fetch timeout.
func (ks *keySet) keyFor(ctx context.Context, kid string) (*publicKey, error) {
	if k, ok := ks.lookup(kid); ok {
		return k, nil
	}
	if ks.static {
		return nil, &tenant.TokenError{Reason: ErrUnknownKey, Issuer: ks.issuer}
	}
	ks.mu.Lock()
	call := ks.inflight
	if call == nil {
		if !ks.lastMiss.IsZero() && ks.now().Sub(ks.lastMiss) < ks.cooldown {
			fetched, cause := ks.fetched, ks.lastErr
			ks.mu.Unlock()
			if !fetched {
				return nil, ks.unavailable(cause)
			}
			return nil, &tenant.TokenError{Reason: ErrUnknownKey, Issuer: ks.issuer}
		}
		ks.lastMiss = ks.now()
		call = ks.startFetchLocked()
	}
	ks.mu.Unlock()

	timer := time.NewTimer(ks.fetchTimeout)
	defer timer.Stop()
	var cause error
	select {
	case <-call.done:
		cause = call.err
	case <-timer.C:
		select {
		case <-call.done: // finished as the timer fired: its cause is the better answer
			cause = call.err
		default:
			cause = fmt.Errorf("no key set within %v: %w", ks.fetchTimeout, context.DeadlineExceeded)
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if k, ok := ks.lookup(kid); ok {
		return k, nil
	}
	ks.mu.Lock()
	fetched := ks.fetched
	ks.mu.Unlock()
	if !fetched {
		return nil, ks.unavailable(cause)
	}
	return nil, &tenant.TokenError{Reason: ErrUnknownKey, Issuer: ks.issuer}
}

// refresh fetches the set unless a fetch is already running, and waits for
// it. It is the background refresh; it does not touch the miss cooldown.
func (ks *keySet) refresh() error {
	ks.mu.Lock()
	call := ks.inflight
	if call == nil {
		call = ks.startFetchLocked()
	}
	ks.mu.Unlock()
	<-call.done
	return call.err
}

func (ks *keySet) startFetchLocked() *fetchCall {
	call := &fetchCall{done: make(chan struct{})}
	ks.inflight = call
	ks.wg.Add(1)
	go func() {
		defer ks.wg.Done()
		// The fetch is shared, so it must not die with the request that
		// happened to start it.
		ctx, cancel := context.WithTimeout(context.Background(), ks.fetchTimeout)
		call.err = ks.fetch(ctx)
		cancel()
		ks.mu.Lock()
		if call.err == nil {
			ks.fetched = true
			ks.lastOK = ks.now()
		}
		ks.lastErr = call.err
		ks.inflight = nil
		fetched := ks.fetched
		ks.mu.Unlock()
		close(call.done)
		if call.err != nil && ks.onError != nil {
			report := ks.unavailable(call.err)
			if fetched {
				report = ks.staleError(call.err)
			}
			ks.onError(ks.issuer, report)
		}
	}()
	return call
}

// fetch downloads the set and replaces the current one whole, so that a key
// the issuer withdrew stops verifying at once. On any failure the keys
// already held stay in use. Errors wrap their cause and leave the issuer
// to the caller.
func (ks *keySet) fetch(ctx context.Context) error {
	u := ks.jwksURL.Load()
	if u == nil {
		found, err := ks.discover(ctx)
		if err != nil {
			return err
		}
		ks.jwksURL.Store(&found)
		u = &found
	}
	body, err := get(ctx, ks.client, *u)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	next, _, err := parseJWKS(body)
	if err != nil {
		return fmt.Errorf("JWKS: %w", err)
	}
	prev := ks.keys.Load()
	if prev != nil {
		// Keep the old value of an unchanged key, so that cached
		// verifications made with it stay valid across a refresh.
		for kid, cur := range next {
			if old, ok := (*prev)[kid]; ok && old.alg == cur.alg && samePublicKey(old.key, cur.key) {
				next[kid] = old
			}
		}
	}
	ks.keys.Store(&next)
	if prev != nil && ks.onRemove != nil {
		for kid, old := range *prev {
			if next[kid] != old {
				ks.onRemove(kid)
			}
		}
	}
	return nil
}

// samePublicKey reports whether two parsed keys are the same key. Every type
// parseJWKS produces has an Equal method.
func samePublicKey(a, b any) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// discover reads the issuer's OpenID Connect discovery document and returns
// its jwks_uri. The document must name the same issuer (OpenID Connect
// Discovery 1.0, section 4.3), or a misconfigured proxy could hand us another
// issuer's keys.
func (ks *keySet) discover(ctx context.Context) (string, error) {
	url := strings.TrimRight(ks.issuer, "/") + "/.well-known/openid-configuration"
	body, err := get(ctx, ks.client, url)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != ks.issuer {
		return "", fmt.Errorf("discovery names issuer %q", doc.Issuer)
	}
	if doc.JWKSURI == "" {
		return "", errors.New("discovery has no jwks_uri")
	}
	if err := checkFetchString(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery: jwks_uri: %w", err)
	}
	return doc.JWKSURI, nil
}

// get fetches a document. client must come from guardClient, so that
// redirects follow the fetch rule; the URL itself is checked here.
func get(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if err := checkFetchURL(req.URL); err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, &HTTPStatusError{URL: url, StatusCode: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxDocumentSize {
		return nil, errors.New("document larger than 1 MiB")
	}
	return body, nil
}

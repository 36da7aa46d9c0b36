package httpmw_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/ratelimit/redislimit"
	"github.com/tenantkit/tenantkit/tenant"
)

func rlPlans(t *testing.T) *ratelimit.Plans {
	t.Helper()
	ps, err := ratelimit.NewPlans(
		ratelimit.Plan{Rate: ratelimit.PerMinute(10), Burst: 2},
		map[string]ratelimit.Plan{
			"free":       {Rate: ratelimit.PerMinute(100), Burst: 3, Quota: ratelimit.Monthly(10_000), InFlight: 1},
			"metered":    {Rate: ratelimit.PerMinute(1000), Burst: 100, Quota: ratelimit.Daily(4)},
			"enterprise": {Rate: ratelimit.PerMinute(10_000), Burst: 1000},
		})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func rlRequest(t *testing.T, id, tier string) *http.Request {
	t.Helper()
	tn, err := tenant.New(id, tier)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/v1/things", nil)
	return r.WithContext(tenant.NewContext(r.Context(), tn))
}

func rlServe(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var rlOK = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

type rlProblemBody struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail"`
	Policy     string `json:"policy"`
	Reason     string `json:"reason"`
	RetryAfter int    `json:"retry_after"`
}

func rlDecodeProblem(t *testing.T, w *httptest.ResponseRecorder) rlProblemBody {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var p rlProblemBody
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if p.Status != w.Code {
		t.Errorf("problem status %d, response %d", p.Status, w.Code)
	}
	return p
}

func TestRateLimitHeadersAnd429(t *testing.T) {
	h := httpmw.RateLimit(tenanttest.Local(t), rlPlans(t))(rlOK)
	wantPolicy := `"free";q=100;w=60, "free-quota";q=10000;w=2592000`
	for i := range 3 {
		w := rlServe(h, rlRequest(t, "acme", "free"))
		if w.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
		if got := w.Header().Get("RateLimit-Policy"); got != wantPolicy {
			t.Errorf("RateLimit-Policy %q, want %q", got, wantPolicy)
		}
		re := regexp.MustCompile(`^"free";r=` + strconv.Itoa(2-i) + `;t=[12], "free-quota";r=` + strconv.Itoa(9999-i) + `;t=\d+$`)
		if got := w.Header().Get("RateLimit"); !re.MatchString(got) {
			t.Errorf("request %d: RateLimit %q does not match %s", i, got, re)
		}
	}
	w := rlServe(h, rlRequest(t, "acme", "free"))
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d", w.Code)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1 (0.6 s rounded up)", got)
	}
	if got := w.Header().Get("RateLimit"); !regexp.MustCompile(`^"free";r=0;t=2, "free-quota";r=9997;t=\d+$`).MatchString(got) {
		t.Errorf("RateLimit on 429: %q", got)
	}
	p := rlDecodeProblem(t, w)
	if p.Policy != "free" || p.Reason != "rate" || p.RetryAfter != 1 || p.Title != "Too Many Requests" || p.Type != "about:blank" {
		t.Errorf("problem %+v", p)
	}
	if !regexp.MustCompile(`"free".*100 per 1m0s, burst 3`).MatchString(p.Detail) {
		t.Errorf("detail %q does not describe the plan", p.Detail)
	}
	// Enterprise passes while free is limited; unknown tiers get the default.
	if w := rlServe(h, rlRequest(t, "bigco", "enterprise")); w.Code != http.StatusOK || w.Header().Get("RateLimit-Policy") != `"enterprise";q=10000;w=60` {
		t.Errorf("enterprise: %d %q", w.Code, w.Header().Get("RateLimit-Policy"))
	}
	if w := rlServe(h, rlRequest(t, "other", "platinum")); w.Header().Get("RateLimit-Policy") != `"default";q=10;w=60` {
		t.Errorf("unknown tier: %q", w.Header().Get("RateLimit-Policy"))
	}
}

func TestRateLimitQuota429(t *testing.T) {
	h := httpmw.RateLimit(tenanttest.Local(t), rlPlans(t))(rlOK)
	for range 4 {
		if w := rlServe(h, rlRequest(t, "acme", "metered")); w.Code != http.StatusOK {
			t.Fatalf("%d", w.Code)
		}
	}
	w := rlServe(h, rlRequest(t, "acme", "metered"))
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("5th request: %d", w.Code)
	}
	now := time.Now().UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	ra, _ := strconv.Atoi(w.Header().Get("Retry-After"))
	if want := int(time.Until(midnight).Seconds()); ra < want-2 || ra > want+2 {
		t.Errorf("Retry-After %d, want about %d (to midnight UTC)", ra, want)
	}
	p := rlDecodeProblem(t, w)
	if p.Policy != "metered-quota" || p.Reason != "quota" {
		t.Errorf("problem %+v", p)
	}
	if got := w.Header().Get("RateLimit"); !regexp.MustCompile(`^"metered";r=96;t=1, "metered-quota";r=0;t=\d+$`).MatchString(got) {
		t.Errorf("RateLimit %q", got)
	}
}

func TestRateLimitWithoutTenant(t *testing.T) {
	ps := rlPlans(t)
	h := httpmw.RateLimit(tenanttest.Local(t), ps)(rlOK)
	w := rlServe(h, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("no tenant: %d %v", w.Code, w.Header())
	}
	rlDecodeProblem(t, w)

	var keys []string
	h = httpmw.RateLimit(tenanttest.Local(t), ps,
		httpmw.WithUntenantedKey(func(r *http.Request) string { return r.Header.Get("X-Client") }),
		httpmw.WithDecisionHook(func(r *http.Request, d ratelimit.Decision, err error) { keys = append(keys, d.Plan.Name) }),
	)(rlOK)
	anon := func(client string) int {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Client", client)
		return rlServe(h, r).Code
	}
	got := []int{anon("1.2.3.4"), anon("1.2.3.4"), anon("1.2.3.4"), anon("5.6.7.8")}
	if !slices.Equal(got, []int{200, 200, 429, 200}) {
		t.Fatalf("anonymous requests answered %v: not limited by key under the default plan", got)
	}
	if anon("") != http.StatusUnauthorized {
		t.Fatal("empty anonymous key let through")
	}
	if len(keys) != 4 || keys[0] != "default" {
		t.Fatalf("decisions seen: %v", keys)
	}
	// A tenant whose ID equals an anonymous key has its own bucket.
	if w := rlServe(h, rlRequest(t, "1.2.3.4", "")); w.Code != 200 {
		t.Fatalf("tenant shares the anonymous bucket: %d", w.Code)
	}
}

func TestRateLimitCost(t *testing.T) {
	h := httpmw.RateLimit(tenanttest.Local(t), rlPlans(t), httpmw.WithCost(func(r *http.Request) int {
		n, _ := strconv.Atoi(r.URL.Query().Get("cost"))
		return n
	}))(rlOK)
	req := func(cost int) int {
		r := rlRequest(t, "acme", "enterprise")
		r.URL.RawQuery = "cost=" + strconv.Itoa(cost)
		return rlServe(h, r).Code
	}
	if got := []int{req(400), req(400), req(400), req(200)}; !slices.Equal(got, []int{200, 200, 429, 200}) {
		t.Fatalf("costs 400, 400, 400, 200 of a burst of 1000 answered %v", got)
	}
	if code := req(1001); code != http.StatusInternalServerError {
		t.Fatalf("cost above burst: %d", code)
	}
	if code := req(0); code != http.StatusInternalServerError {
		t.Fatalf("cost 0: %d", code)
	}
}

type rlFailingLimiter struct{ retry time.Duration }

func (f rlFailingLimiter) Take(_ context.Context, _ string, p *ratelimit.Plan, _ int) (ratelimit.Decision, error) {
	return ratelimit.Decision{Plan: p, DeniedBy: ratelimit.ReasonUnavailable, RetryAfter: f.retry}, &redislimit.UnavailableError{Err: context.DeadlineExceeded}
}

func TestRateLimitUnavailable(t *testing.T) {
	called := false
	h := httpmw.RateLimit(rlFailingLimiter{retry: 1500 * time.Millisecond}, rlPlans(t))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	w := rlServe(h, rlRequest(t, "acme", "free"))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "2" || called {
		t.Fatalf("%d Retry-After=%q called=%v", w.Code, w.Header().Get("Retry-After"), called)
	}
	p := rlDecodeProblem(t, w)
	if p.Title != "Service Unavailable" {
		t.Errorf("%+v", p)
	}
}

// The in-flight slot is released on every exit path, panics included.
func TestRateLimitInFlightRelease(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	ps, err := ratelimit.NewPlans(ratelimit.Plan{Rate: ratelimit.PerMinute(100), Burst: 100, InFlight: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := httpmw.RateLimit(tenanttest.Local(t), ps)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/block":
			entered <- struct{}{}
			<-release
		case "/panic":
			panic("handler bug")
		}
	}))
	// The tenant comes from a header in this test server only.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tn, _ := tenant.New(r.Header.Get("T"), "free")
		h.ServeHTTP(w, r.WithContext(tenant.NewContext(r.Context(), tn)))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the deliberate panic
	srv.Start()
	defer srv.Close()
	get := func(path string) (*http.Response, error) {
		// POST: the client must not retry the request whose handler panics.
		r, _ := http.NewRequest(http.MethodPost, srv.URL+path, nil)
		r.Header.Set("T", "acme")
		return srv.Client().Do(r)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := get("/block"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	resp, err := get("/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("RateLimit") != "" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("second request in flight: %d %v", resp.StatusCode, resp.Header)
	}
	close(release)
	<-done
	if resp, err := get("/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the first request ended: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// The server recovers the panic and drops the connection.
	if resp, err := get("/panic"); err == nil {
		resp.Body.Close()
		t.Fatalf("panic answered %d", resp.StatusCode)
	}
	if resp, err := get("/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("slot not released by the panic: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	srv.Client().CloseIdleConnections()
}

func TestRateLimitInFlightProblem(t *testing.T) {
	l := tenanttest.Local(t)
	ps := rlPlans(t)
	held, _ := l.Take(context.Background(), "acme", ps.For("free"), 1)
	defer held.Release()
	w := rlServe(httpmw.RateLimit(l, ps)(rlOK), rlRequest(t, "acme", "free"))
	p := rlDecodeProblem(t, w)
	if w.Code != 429 || p.Policy != "free-inflight" || p.Reason != "in-flight" || w.Header().Get("RateLimit") != "" {
		t.Fatalf("%d %+v %v", w.Code, p, w.Header())
	}
}

// TestRateLimitRedisOutage runs the middleware on the shared limiter and
// stops the real redis-server under it: the fail-closed plan answers 503
// with Retry-After, the fail-open plan passes; after a restart both are
// limited through Redis again.
func TestRateLimitRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 250 * time.Millisecond})
	defer client.Close()
	ps, err := ratelimit.NewPlans(
		ratelimit.Plan{Rate: ratelimit.PerMinute(600), Burst: 100},
		map[string]ratelimit.Plan{"open": {Rate: ratelimit.PerMinute(600), Burst: 100, OnBackendFailure: ratelimit.FailOpen()}})
	if err != nil {
		t.Fatal(err)
	}
	var failures atomic.Int64
	l, err := redislimit.New(client, redislimit.WithRetryInterval(20*time.Millisecond),
		redislimit.WithErrorHandler(func(context.Context, error) { failures.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	h := httpmw.RateLimit(l, ps)(rlOK)
	if w := rlServe(h, rlRequest(t, "acme", "")); w.Code != 200 {
		t.Fatalf("before: %d", w.Code)
	}
	srv.Stop()
	w := rlServe(h, rlRequest(t, "acme", ""))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("fail closed: %d %v", w.Code, w.Header())
	}
	if w := rlServe(h, rlRequest(t, "acme", "open")); w.Code != 200 || w.Header().Get("RateLimit") != "" {
		t.Fatalf("fail open: %d %v", w.Code, w.Header())
	}
	if failures.Load() == 0 {
		t.Fatal("failure not reported")
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for rlServe(h, rlRequest(t, "acme", "")).Code != 200 {
		if time.Now().After(deadline) {
			t.Fatal("no recovery after restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w := rlServe(h, rlRequest(t, "acme", "open")); w.Code != 200 || w.Header().Get("RateLimit") == "" {
		t.Fatalf("open plan after restart: %d %v", w.Code, w.Header())
	}
}

func ExampleRateLimit() {
	plans, err := ratelimit.NewPlans(
		ratelimit.Plan{Rate: ratelimit.PerMinute(10), Burst: 5}, // unknown tiers
		map[string]ratelimit.Plan{
			"free":       {Rate: ratelimit.PerMinute(100), Burst: 2, Quota: ratelimit.Monthly(10_000)},
			"enterprise": {Rate: ratelimit.PerMinute(10_000), Burst: 1_000},
		})
	if err != nil {
		panic(err)
	}
	// Local limits one process; redislimit.New(client) shares limits
	// between replicas through Redis.
	limiter, err := ratelimit.NewLocal()
	if err != nil {
		panic(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	// In a service: httpmw.Authenticate(verifier)(httpmw.RateLimit(limiter, plans)(api)).
	h := httpmw.RateLimit(limiter, plans)(api)

	free, _ := tenant.New("acme", "free")
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/v1/orders", nil)
		r = r.WithContext(tenant.NewContext(r.Context(), free))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("RateLimit-Policy"))
	}
	// Output:
	// 200 "free";q=100;w=60, "free-quota";q=10000;w=2592000
	// 200 "free";q=100;w=60, "free-quota";q=10000;w=2592000
	// 429 "free";q=100;w=60, "free-quota";q=10000;w=2592000
}

// A tenant whose tier changes between requests gets what the two quota
// counters allow together, not a fresh quota at each change.
func TestRateLimitTierChangesKeepSpentQuota(t *testing.T) {
	h := httpmw.RateLimit(tenanttest.FixedLocal(t), tenanttest.TierPlans(t))(rlOK)
	allowed := 0
	for i := range 45 {
		tier := "free"
		if i >= 5 && i%2 == 0 {
			tier = "trial"
		}
		if rlServe(h, rlRequest(t, "acme", tier)).Code == http.StatusOK {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("alternating tiers allowed %d of 45 requests, want 10 (5 a month + 5 a day)", allowed)
	}
}

// Untenanted keys never push tenants out of their limiter: after 3,000
// anonymous clients, every tenant's spent quota is still spent.
func TestRateLimitAnonymousKeysKeepTenantQuota(t *testing.T) {
	h := httpmw.RateLimit(tenanttest.FixedLocal(t, ratelimit.WithMaxKeys(256)), tenanttest.TierPlans(t),
		httpmw.WithUntenantedKey(func(r *http.Request) string { return r.Header.Get("X-Client") }))(rlOK)
	tenants := make([]string, 50)
	for i := range tenants {
		tenants[i] = "tenant-" + strconv.Itoa(i)
		for range 5 {
			if w := rlServe(h, rlRequest(t, tenants[i], "free")); w.Code != http.StatusOK {
				t.Fatalf("tenant %d: %d", i, w.Code)
			}
		}
	}
	for i := range 3000 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Client", "198.51.100."+strconv.Itoa(i))
		if w := rlServe(h, r); w.Code != http.StatusOK {
			t.Fatalf("anonymous client %d: %d", i, w.Code)
		}
	}
	for i, id := range tenants {
		w := rlServe(h, rlRequest(t, id, "free"))
		if w.Code != http.StatusTooManyRequests || rlDecodeProblem(t, w).Reason != "quota" {
			t.Fatalf("tenant %d after the anonymous clients: %d %s (its spent quota was given back)", i, w.Code, w.Body)
		}
	}
}

// A tenant limiter full of tenants with spent quota answers a new tenant
// 503 with Retry-After, and never forgets the others' quota.
func TestRateLimitFullLimiter503(t *testing.T) {
	l := tenanttest.FixedLocal(t, ratelimit.WithMaxKeys(16))
	h := httpmw.RateLimit(l, tenanttest.TierPlans(t))(rlOK)
	for i := range 16 {
		if w := rlServe(h, rlRequest(t, "tenant-"+strconv.Itoa(i), "trial")); w.Code != http.StatusOK {
			t.Fatalf("tenant %d: %d", i, w.Code)
		}
	}
	w := rlServe(h, rlRequest(t, "late", "trial"))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "43200" {
		t.Fatalf("new tenant in a full limiter: %d Retry-After %q, want 503 until midnight", w.Code, w.Header().Get("Retry-After"))
	}
	rlDecodeProblem(t, w)
	for i := range 16 {
		for range 4 {
			rlServe(h, rlRequest(t, "tenant-"+strconv.Itoa(i), "trial"))
		}
		if w := rlServe(h, rlRequest(t, "tenant-"+strconv.Itoa(i), "trial")); w.Code != http.StatusTooManyRequests {
			t.Fatalf("tenant %d: %d after its quota", i, w.Code)
		}
	}
}

// Untenanted keys go to the limiter given for them.
func TestRateLimitUntenantedLimiter(t *testing.T) {
	tenants, anon := tenanttest.Local(t), tenanttest.Local(t)
	h := httpmw.RateLimit(tenants, rlPlans(t),
		httpmw.WithUntenantedKey(func(r *http.Request) string { return r.Header.Get("X-Client") }),
		httpmw.WithUntenantedLimiter(anon))(rlOK)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Client", "192.0.2.1")
	rlServe(h, r)
	rlServe(h, rlRequest(t, "acme", "free"))
	if tenants.Len() != 1 || anon.Len() != 1 {
		t.Fatalf("tenant limiter %d keys, untenanted limiter %d keys; want 1 and 1", tenants.Len(), anon.Len())
	}
}

// The RateLimit fields are stored under their canonical keys, as
// Header.Set would store them, so that a handler's own Set or Del of either
// name replaces them instead of adding a second field.
func TestRateLimitHeaderKeysCanonical(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("RateLimit", `"app";r=1;t=1`)
		w.Header().Del("RateLimit-Policy")
		w.WriteHeader(http.StatusOK)
	})
	w := rlServe(httpmw.RateLimit(tenanttest.Local(t), rlPlans(t))(next), rlRequest(t, "acme", "free"))
	if got := w.Header().Values("RateLimit"); len(got) != 1 || got[0] != `"app";r=1;t=1` {
		t.Errorf("RateLimit %q after the handler's Set", got)
	}
	if got := w.Header().Values("RateLimit-Policy"); len(got) != 0 {
		t.Errorf("RateLimit-Policy %q after the handler's Del", got)
	}
	for k := range w.Header() {
		if k != http.CanonicalHeaderKey(k) {
			t.Errorf("header key %q is not canonical", k)
		}
	}
}

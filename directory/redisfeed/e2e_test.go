package redisfeed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/directory/redisfeed"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/grpchealthtest"
	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/tenant"
)

// publisher publishes on the replicas' channel, as the control plane does.
type publisher struct {
	t       *testing.T
	client  redis.UniversalClient
	channel string
}

func (p *publisher) publish(id string) {
	p.t.Helper()
	if err := redisfeed.Publish(ctx, p.client, p.channel, id); err != nil {
		p.t.Fatalf("Publish(%s): %v", id, err)
	}
}

// replicas starts three replicas of a service over one directory (the
// control plane's truth) and one issuer: each with its own token verifier,
// directory cache, Redis client and Subscriber. serve builds a replica's
// server and returns a function making one request as the tenant acme,
// answering whether it was let in.
func replicas(t *testing.T, serve func(v *directory.Cache, iss *authntest.Issuer) func() (bool, error)) (dir *directory.Memory, pub *publisher, do []func() (bool, error)) {
	addr := redistest.Addr(t)
	channel := redistest.Prefix(t) + redisfeed.DirectoryChannel
	iss := authntest.NewIssuer(t)
	dir = directory.NewMemory(map[string]directory.Entry{"acme": {Status: directory.Active, Tier: "pro"}})
	var subs []*redisfeed.Subscriber
	for range 3 {
		// A TTL of an hour: only the feed can make a replica see a change
		// within the test.
		cache, err := directory.NewCache(dir, directory.WithTTL(directory.MaxTTL))
		if err != nil {
			t.Fatal(err)
		}
		s, err := redisfeed.NewSubscriber(newClient(t, addr), channel, cache)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		subs = append(subs, s)
		do = append(do, serve(cache, iss))
	}
	waitReady(t, subs...)
	return dir, &publisher{t: t, client: newClient(t, addr), channel: channel}, do
}

// untilAll calls each replica's do in a loop of its own until it answers
// want, and returns how long each took from start; it fails the test after
// limit or on a transport error.
func untilAll(t *testing.T, start time.Time, limit time.Duration, want bool, do []func() (bool, error)) []time.Duration {
	t.Helper()
	took := make([]time.Duration, len(do))
	errs := make([]error, len(do))
	var wg sync.WaitGroup
	for i, f := range do {
		wg.Go(func() {
			for {
				in, err := f()
				if err != nil {
					errs[i] = err
					return
				}
				if in == want {
					took[i] = time.Since(start)
					return
				}
				if time.Since(start) > limit {
					errs[i] = fmt.Errorf("still let in=%v after %v", in, limit)
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	return took
}

// suspensionReachesThreeReplicas runs rounds of: the tenant's token cached
// on three replicas, the tenant suspended in the directory, the change
// published once; it measures the time from the publish until every replica
// refuses, and reactivates the tenant the same way for the next round.
func suspensionReachesThreeReplicas(t *testing.T, serve func(*directory.Cache, *authntest.Issuer) func() (bool, error)) {
	dir, pub, do := replicas(t, serve)
	const rounds = 20
	var all, each []time.Duration
	for round := range rounds {
		// Cached on all three: verified token and directory answer.
		for i, f := range do {
			if in, err := f(); err != nil || !in {
				t.Fatalf("round %d: replica %d refused the active tenant (%v)", round, i, err)
			}
		}
		dir.Set("acme", directory.Entry{Status: directory.Suspended})
		// Without the feed, every replica still serves its cached answer.
		for i, f := range do {
			if in, err := f(); err != nil || !in {
				t.Fatalf("round %d: replica %d refused before the publish (in=%v, %v): the cache is not in play", round, i, in, err)
			}
		}
		start := time.Now()
		pub.publish("acme")
		took := untilAll(t, start, 2*time.Second, false, do)
		each = append(each, took...)
		all = append(all, slices.Max(took))

		dir.Set("acme", directory.Entry{Status: directory.Active, Tier: "pro"})
		pub.publish("acme")
		untilAll(t, time.Now(), 2*time.Second, true, do)
	}
	worst := slices.Max(all)
	t.Logf("suspension to refusal on 3 replicas over %d rounds: all three refusing p50 %v, max %v; per replica p50 %v, p99 %v",
		rounds, percentile(all, 0.5), worst, percentile(each, 0.5), percentile(each, 0.99))
	if worst >= time.Second {
		t.Fatalf("a suspension took %v to reach all three replicas, want < 1 s", worst)
	}
}

func TestSuspensionRefusedOnThreeHTTPReplicasWithinOneSecond(t *testing.T) {
	suspensionReachesThreeReplicas(t, func(cache *directory.Cache, iss *authntest.Issuer) func() (bool, error) {
		v := directory.Verifier(authntest.NewVerifier(t, iss), cache)
		ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		srv := httptest.NewServer(httpmw.Authenticate(v)(ok))
		t.Cleanup(srv.Close)
		client := srv.Client()
		token := iss.Token("acme", "pro")
		return func() (bool, error) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
			if err != nil {
				return false, err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				return false, err
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusNoContent:
				return true, nil
			case http.StatusForbidden:
				return false, nil
			}
			return false, fmt.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestSuspensionRefusedOnThreeGRPCReplicasWithinOneSecond(t *testing.T) {
	suspensionReachesThreeReplicas(t, func(cache *directory.Cache, iss *authntest.Issuer) func() (bool, error) {
		v := directory.Verifier(authntest.NewVerifier(t, iss), cache)
		client := grpchealthtest.Serve(t, health.NewServer(), grpc.UnaryInterceptor(grpcmw.UnaryServerAuthenticate(v)))
		md := metadata.Pairs("authorization", "Bearer "+iss.Token("acme", "pro"))
		return func() (bool, error) {
			cctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(ctx, md), time.Second)
			defer cancel()
			_, err := client.Check(cctx, &grpc_health_v1.HealthCheckRequest{})
			switch status.Code(err) {
			case codes.OK:
				return true, nil
			case codes.PermissionDenied:
				return false, nil
			}
			return false, err
		}
	})
}

// tierReply is what a replica of the tier test answered: the status, the
// tier the handler saw (tenant.FromContext; "" if it did not run), the
// first policy named by RateLimit-Policy and, on a 429, the problem body's
// policy.
type tierReply struct {
	status int
	tier   string
	plan   string
	denied string
}

// policyName returns the name of the first item of a RateLimit-Policy field
// value ("free" of `"free";q=60;w=60`).
func policyName(field string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(field, `"`), `"`)
	return name
}

// A downgrade from pro to free in the directory, published once, reaches
// three replicas' limiter plan (RateLimit-Policy, then a 429 after the free
// burst) and the tier their handlers see within 1 s, with a cache TTL of an
// hour so that only the feed can explain the change.
func TestTierChangeReachesThreeHTTPReplicasWithinOneSecond(t *testing.T) {
	var calls []func() (tierReply, error)
	dir, pub, _ := replicas(t, func(cache *directory.Cache, iss *authntest.Issuer) func() (bool, error) {
		v := directory.Verifier(authntest.NewVerifier(t, iss), cache)
		// Each replica has a limiter of its own, as in-process limiters do.
		l, err := ratelimit.NewLocal()
		if err != nil {
			t.Fatal(err)
		}
		plans, err := ratelimit.NewPlans(ratelimit.Plan{Rate: ratelimit.PerMinute(1), Burst: 1}, map[string]ratelimit.Plan{
			"pro":  {Rate: ratelimit.PerSecond(1000), Burst: 20},
			"free": {Rate: ratelimit.PerMinute(60), Burst: 2},
		})
		if err != nil {
			t.Fatal(err)
		}
		report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tn, _ := tenant.FromContext(r.Context())
			w.Header().Set("X-Tier", tn.Tier())
			w.WriteHeader(http.StatusNoContent)
		})
		srv := httptest.NewServer(httpmw.Authenticate(v)(httpmw.RateLimit(l, plans)(report)))
		t.Cleanup(srv.Close)
		client := srv.Client()
		token := iss.Token("acme", "pro") // the token keeps saying pro
		call := func() (tierReply, error) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
			if err != nil {
				return tierReply{}, err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				return tierReply{}, err
			}
			defer resp.Body.Close()
			r := tierReply{status: resp.StatusCode, tier: resp.Header.Get("X-Tier"), plan: policyName(resp.Header.Get("RateLimit-Policy"))}
			if r.status == http.StatusTooManyRequests {
				var body struct{ Policy string }
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					return r, fmt.Errorf("429 body: %v", err)
				}
				r.denied = body.Policy
			}
			return r, nil
		}
		calls = append(calls, call)
		return nil // the test uses calls
	})
	// sees returns, per replica, a request answering whether the handler
	// saw tier and the limiter applied tier's plan (a 429 answers false: the
	// handler did not run); a tier and a plan that disagree, or another
	// status than 204 or 429, is an error, and so is, if only, any other
	// tier or plan than tier.
	sees := func(tier string, only bool) []func() (bool, error) {
		var do []func() (bool, error)
		for _, call := range calls {
			do = append(do, func() (bool, error) {
				r, err := call()
				if err != nil {
					return false, err
				}
				if only && r.plan != tier {
					return false, fmt.Errorf("status %d of the plan %q (tier %q), want only %q", r.status, r.plan, r.tier, tier)
				}
				switch r.status {
				case http.StatusNoContent:
					if r.tier != r.plan {
						return false, fmt.Errorf("the handler saw tier %q under the plan %q", r.tier, r.plan)
					}
					return r.tier == tier, nil
				case http.StatusTooManyRequests:
					return false, nil
				}
				return false, fmt.Errorf("status %d", r.status)
			})
		}
		return do
	}
	toFree, toPro, onlyPro := sees("free", false), sees("pro", false), sees("pro", true)

	const rounds = 10
	var all, each []time.Duration
	for round := range rounds {
		// Cached as pro on all three. The pro bucket may still be refilling
		// from the free burst spent in the round before: a 429 of the pro
		// plan is waited out, anything of free fails.
		untilAll(t, time.Now(), time.Second, true, onlyPro)
		dir.Set("acme", directory.Entry{Status: directory.Active, Tier: "free"})
		// Without the feed, every replica still serves its cached pro.
		untilAll(t, time.Now(), time.Second, true, onlyPro)
		start := time.Now()
		pub.publish("acme")
		took := untilAll(t, start, 2*time.Second, true, toFree)
		each = append(each, took...)
		all = append(all, slices.Max(took))

		// The free plan is applied, not only named: its burst of 2 ends
		// in a 429 naming free (one token went on the request above).
		for i, call := range calls {
			var r tierReply
			for range 3 {
				var err error
				if r, err = call(); err != nil {
					t.Fatalf("round %d: replica %d: %v", round, i, err)
				}
				if r.status == http.StatusTooManyRequests {
					break
				}
			}
			if r.status != http.StatusTooManyRequests || r.plan != "free" || r.denied != "free" {
				t.Fatalf("round %d: replica %d: after the free burst got %+v, want a 429 of the free plan", round, i, r)
			}
		}

		dir.Set("acme", directory.Entry{Status: directory.Active, Tier: "pro"})
		pub.publish("acme")
		untilAll(t, time.Now(), 2*time.Second, true, toPro)
	}
	worst := slices.Max(all)
	t.Logf("downgrade to the free tier and plan on 3 replicas over %d rounds: all three p50 %v, max %v; per replica p50 %v, p99 %v",
		rounds, percentile(all, 0.5), worst, percentile(each, 0.5), percentile(each, 0.99))
	if worst >= time.Second {
		t.Fatalf("a downgrade took %v to reach all three replicas, want < 1 s", worst)
	}
}

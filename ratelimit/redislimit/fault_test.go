package redislimit_test

// Fault tests: the shared limiter against real Redis faults on loopback: a
// Redis Cluster master killed under load, a Sentinel failover, a server
// stalled by SIGSTOP, a server out of memory. Each runs a bounded load
// (counted and timed), records every decision with its latency, and checks
// the invariants "a fault stays where it happens" and "what was spent
// stays spent" in numbers. make faults runs them alone (they measure
// latencies).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/ratelimit/redislimit"
)

const (
	// faultDeadline is the per-decision deadline the fault tests give the
	// limiter, and faultSlack what a decision may take beyond it.
	faultDeadline = redislimit.DefaultDecisionTimeout
	faultSlack    = 50 * time.Millisecond

	// faultPace is the pause of a load worker between two decisions: it
	// bounds the records a worker makes while the limiter answers without
	// asking Redis.
	faultPace = 500 * time.Microsecond
	// faultMaxRecords bounds the decisions one worker makes in a run.
	faultMaxRecords = 40_000
)

var faultCtx = context.Background()

// faultClass is how a decision was made.
type faultClass uint8

const (
	classShared      faultClass = iota // by Redis: no error, not Degraded
	classDegraded                      // by the failure policy, without an error (fail open, local fallback)
	classUnavailable                   // an error wrapping ratelimit.ErrUnavailable (fail closed)
	classFailed                        // any other error
)

func (c faultClass) String() string {
	return [...]string{"shared", "degraded", "unavailable", "failed"}[c]
}

func classify(d ratelimit.Decision, err error) faultClass {
	switch {
	case err == nil && !d.Degraded:
		return classShared
	case err == nil:
		return classDegraded
	case errors.Is(err, ratelimit.ErrUnavailable):
		return classUnavailable
	}
	return classFailed
}

// errCause sorts the errors of fail-closed decisions.
func errCause(err error) string {
	switch {
	case err == nil:
		return ""
	case strings.Contains(err.Error(), "less than the retry interval ago"):
		return "skipped after a failure"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
		return "connection"
	}
	return "other"
}

// unsent reports whether a decision that failed with cause never reached
// Redis: the breaker skipped it, or the dial was refused. Any other failure
// may have come after the server ran the script (its reply was lost to a
// reset, an EOF or a timeout), so the quota it spent is not a bug.
func unsent(cause string) bool { return cause == "skipped after a failure" || cause == "refused" }

// faultRec is one decision of a load run.
type faultRec struct {
	start, end time.Duration // since the run began
	tenant     int32
	inst       int8 // which limiter
	class      faultClass
	allowed    bool
	reason     ratelimit.Reason
	cause      string // errCause of the error
}

func (r faultRec) latency() time.Duration { return r.end - r.start }

// faultTenant is a tenant of a load run and its plan.
type faultTenant struct {
	key  string
	plan *ratelimit.Plan
}

// faultLoad is a bounded load on several limiters: workers goroutines per
// limiter, worker w taking the tenants w, w+workers, ... in turn, so that
// every tenant gets requests from every limiter.
type faultLoad struct {
	t0      time.Time
	tenants []faultTenant
	stop    atomic.Bool
	wg      sync.WaitGroup
	n       atomic.Int64   // decisions made
	shared  []atomic.Int32 // per tenant: shared decisions
	capped  atomic.Int32   // workers that stopped at faultMaxRecords

	mu   sync.Mutex
	recs []faultRec
	errs map[string]int // messages of the errors, with their class
}

func startFaultLoad(lims []*redislimit.Limiter, tenants []faultTenant, workers int, maxDur time.Duration) *faultLoad {
	ld := &faultLoad{
		t0:      time.Now(),
		tenants: tenants,
		shared:  make([]atomic.Int32, len(tenants)),
		errs:    map[string]int{},
	}
	deadline := ld.t0.Add(maxDur)
	for k, lim := range lims {
		for w := range workers {
			ld.wg.Add(1)
			go func() {
				defer ld.wg.Done()
				recs := make([]faultRec, 0, 1024)
				errs := map[string]int{}
				defer func() {
					ld.mu.Lock()
					ld.recs = append(ld.recs, recs...)
					for m, n := range errs {
						ld.errs[m] += n
					}
					ld.mu.Unlock()
				}()
				for i := w; ; i += workers {
					if i >= len(tenants) {
						i = w
					}
					if ld.stop.Load() || time.Now().After(deadline) {
						return
					}
					if len(recs) == faultMaxRecords {
						ld.capped.Add(1)
						return
					}
					ten := tenants[i]
					start := time.Since(ld.t0)
					d, err := lim.Take(faultCtx, ten.key, ten.plan, 1)
					end := time.Since(ld.t0)
					d.Release()
					c := classify(d, err)
					if c == classFailed || c == classUnavailable {
						m := err.Error()
						if len(m) > 200 {
							m = m[:200]
						}
						errs[c.String()+": "+m]++
					}
					if c == classShared {
						ld.shared[i].Add(1)
					}
					recs = append(recs, faultRec{start, end, int32(i), int8(k), c, d.Allowed, d.DeniedBy, errCause(err)})
					ld.n.Add(1)
					time.Sleep(faultPace)
				}
			}()
		}
	}
	return ld
}

func (ld *faultLoad) since() time.Duration { return time.Since(ld.t0) }

// faultStopWait bounds how long finish waits for the workers to stop: a
// decision may take faultDeadline + faultSlack, so a worker still busy
// this long after the stop is stuck in one.
const faultStopWait = 10 * time.Second

// finish stops the workers and returns every decision, in start order. A
// decision that never returns is in no record, so no latency check would
// see it: finish panics (with every goroutine's stack) when the workers
// have not stopped within faultStopWait, instead of waiting for ever.
func (ld *faultLoad) finish() []faultRec {
	ld.stop.Store(true)
	done := make(chan struct{})
	go func() {
		ld.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(faultStopWait):
		debug.SetTraceback("all") // the stuck workers' stacks too
		panic(fmt.Sprintf("fault load: workers still in a decision %v after the stop (decision deadline %v)", faultStopWait, faultDeadline))
	}
	slices.SortFunc(ld.recs, func(a, b faultRec) int { return int(a.start - b.start) })
	return ld.recs
}

// waitUntil polls cond every 20 ms until it holds or timeout passes, and
// reports whether it held.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// enoughShared reports whether every tenant under plan p has at least n
// shared decisions.
func (ld *faultLoad) enoughShared(p *ratelimit.Plan, n int32) bool {
	for i, ten := range ld.tenants {
		if ten.plan == p && ld.shared[i].Load() < n {
			return false
		}
	}
	return true
}

// latencyStats returns the maximum and the 99th percentile of the
// latencies of recs, and how many exceed limit.
func latencyStats(recs []faultRec, limit time.Duration) (maxLat, p99 time.Duration, over int) {
	if len(recs) == 0 {
		return 0, 0, 0
	}
	lat := make([]time.Duration, len(recs))
	for i, r := range recs {
		lat[i] = r.latency()
		if lat[i] > limit {
			over++
		}
	}
	slices.Sort(lat)
	return lat[len(lat)-1], lat[len(lat)*99/100], over
}

// checkLatency fails t if a decision of recs took longer than the
// deadline plus the slack, and logs the maximum and the 99th percentile.
func checkLatency(t *testing.T, what string, recs []faultRec) {
	t.Helper()
	limit := faultDeadline + faultSlack
	if len(recs) == 0 {
		t.Errorf("%s: no decisions, so no latency to check against the deadline %v + %v", what, faultDeadline, faultSlack)
		return
	}
	maxLat, p99, over := latencyStats(recs, limit)
	t.Logf("%s: %d decisions, latency max %v, p99 %v", what, len(recs), maxLat.Round(time.Microsecond), p99.Round(time.Microsecond))
	if over > 0 {
		var worst []string
		sorted := slices.Clone(recs)
		slices.SortFunc(sorted, func(a, b faultRec) int { return int(b.latency() - a.latency()) })
		for _, r := range sorted[:min(5, over)] {
			worst = append(worst, fmt.Sprintf("%v (%s, started at %v)", r.latency().Round(time.Millisecond), r.class, r.start.Round(time.Millisecond)))
		}
		t.Errorf("%s: %d of %d decisions took longer than the deadline %v + %v (max %v, p99 %v); slowest: %s",
			what, over, len(recs), faultDeadline, faultSlack, maxLat.Round(time.Millisecond), p99.Round(time.Millisecond), strings.Join(worst, ", "))
	}
}

// checkPolicies fails t for every decision of recs that Redis did not make
// and that does not follow its plan's failure policy: fail closed is an
// error wrapping ErrUnavailable and a denial, fail open an allowed,
// Degraded decision, FallbackLocal a Degraded local decision.
func checkPolicies(t *testing.T, what string, ld *faultLoad, recs []faultRec) {
	t.Helper()
	seen := map[string]int{}
	bad := map[string]int{}
	for _, r := range recs {
		if r.class == classShared {
			continue
		}
		mode := ld.tenants[r.tenant].plan.OnBackendFailure.Mode
		seen["fail "+mode.String()+": "+r.class.String()]++
		ok := false
		switch mode {
		case ratelimit.FailureClosed:
			ok = r.class == classUnavailable && !r.allowed
		case ratelimit.FailureOpen:
			ok = r.class == classDegraded && r.allowed
		case ratelimit.FailureLocal:
			ok = r.class == classDegraded
		}
		if !ok {
			bad[fmt.Sprintf("plan %s (fail %v): %s, allowed %v", ld.tenants[r.tenant].plan.Name, mode, r.class, r.allowed)]++
		}
	}
	t.Logf("%s: decisions not made by Redis, by policy and outcome: %v", what, seen)
	for m, n := range bad {
		t.Errorf("%s: %d decisions did not follow the failure policy: %s", what, n, m)
	}
}

// checkErrors fails t for errors other than ErrUnavailable, and logs the
// most frequent errors of the run.
func checkErrors(t *testing.T, ld *faultLoad) {
	t.Helper()
	ld.mu.Lock()
	defer ld.mu.Unlock()
	type msg struct {
		m string
		n int
	}
	var ms []msg
	for m, n := range ld.errs {
		if strings.HasPrefix(m, classFailed.String()) {
			t.Errorf("%d decisions failed with an error other than ErrUnavailable: %s", n, m)
		}
		ms = append(ms, msg{m, n})
	}
	slices.SortFunc(ms, func(a, b msg) int { return b.n - a.n })
	for _, m := range ms[:min(8, len(ms))] {
		t.Logf("error seen %d times: %s", m.n, m.m)
	}
}

// checkQuota fails t for every tenant under the fail-closed quota plan p
// (of those with decisions in recs) that was allowed more than the quota,
// or, having had at least quota+3 shared decisions, less than the quota by
// more than its failed decisions that may have reached Redis (a script
// that ran and whose reply was lost spent quota the caller was refused),
// and one more for a tenant in retried: go-redis's Cluster client resends
// a command whose reply was lost to the slot's new master (up to
// MaxRedirects times, whatever MaxRetries says), so a decision in flight
// when its master died may be counted twice and answered once.
func checkQuota(t *testing.T, what string, ld *faultLoad, recs []faultRec, p *ratelimit.Plan, retried map[int32]bool) {
	t.Helper()
	limit := int(p.Quota.Limit)
	allowed := make(map[int32]int)
	shared := make(map[int32]int)
	lost := make(map[int32]int)
	present := make(map[int32]bool)
	for _, r := range recs {
		if ld.tenants[r.tenant].plan != p {
			continue
		}
		present[r.tenant] = true
		if r.allowed {
			allowed[r.tenant]++
		}
		if r.class == classShared {
			shared[r.tenant]++
		}
		if r.cause != "" && !unsent(r.cause) {
			lost[r.tenant]++
		}
	}
	var over, under []string
	enough, tenants := 0, 0
	for i, ten := range ld.tenants {
		if ten.plan != p || !present[int32(i)] {
			continue
		}
		tenants++
		a := allowed[int32(i)]
		if a > limit {
			over = append(over, fmt.Sprintf("%s: %d", ten.key, a))
		}
		if shared[int32(i)] >= limit+3 {
			enough++
			slack := lost[int32(i)]
			if retried[int32(i)] {
				slack++
			}
			if a < limit-slack {
				under = append(under, fmt.Sprintf("%s: %d (%d replies lost)", ten.key, a, lost[int32(i)]))
			}
		}
	}
	t.Logf("%s: quota %d: %d tenants, %d with at least %d shared decisions; %d over the quota, %d under it",
		what, limit, tenants, enough, limit+3, len(over), len(under))
	if tenants == 0 {
		t.Errorf("%s: no decisions of tenants under plan %s: the run did not check the quota", what, p.Name)
		return
	}
	if len(over) > 0 {
		t.Errorf("%s: %d of %d tenants (plan %s, quota %d, fail closed) were allowed more than the quota: %s",
			what, len(over), tenants, p.Name, limit, firstN(over, 10))
	}
	if len(under) > 0 {
		t.Errorf("%s: %d of %d tenants (plan %s, quota %d, fail closed) with at least %d shared decisions were allowed less than the quota by more than their lost replies (quota spent without an allowed decision): %s",
			what, len(under), enough, p.Name, limit, limit+3, firstN(under, 10))
	}
	if enough < tenants*9/10 {
		t.Errorf("%s: only %d of %d tenants under plan %s had %d shared decisions: the run did not check the quota",
			what, enough, tenants, p.Name, limit+3)
	}
}

func firstN(s []string, n int) string {
	if len(s) > n {
		return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
	}
	return strings.Join(s, ", ")
}

// resumeStreak is how many shared decisions in a row count as shared
// limiting having resumed.
const resumeStreak = 50

// resumeAfter returns, for the decisions of recs that pick selects, how
// long after at shared limiting resumed: the start of the first run of
// resumeStreak shared decisions in a row among those ending after at (0
// if it began before at). ok is false when there is no such run. later
// counts the decisions not made by Redis after the resumption.
func resumeAfter(recs []faultRec, at time.Duration, pick func(faultRec) bool) (resume time.Duration, ok bool, later int) {
	streak := 0
	var first time.Duration
	for _, r := range recs {
		if !pick(r) || r.end < at {
			continue
		}
		if ok {
			if r.class != classShared {
				later++
			}
			continue
		}
		if r.class != classShared {
			streak = 0
			continue
		}
		if streak == 0 {
			first = r.start
		}
		if streak++; streak == resumeStreak {
			ok, resume = true, max(0, first-at)
		}
	}
	return resume, ok, later
}

func newFaultLimiter(t *testing.T, client redis.Scripter, opts ...redislimit.Option) *redislimit.Limiter {
	t.Helper()
	l, err := redislimit.New(client, append([]redislimit.Option{redislimit.WithDecisionTimeout(faultDeadline)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// faultPlans are the plans of the load runs. closed has a quota small
// enough that a run spends it; local keeps a quota too, so its fallback
// starts from a shared count.
func faultPlans(quota int64) (closed, open, local *ratelimit.Plan) {
	const n = 100_000
	closed = ratelimit.MustPlan(ratelimit.Plan{Name: "closed", Rate: ratelimit.PerSecond(n), Burst: n,
		Quota: ratelimit.Daily(quota), OnBackendFailure: ratelimit.FailClosed()})
	open = ratelimit.MustPlan(ratelimit.Plan{Name: "open", Rate: ratelimit.PerSecond(n), Burst: n,
		OnBackendFailure: ratelimit.FailOpen()})
	local = ratelimit.MustPlan(ratelimit.Plan{Name: "local", Rate: ratelimit.PerSecond(n), Burst: n,
		Quota: ratelimit.Daily(n), OnBackendFailure: ratelimit.FallbackLocal(0.5)})
	return closed, open, local
}

// TestFaultCluster runs the limiter on a real six-node Redis Cluster.
func TestFaultCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	t.Run("master-killed", func(t *testing.T) { testClusterMasterKilled(t, c) })
	t.Run("eviction-policy", func(t *testing.T) {
		cc := c.NewClient(t, nil)
		if err := redislimit.CheckEvictionPolicy(faultCtx, cc); err != nil {
			t.Fatalf("CheckEvictionPolicy on a noeviction Cluster: %v", err)
		}
		m := c.Masters()[2]
		m.ConfigSet(t, "maxmemory-policy", "volatile-lru")
		defer m.ConfigSet(t, "maxmemory-policy", "noeviction")
		err := redislimit.CheckEvictionPolicy(faultCtx, cc)
		if !errors.Is(err, redislimit.ErrEvictionPolicy) || !strings.Contains(err.Error(), m.Addr) {
			t.Fatalf("CheckEvictionPolicy with master %s on volatile-lru: %v, want ErrEvictionPolicy naming it", m.Addr, err)
		}
	})
}

// testClusterMasterKilled: three limiters (one Cluster client each) decide
// for 500 tenants under three plans (fail closed with a quota, fail open,
// local fallback); one master is killed mid-run and its replica promoted.
func testClusterMasterKilled(t *testing.T, c *redistest.Cluster) {
	const (
		nTenants = 500
		quota    = 24
	)
	closed, open, local := faultPlans(quota)
	// Tenants under spent have used their whole quota before the run, as
	// every limiter has seen: their local fallback must not give it back.
	const spentQuota = 6
	spent := ratelimit.MustPlan(ratelimit.Plan{Name: "local-spent", Rate: local.Rate, Burst: local.Burst,
		Quota: ratelimit.Daily(spentQuota), OnBackendFailure: ratelimit.FallbackLocal(0.5)})
	plans := []*ratelimit.Plan{closed, open, local, spent}
	tenants := make([]faultTenant, nTenants)
	tags := make([]string, nTenants)
	for i := range tenants {
		tenants[i] = faultTenant{fmt.Sprintf("tenant-%03d", i), plans[i%len(plans)]}
		tags[i] = "{" + tenants[i].key + "}" // the slot of every key of the tenant
	}
	owners := c.MastersFor(tags...)
	victim := c.Masters()[1]
	affected := make([]bool, nTenants)
	nAffected := 0
	for i, o := range owners {
		if o == victim {
			affected[i] = true
			nAffected++
		}
	}
	if nAffected == 0 || nAffected == nTenants {
		t.Fatalf("%d of %d tenants on the master to kill", nAffected, nTenants)
	}
	var lims []*redislimit.Limiter
	for range 3 {
		lims = append(lims, newFaultLimiter(t, c.NewClient(t, nil)))
	}
	for _, ten := range tenants {
		if ten.plan != spent {
			continue
		}
		allowed := 0
		for j := range spentQuota + 3 {
			d, err := lims[j%3].Take(faultCtx, ten.key, spent, 1)
			if err != nil || d.Degraded {
				t.Fatalf("%s, request %d before the run: %+v, %v", ten.key, j+1, d, err)
			}
			if d.Allowed {
				allowed++
			}
		}
		if allowed != spentQuota {
			t.Fatalf("%s: %d of %d requests allowed before the run, want the quota of %d", ten.key, allowed, spentQuota+3, spentQuota)
		}
	}

	ld := startFaultLoad(lims, tenants, 2, 60*time.Second)
	defer ld.finish()
	// About a third of the quota spent before the kill.
	if !waitUntil(20*time.Second, func() bool { return ld.n.Load() >= nTenants*quota/3 }) {
		t.Logf("only %d decisions in 20 s before the kill", ld.n.Load())
	}
	tKill := ld.since()
	c.Kill(victim)
	defer func() {
		// Later tests get a whole Cluster: the node rejoins as a replica.
		c.Restart(victim)
		if err := c.WaitState(true, 30*time.Second); err != nil {
			t.Errorf("after restarting the killed master: %v", err)
		} else if role := c.Role(victim); role != "replica" {
			t.Errorf("the killed master %s came back as %s, want replica", victim.Addr, role)
		}
	}()
	if err := c.WaitState(false, 10*time.Second); err != nil {
		t.Fatalf("the Cluster did not notice the killed master %s: %v", victim.Addr, err)
	}
	tNoticed := ld.since()
	if err := c.WaitState(true, 30*time.Second); err != nil {
		t.Fatalf("no failover of %s: %v", victim.Addr, err)
	}
	tOK := ld.since()
	// At least 3.5 s after the failover (the resume bound is 2 s), and
	// until every fail-closed tenant had enough shared decisions.
	time.Sleep(3500 * time.Millisecond)
	if !waitUntil(20*time.Second, func() bool { return ld.enoughShared(closed, quota+4) }) {
		t.Logf("stopped 20 s after the failover with fail-closed tenants short of %d shared decisions", quota+4)
	}
	recs := ld.finish()
	t.Logf("kill at %v, the Cluster noticed at %v, whole again at %v (cluster_state:ok, all slots ok); %d decisions in %v, %d tenants on the killed master %s; %d workers capped",
		tKill.Round(time.Millisecond), tNoticed.Round(time.Millisecond), tOK.Round(time.Millisecond),
		len(recs), ld.since().Round(time.Millisecond), nAffected, victim.Addr, ld.capped.Load())

	// Healthy shards keep shared limiting during the outage.
	var healthy, healthyShared int
	byClass := map[faultClass]int{}
	causes := map[string]int{}
	when := map[time.Duration]int{}
	for _, r := range recs {
		if !affected[r.tenant] && r.start >= tKill && r.end <= tOK {
			healthy++
			byClass[r.class]++
			if r.class == classShared {
				healthyShared++
				continue
			}
			when[(r.start-tKill).Truncate(250*time.Millisecond)]++
			if r.cause != "" {
				causes[r.cause]++
			}
		}
	}
	if healthy == 0 {
		t.Errorf("no decisions of tenants on healthy masters during the outage")
	} else {
		pct := 100 * float64(healthyShared) / float64(healthy)
		t.Logf("tenants on healthy masters during the outage: %.2f%% shared (%d of %d; %v)", pct, healthyShared, healthy, byClass)
		if pct < 99 {
			t.Errorf("tenants on healthy masters: %.2f%% of their decisions during the outage were shared (%d of %d; %v), want at least 99%%; the others by time since the kill: %v; errors of their fail-closed ones: %v",
				pct, healthyShared, healthy, byClass, when, causes)
		}
	}

	// Affected tenants follow their plans' policies.
	var outage []faultRec
	for _, r := range recs {
		if affected[r.tenant] {
			outage = append(outage, r)
		}
	}
	checkPolicies(t, "tenants on the killed master", ld, outage)
	checkPolicies(t, "tenants on healthy masters", ld, slices.DeleteFunc(slices.Clone(recs), func(r faultRec) bool { return affected[r.tenant] }))
	checkErrors(t, ld)

	// Shared decisions resume within 2 s of the Cluster being whole.
	for k := range lims {
		resume, ok, later := resumeAfter(recs, tOK, func(r faultRec) bool { return affected[r.tenant] && int(r.inst) == k })
		if !ok {
			t.Errorf("limiter %d: shared decisions for the tenants of the failed-over slots never resumed after the Cluster was whole again (no %d shared decisions in a row in the %v after)",
				k, resumeStreak, (ld.since() - tOK).Round(time.Millisecond))
			continue
		}
		t.Logf("limiter %d: shared decisions for the failed-over tenants resumed %v after cluster_state:ok (%d decisions not made by Redis later)", k, resume.Round(time.Millisecond), later)
		if resume > 2*time.Second {
			t.Errorf("limiter %d: shared decisions for the tenants of the failed-over slots resumed %v after the Cluster was whole again (cluster_state:ok, all slots ok), want at most 2 s",
				k, resume.Round(time.Millisecond))
		}
	}

	// What was spent stays spent across the failover, and in the local
	// fallback.
	var spentAllowed, spentFallback int
	var spentWho []string
	for _, r := range recs {
		if ld.tenants[r.tenant].plan == spent {
			if r.allowed {
				spentAllowed++
				if len(spentWho) < 10 {
					spentWho = append(spentWho, fmt.Sprintf("%s (on the killed master %v) by limiter %d, %s, %v after the kill",
						ld.tenants[r.tenant].key, affected[r.tenant], r.inst, r.class, (r.start-tKill).Round(time.Millisecond)))
				}
			}
			if r.class == classDegraded {
				spentFallback++
			}
		}
	}
	t.Logf("tenants with their quota spent before the run (plan %s): %d decisions allowed, %d made by the local fallback", spent.Name, spentAllowed, spentFallback)
	if spentAllowed > 0 || spentFallback == 0 {
		t.Errorf("tenants with their quota of %d spent before the run (plan %s, FallbackLocal): %d decisions allowed, want 0 (%d decisions by the local fallback in all); allowed: %s",
			spentQuota, spent.Name, spentAllowed, spentFallback, strings.Join(spentWho, "; "))
	}
	onKilled := make(map[int32]bool)
	for _, r := range outage {
		onKilled[r.tenant] = true
	}
	checkQuota(t, "all tenants", ld, recs, closed, onKilled)
	checkQuota(t, "tenants on the killed master", ld, outage, closed, onKilled)
	maxLat, p99, _ := latencyStats(recs, 0)
	t.Logf("latency over the run: max %v, p99 %v", maxLat.Round(time.Microsecond), p99.Round(time.Microsecond))
}

// TestFaultSentinel runs the limiter on a Sentinel group whose master is
// killed.
func TestFaultSentinel(t *testing.T) {
	s := redistest.StartSentinel(t)
	t.Run("master-killed", func(t *testing.T) {
		const (
			nTenants = 200
			quota    = 20
		)
		closed, open, _ := faultPlans(quota)
		tenants := make([]faultTenant, nTenants)
		for i := range tenants {
			p := closed
			if i%2 == 1 {
				p = open
			}
			tenants[i] = faultTenant{fmt.Sprintf("tenant-%03d", i), p}
		}
		lims := []*redislimit.Limiter{
			newFaultLimiter(t, s.NewClient(t, nil)),
			newFaultLimiter(t, s.NewClient(t, nil)),
		}
		ld := startFaultLoad(lims, tenants, 2, 60*time.Second)
		defer ld.finish()
		if !waitUntil(20*time.Second, func() bool { return ld.n.Load() >= nTenants*quota/3 }) {
			t.Logf("only %d decisions in 20 s before the kill", ld.n.Load())
		}
		tKill := ld.since()
		old := s.KillMaster()
		m, err := s.WaitFailover(old, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		tFail := ld.since()
		time.Sleep(3 * time.Second)
		if !waitUntil(20*time.Second, func() bool { return ld.enoughShared(closed, quota+4) }) {
			t.Logf("stopped 20 s after the failover with fail-closed tenants short of %d shared decisions", quota+4)
		}
		recs := ld.finish()
		s.Restart(old)
		t.Logf("kill at %v, new master %s at %v; %d decisions in %v; %d workers capped",
			tKill.Round(time.Millisecond), m.Addr, tFail.Round(time.Millisecond), len(recs), ld.since().Round(time.Millisecond), ld.capped.Load())

		checkLatency(t, "Sentinel failover run", recs)
		var during []faultRec
		for _, r := range recs {
			if r.start >= tKill && r.start <= tFail {
				during = append(during, r)
			}
		}
		checkLatency(t, "between the kill and the failover", during)
		checkPolicies(t, "Sentinel failover", ld, recs)
		checkErrors(t, ld)
		checkQuota(t, "Sentinel failover", ld, recs, closed, nil)
		for k := range lims {
			resume, ok, later := resumeAfter(recs, tFail, func(r faultRec) bool { return int(r.inst) == k })
			if !ok {
				t.Errorf("limiter %d: shared limiting did not resume after the failover (no %d shared decisions in a row in the %v after)",
					k, resumeStreak, (ld.since() - tFail).Round(time.Millisecond))
				continue
			}
			t.Logf("limiter %d: shared limiting resumed %v after the sentinels named the new master (%d decisions not made by Redis later)", k, resume.Round(time.Millisecond), later)
		}
	})
	t.Run("eviction-policy", func(t *testing.T) {
		c := s.NewClient(t, nil)
		m := s.Master()
		if m == nil {
			t.Fatal("the sentinels agree on no master")
		}
		if err := redislimit.CheckEvictionPolicy(faultCtx, c); err != nil {
			t.Fatalf("CheckEvictionPolicy on a noeviction master: %v", err)
		}
		m.ConfigSet(t, "maxmemory-policy", "allkeys-lru")
		defer m.ConfigSet(t, "maxmemory-policy", "noeviction")
		if err := redislimit.CheckEvictionPolicy(faultCtx, c); !errors.Is(err, redislimit.ErrEvictionPolicy) {
			t.Fatalf("CheckEvictionPolicy with the master on allkeys-lru: %v, want ErrEvictionPolicy", err)
		}
	})
}

// TestFaultStall stalls the one Redis server for 5 s (SIGSTOP): no decision
// waits past the deadline, and shared limiting resumes within 1 s of
// SIGCONT. The client keeps go-redis's default timeouts (read 3 s, dial
// 5 s), so that only the limiter's decision deadline bounds a decision.
func TestFaultStall(t *testing.T) {
	srv := redistest.Start(t)
	closed, open, local := faultPlans(1 << 40)
	closed = ratelimit.MustPlan(ratelimit.Plan{Name: "closed", Rate: closed.Rate, Burst: closed.Burst}) // no quota to spend
	plans := []*ratelimit.Plan{closed, open, local}
	tenants := make([]faultTenant, 60)
	for i := range tenants {
		tenants[i] = faultTenant{fmt.Sprintf("tenant-%02d", i), plans[i%3]}
	}
	client := redis.NewClient(&redis.Options{
		Addr:                  srv.Addr,
		ContextTimeoutEnabled: true, // as redislimit.New advises
		MaxRetries:            -1,
		DialerRetries:         1,
	})
	defer client.Close()
	lim := newFaultLimiter(t, client)
	ld := startFaultLoad([]*redislimit.Limiter{lim}, tenants, 4, 30*time.Second)
	defer ld.finish()
	time.Sleep(time.Second)
	tStop := ld.since()
	srv.Pause()
	time.Sleep(5 * time.Second)
	srv.Resume()
	tCont := ld.since()
	time.Sleep(2500 * time.Millisecond)
	recs := ld.finish()
	t.Logf("SIGSTOP at %v, SIGCONT at %v; %d decisions in %v; %d workers capped",
		tStop.Round(time.Millisecond), tCont.Round(time.Millisecond), len(recs), ld.since().Round(time.Millisecond), ld.capped.Load())

	checkLatency(t, "stall run", recs)
	checkPolicies(t, "stall", ld, recs)
	checkErrors(t, ld)
	stalled := 0
	for _, r := range recs {
		if r.start > tStop+faultDeadline && r.end < tCont && r.class != classShared {
			stalled++
		}
	}
	if stalled == 0 {
		t.Errorf("no decision that started during the stall (after the first deadline) and ended before SIGCONT came from the failure policy: every one waited for the stalled server")
	}
	resume, ok, later := resumeAfter(recs, tCont, func(faultRec) bool { return true })
	switch {
	case !ok:
		t.Errorf("shared limiting did not resume after SIGCONT (no %d shared decisions in a row in the %v after)", resumeStreak, (ld.since() - tCont).Round(time.Millisecond))
	case resume > time.Second:
		t.Errorf("shared limiting resumed %v after SIGCONT, want at most 1 s", resume.Round(time.Millisecond))
	default:
		t.Logf("shared limiting resumed %v after SIGCONT (%d decisions not made by Redis later)", resume.Round(time.Millisecond), later)
	}
}

// TestFaultMemory fills a noeviction server past its maxmemory: decisions
// that would write fail by their policy, those that only read (tenants
// whose quota is spent) still deny.
func TestFaultMemory(t *testing.T) {
	const quota = 5
	srv := redistest.Start(t)
	client := srv.Client(t)
	lim := newFaultLimiter(t, client)
	closed, open, _ := faultPlans(quota)
	open = ratelimit.MustPlan(ratelimit.Plan{Name: "open", Rate: open.Rate, Burst: open.Burst,
		Quota: ratelimit.Daily(quota), OnBackendFailure: ratelimit.FailOpen()})
	plans := []*ratelimit.Plan{closed, open}
	type group struct {
		name    string
		tenants []faultTenant
	}
	mk := func(name string) group {
		g := group{name: name}
		for _, p := range plans {
			for i := range 20 {
				g.tenants = append(g.tenants, faultTenant{fmt.Sprintf("%s-%s-%02d", name, p.Name, i), p})
			}
		}
		return g
	}
	spent, partial, fresh := mk("spent"), mk("partial"), mk("fresh")
	for _, ten := range spent.tenants {
		for j := range quota + 1 {
			d, err := lim.Take(faultCtx, ten.key, ten.plan, 1)
			if err != nil || d.Degraded || d.Allowed != (j < quota) {
				t.Fatalf("%s, request %d before the server filled: %+v, %v", ten.key, j+1, d, err)
			}
		}
	}
	for _, ten := range partial.tenants {
		if d, err := lim.Take(faultCtx, ten.key, ten.plan, 2); err != nil || !d.Allowed || d.Degraded {
			t.Fatalf("%s before the server filled: %+v, %v", ten.key, d, err)
		}
	}

	// Fill the server with junk, then set maxmemory under what it uses.
	pipe := client.Pipeline()
	junk := strings.Repeat("x", 1000)
	for i := range 3000 {
		pipe.Set(faultCtx, fmt.Sprintf("junk:%d", i), junk, 0)
	}
	if _, err := pipe.Exec(faultCtx); err != nil {
		t.Fatal(err)
	}
	info, err := client.Info(faultCtx, "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	var usedMemory int64
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			fmt.Sscan(v, &usedMemory)
		}
	}
	if usedMemory < 2<<20 {
		t.Fatalf("used_memory %d after filling, want more than 2 MiB", usedMemory)
	}
	srv.ConfigSet(t, "maxmemory", fmt.Sprint(usedMemory/2))
	defer srv.ConfigSet(t, "maxmemory", "0")
	if err := client.Set(faultCtx, "probe", "1", 0).Err(); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("SET on the full server: %v, want an OOM error", err)
	}
	t.Logf("used_memory %d, maxmemory %d", usedMemory, usedMemory/2)

	// Rounds over all three groups, interleaved, so that a failed write
	// would also show in the decisions that follow it.
	var (
		wrongWrite = map[string]int{}
		overQuota  = map[string]int{}
		notShared  = map[string]int{}
		n          int
	)
	for range 5 {
		for i := range spent.tenants {
			for _, g := range []group{fresh, spent, partial} {
				ten := g.tenants[i]
				d, err := lim.Take(faultCtx, ten.key, ten.plan, 1)
				d.Release()
				n++
				what := fmt.Sprintf("%s tenants, plan %s", g.name, ten.plan.Name)
				if g.name == "spent" {
					if d.Allowed {
						overQuota[what]++
					} else if err != nil || d.Degraded || d.DeniedBy != ratelimit.ReasonQuota {
						notShared[fmt.Sprintf("%s: denied %v, degraded %v, err %v", what, d.DeniedBy, d.Degraded, err)]++
					}
					continue
				}
				switch ten.plan {
				case closed:
					if d.Allowed || !errors.Is(err, ratelimit.ErrUnavailable) {
						wrongWrite[fmt.Sprintf("%s: allowed %v, err %v (want an error wrapping ErrUnavailable)", what, d.Allowed, err)]++
					}
				case open:
					if !d.Allowed || !d.Degraded || err != nil {
						wrongWrite[fmt.Sprintf("%s: allowed %v, degraded %v, err %v (want allowed and Degraded)", what, d.Allowed, d.Degraded, err)]++
					}
				}
			}
		}
	}
	t.Logf("%d decisions on the full server", n)
	for m, k := range overQuota {
		t.Errorf("%s: %d decisions allowed over a spent quota on the full server", m, k)
	}
	for m, k := range notShared {
		t.Errorf("%s: %d read-only decisions (quota spent) not answered by Redis on the full server", m, k)
	}
	for m, k := range wrongWrite {
		t.Errorf("%s: %d writing decisions on the full server did not follow the failure policy", m, k)
	}

	// Room again: shared decisions come back.
	srv.ConfigSet(t, "maxmemory", "0")
	ten := fresh.tenants[0]
	var d ratelimit.Decision
	if !waitUntil(2*time.Second, func() bool {
		d, err = lim.Take(faultCtx, ten.key, ten.plan, 1)
		return err == nil && !d.Degraded && d.Allowed
	}) {
		t.Errorf("2 s after maxmemory 0: %+v, %v", d, err)
	}

	t.Run("eviction-policy", func(t *testing.T) {
		for _, c := range []struct {
			policy string
			flag   bool
		}{{"noeviction", false}, {"allkeys-lru", true}, {"volatile-lru", true}, {"noeviction", false}} {
			srv.ConfigSet(t, "maxmemory-policy", c.policy)
			err := redislimit.CheckEvictionPolicy(faultCtx, client)
			if got := errors.Is(err, redislimit.ErrEvictionPolicy); got != c.flag || (err != nil && !c.flag) {
				t.Errorf("CheckEvictionPolicy with maxmemory-policy %s: %v (flagged %v, want %v)", c.policy, err, got, c.flag)
			}
		}
	})
}

package load_test

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/benchmarks/load"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
)

func TestParseResult(t *testing.T) {
	out := []byte("Running 1s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n" +
		`{"tenantkit_load":1,"requests":3000,"duration_us":1500000,"errors_connect":0,"errors_read":1,` +
		`"errors_write":0,"errors_status":2,"errors_timeout":0,"p50_us":900,"p99_us":4000,"max_us":9000}` + "\n")
	r, err := load.ParseResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 3000 || r.RPS() != 2000 || r.Errors() != 3 || r.P50US != 900 || r.P99US != 4000 {
		t.Fatalf("parsed %+v (%.0f req/s)", r, r.RPS())
	}
	if _, err := load.ParseResult([]byte("wrk: connection refused\n")); err == nil {
		t.Fatal("output without a result line parsed")
	}
	back, err := load.ParseResult([]byte(load.PrintResult(r)))
	if err != nil || back != r {
		t.Fatalf("PrintResult round trip: %+v, %v", back, err)
	}
}

// TestSummarize checks the medians and that each ratio is taken against the
// bare server of the same round.
func TestSummarize(t *testing.T) {
	stacks := []load.Info{{Name: load.BareHTTP, Kind: load.HTTP}, {Name: "authn", Kind: load.HTTP}, {Name: "floor-lookup", Kind: load.HTTP, FloorOf: "authn"}}
	res := func(rps, cpuUSPerReq float64) (load.Result, time.Duration) {
		n := int64(rps) // one second
		return load.Result{Requests: n, DurationUS: 1e6, P50US: 100, P99US: 1000}, time.Duration(cpuUSPerReq*float64(n)) * time.Microsecond
	}
	var ms []load.Measurement
	// The machine slows down from round to round; the ratio stays 0.8
	// (CPU ratio 0.5) in every round, 0.9 for the floor.
	for round, bare := range []float64{10000, 5000, 2000} {
		for _, s := range []struct {
			name       string
			ratio, cpu float64
		}{{load.BareHTTP, 1, 10}, {"authn", 0.8, 20}, {"floor-lookup", 0.9, 12.5}} {
			r, cpu := res(bare*s.ratio, s.cpu)
			ms = append(ms, load.Measurement{Round: round, Stack: s.name, Result: r, ServerCPU: cpu})
		}
	}
	rows := load.Summarize(stacks, ms)
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	a := rows[1]
	if a.Info.Name != "authn" || !near(a.Ratio, 0.8) || !near(a.RPS, 4000) || !near(a.CPUUS, 20) || !near(a.ExtraUS, 10) || !near(a.CPURatio, 0.5) || a.Rounds != 3 {
		t.Fatalf("authn row %+v", a)
	}
	var b bytes.Buffer
	if err := load.WriteMarkdown(&b, load.Meta{Command: "make load"}, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| authn | ≥ 0.90x | 0.80x | no | 0.50x |", "| floor-lookup | authn | 0.90x | 0.80x | 0.89x | 0.62x | +7.5 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestProcessCPU(t *testing.T) {
	c, err := load.ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if c < 0 {
		t.Fatalf("CPU time %v", c)
	}
}

// TestMix checks that the load's tenants are the microbenchmarks' token mix.
func TestMix(t *testing.T) {
	want := tenanttest.Mix(9, func(id, tier string) string { return id + " " + tier })
	for i, w := range want {
		if got := load.TenantID(i) + " " + load.TierOf(i); got != w {
			t.Fatalf("tenant %d: %q, the microbenchmarks' mix has %q", i, got, w)
		}
	}
}

// TestAttributeShares checks the estimate: a stack's extra GC counts
// against it, less GC than the bare server's does not count for it.
func TestAttributeShares(t *testing.T) {
	a := load.Attribution{Middleware: 0.10, GC: 0.09}
	bare := load.Attribution{GC: 0.07}
	if got := load.Estimate(a, bare); math.Abs(got-0.88) > 1e-9 {
		t.Fatalf("Estimate = %v, want 0.88", got)
	}
	if got := load.Estimate(load.Attribution{Middleware: 0.1, GC: 0.05}, bare); math.Abs(got-0.9) > 1e-9 {
		t.Fatalf("Estimate with less GC than bare = %v, want 0.9", got)
	}
}

// TestFrameClasses checks the function names the profile attribution
// sorts, inlined or not.
func TestFrameClasses(t *testing.T) {
	const pkg = "github.com/tenantkit/tenantkit/benchmarks/load."
	for _, c := range []struct {
		fn            string
		handler, midw bool
	}{
		{pkg + "(*trivial).ServeHTTP", true, false},
		{pkg + "(*pinger).handle", true, false},
		{pkg + "(*pinger).handle-fm", true, false},
		{pkg + "(*builder).grpcStack.pingService.func1", false, false},
		{pkg + "(*builder).floor.func1", false, true},
		{pkg + "(*builder).jwtFloor.func2", false, true},
		{"github.com/tenantkit/tenantkit/httpmw.Authenticate.func1.1", false, true},
		{"github.com/tenantkit/tenantkit/authn.(*Verifier).Verify", false, true},
		{"net/http.(*conn).serve", false, false},
		{"runtime.gcBgMarkWorker", false, false},
	} {
		if h, m := load.IsHandler(c.fn), load.IsMiddleware(c.fn); h != c.handler || m != c.midw {
			t.Errorf("%s: handler %v, middleware %v; want %v, %v", c.fn, h, m, c.handler, c.midw)
		}
	}
}

package load

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Row is one stack's medians over the rounds.
type Row struct {
	Info   Info
	Rounds int
	RPS    float64 // median requests per second
	// Ratio is the median over the rounds of the stack's requests per
	// second divided by those of the bare stack of its transport in the
	// same round.
	Ratio    float64
	P50US    float64 // median of the rounds' p50 latency
	P99US    float64 // median of the rounds' p99 latency
	CPUUS    float64 // median server CPU µs per request (0: not measured)
	ExtraUS  float64 // median per round of CPUUS minus the bare stack's
	CPUShare float64 // median share of one CPU the server used (0: not measured)
	// CPURatio is the median over the rounds of the bare stack's server CPU
	// per request divided by the stack's: the ratio of requests/s the
	// server would reach if CPU alone bounded it, which a shared machine
	// disturbs less than the requests/s themselves (0: not measured).
	CPURatio float64
	Failed   int64 // failed requests over all rounds
	// GenShare is the median share of one CPU the load generator used (0:
	// not measured): near 100% the generator, not the server, may bound
	// the requests/s.
	GenShare float64
}

// median returns the median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Summarize computes the rows of stacks from the measurements, in the
// order of stacks.
func Summarize(stacks []Info, ms []Measurement) []Row {
	type key struct {
		round int
		stack string
	}
	by := make(map[key]Measurement, len(ms))
	rounds := 0
	for _, m := range ms {
		by[key{m.Round, m.Stack}] = m
		rounds = max(rounds, m.Round+1)
	}
	var rows []Row
	for _, s := range stacks {
		var rps, ratio, p50, p99, cpu, extra, share, cpuRatio []float64
		var failed int64
		var gen []float64
		for round := range rounds {
			m, ok := by[key{round, s.Name}]
			if !ok {
				continue
			}
			failed += m.Result.Errors()
			if m.Result.GeneratorCPUUS > 0 && m.Result.DurationUS > 0 {
				gen = append(gen, float64(m.Result.GeneratorCPUUS)/float64(m.Result.DurationUS))
			}
			rps = append(rps, m.Result.RPS())
			p50 = append(p50, float64(m.Result.P50US))
			p99 = append(p99, float64(m.Result.P99US))
			c := cpuPerReq(m)
			if c > 0 {
				cpu = append(cpu, c)
				if m.Result.DurationUS > 0 {
					share = append(share, float64(m.ServerCPU.Microseconds())/float64(m.Result.DurationUS))
				}
			}
			if b, ok := by[key{round, s.Base()}]; ok && b.Result.RPS() > 0 {
				ratio = append(ratio, m.Result.RPS()/b.Result.RPS())
				if bc := cpuPerReq(b); c > 0 && bc > 0 {
					extra = append(extra, c-bc)
					cpuRatio = append(cpuRatio, bc/c)
				}
			}
		}
		if len(rps) == 0 {
			continue
		}
		rows = append(rows, Row{Info: s, Rounds: len(rps), RPS: median(rps), Ratio: median(ratio),
			P50US: median(p50), P99US: median(p99), CPUUS: median(cpu), ExtraUS: median(extra), CPUShare: median(share),
			CPURatio: median(cpuRatio), Failed: failed, GenShare: median(gen)})
	}
	return rows
}

// Meta is what the report says about the run.
type Meta struct {
	Command  string // the command that reproduces it
	Date     string
	Go       string
	Machine  string
	Pinning  string
	Rounds   int
	Duration string
	Conns    int
	Tenants  int
	Notes    []string
}

// Targets are the ratios to the bare server the stacks should reach.
var Targets = []struct {
	Stack string
	Min   float64
}{{"authn", 0.9}, {"full", 0.75}}

// WriteMarkdown writes the report: one table per transport, the floors,
// the targets.
func WriteMarkdown(w io.Writer, meta Meta, rows []Row) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Load: tenantkit's middleware under a real load generator\n\n")
	p("Reproduce from the repository root with `make load`, which runs:\n\n    %s\n\n", meta.Command)
	p("- date: %s; %s; %s\n", meta.Date, meta.Go, meta.Machine)
	p("- %s\n", meta.Pinning)
	p("- %d interleaved rounds (the order rotated each round) of %s per stack, %d connections, %d tenants over three tiers (free, pro and enterprise in turn: the token mix of the microbenchmarks), every request with the next tenant's token\n",
		meta.Rounds, meta.Duration, meta.Conns, meta.Tenants)
	p("- medians over the rounds; a ratio is the stack's requests/s over those of the bare server of the same round; server CPU is the server process's user+system time per request (10 ms ticks); the CPU ratio is the bare server's CPU per request over the stack's in the same round, the throughput ratio if CPU alone bounded the server (less disturbed by other load on a shared machine, which takes CPU time from the server and leaves it below 100%% busy)\n")
	for _, n := range meta.Notes {
		p("- %s\n", n)
	}
	byName := map[string]Row{}
	for _, r := range rows {
		byName[r.Info.Name] = r
	}
	for _, kind := range []string{HTTP, GRPC} {
		title := "HTTP (wrk, one thread)"
		if kind == GRPC {
			title = "gRPC (the closed-loop generator of cmd/loadrun, one connection per worker)"
		}
		var any bool
		for _, r := range rows {
			any = any || r.Info.Kind == kind
		}
		if !any {
			continue
		}
		p("\n## %s\n\n", title)
		p("| stack | what it runs | req/s | ratio to bare | p50 µs | p99 µs | server CPU µs/req | over bare µs/req | CPU ratio to bare | server CPU busy | generator CPU busy | failed |\n")
		p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range rows {
			if r.Info.Kind != kind {
				continue
			}
			p("| %s | %s | %.0f | %.2fx | %.0f | %.0f | %s | %s | %s | %s | %s | %d |\n", r.Info.Name, r.Info.Desc, r.RPS, r.Ratio,
				r.P50US, r.P99US, opt(r.CPUUS, "%.1f"), opt(r.ExtraUS, "%+.1f"), opt(r.CPURatio, "%.2fx"),
				opt(100*r.CPUShare, "%.0f%%"), opt(100*r.GenShare, "%.0f%%"), r.Failed)
		}
	}
	var floors []Row
	for _, r := range rows {
		if r.Info.FloorOf != "" {
			floors = append(floors, r)
		}
	}
	if len(floors) > 0 {
		p("\n## Floors: what the dependencies allow\n\n")
		p("A floor stack does only what a middleware's dependency must do; \"chain / floor\" is the middleware's ratio over the floor's (1.00x: as fast as its dependency allows).\n\n")
		p("| floor | of | floor ratio | stack ratio | stack / floor | stack / floor by CPU | stack CPU over floor µs/req |\n|---|---|---:|---:|---:|---:|---:|\n")
		for _, f := range floors {
			c, ok := byName[f.Info.FloorOf]
			if !ok || f.Ratio == 0 {
				continue
			}
			over, byCPU := "n/a", "n/a"
			if c.CPUUS > 0 && f.CPUUS > 0 {
				over = fmt.Sprintf("%+.1f", c.CPUUS-f.CPUUS)
			}
			if c.CPURatio > 0 && f.CPURatio > 0 {
				byCPU = fmt.Sprintf("%.2fx", c.CPURatio/f.CPURatio)
			}
			p("| %s | %s | %.2fx | %.2fx | %.2fx | %s | %s |\n", f.Info.Name, c.Info.Name, f.Ratio, c.Ratio, c.Ratio/f.Ratio, byCPU, over)
		}
	}
	p("\n## Targets (ratio to the bare server in the same run)\n\n| stack | target | measured | holds | CPU ratio |\n|---|---:|---:|---|---:|\n")
	for _, t := range Targets {
		r, ok := byName[t.Stack]
		if !ok {
			continue
		}
		holds := "yes"
		if r.Ratio < t.Min {
			holds = "no"
		}
		p("| %s | ≥ %.2fx | %.2fx | %s | %s |\n", t.Stack, t.Min, r.Ratio, holds, opt(r.CPURatio, "%.2fx"))
	}
	if r, ok := byName["full-redis"]; ok {
		p("| full-redis | reported | %.2fx | | %s |\n", r.Ratio, opt(r.CPURatio, "%.2fx"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func opt(v float64, format string) string {
	if v == 0 {
		return "n/a"
	}
	return fmt.Sprintf(format, v)
}

// WriteRounds writes every measurement as a table, for the record.
func WriteRounds(w io.Writer, ms []Measurement) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Every measurement\n\n| round | stack | req/s | p50 µs | p99 µs | max µs | server CPU µs/req |\n|---:|---|---:|---:|---:|---:|---:|\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "| %d | %s | %.0f | %d | %d | %d | %s |\n", m.Round+1, m.Stack, m.Result.RPS(),
			m.Result.P50US, m.Result.P99US, m.Result.MaxUS, opt(cpuPerReq(m), "%.1f"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

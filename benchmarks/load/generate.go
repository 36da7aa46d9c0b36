package load

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Result is what one load generator run measured. Both generators print it
// as one JSON line (the wrk script from its done function).
type Result struct {
	Marker     int   `json:"tenantkit_load"` // 1: tells the line from other output
	Requests   int64 `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	ErrConnect int64 `json:"errors_connect"`
	ErrRead    int64 `json:"errors_read"`
	ErrWrite   int64 `json:"errors_write"`
	ErrStatus  int64 `json:"errors_status"` // HTTP status not 2xx/3xx; gRPC status not OK
	ErrTimeout int64 `json:"errors_timeout"`
	P50US      int64 `json:"p50_us"`
	P99US      int64 `json:"p99_us"`
	MaxUS      int64 `json:"max_us"`
	// FirstError is the first failed gRPC call's error (empty for wrk).
	FirstError string `json:"first_error,omitempty"`
	// GeneratorCPUUS is the CPU time (user and system) of the generator
	// process, when it ran as one (0: not measured).
	GeneratorCPUUS int64 `json:"generator_cpu_us,omitempty"`
}

// RPS returns the requests per second.
func (r Result) RPS() float64 {
	if r.DurationUS <= 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// Errors returns the failed requests of every kind.
func (r Result) Errors() int64 {
	return r.ErrConnect + r.ErrRead + r.ErrWrite + r.ErrStatus + r.ErrTimeout
}

// ParseResult finds the result line in a generator's output.
func ParseResult(out []byte) (Result, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if !bytes.HasPrefix(line, []byte(`{"tenantkit_load"`)) {
			continue
		}
		var r Result
		if err := json.Unmarshal(line, &r); err != nil {
			return Result{}, fmt.Errorf("load: result line: %w", err)
		}
		return r, nil
	}
	return Result{}, fmt.Errorf("load: no result line in the generator's output: %q", truncate(out, 2000))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

//go:embed rotate.lua
var rotateLua []byte

// WriteScript writes the wrk script into dir and returns its path.
func WriteScript(dir string) (string, error) {
	p := filepath.Join(dir, "rotate.lua")
	return p, os.WriteFile(p, rotateLua, 0o600)
}

// Wrk runs wrk.
type Wrk struct {
	Path    string   // the wrk binary
	Prefix  []string // run through this command, for example taskset -c 1
	Threads int      // 1 unless set
	Conns   int      // 64 unless set
	Script  string   // from WriteScript
	Tokens  string   // the tokens file
}

// Run loads url for d and returns wrk's result.
func (w Wrk) Run(ctx context.Context, url string, d time.Duration) (Result, error) {
	threads, conns := w.Threads, w.Conns
	if threads == 0 {
		threads = 1
	}
	if conns == 0 {
		conns = 64
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	args := append(slices.Clone(w.Prefix), w.Path, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "5s", "-s", w.Script, url, "--", w.Tokens)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	return RunGenerator(cmd)
}

// RunGenerator runs a generator process and parses its result line,
// adding the process's CPU time.
func RunGenerator(cmd *exec.Cmd) (Result, error) {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("load: %s: %w: %s", strings.Join(cmd.Args, " "), err, truncate(out, 2000))
	}
	r, err := ParseResult(out)
	if err != nil {
		return Result{}, err
	}
	if ps := cmd.ProcessState; ps != nil {
		r.GeneratorCPUUS = (ps.UserTime() + ps.SystemTime()).Microseconds()
	}
	return r, nil
}

// GRPCLoad is a closed-loop gRPC load generator: Conns connections, each
// with the same number of workers, every worker calling PingMethod again
// as soon as a call returns, each call with the next tenant's token in the
// authorization metadata. The per-token contexts are built once, so that
// a call costs the generator no more than grpc-go's own client.
type GRPCLoad struct {
	Addr    string
	Tokens  []Token
	Conns   int // 64 unless set
	Workers int // Conns unless set
}

// Run loads the server for d.
func (g GRPCLoad) Run(ctx context.Context, d time.Duration) (Result, error) {
	conns, workers := g.Conns, g.Workers
	if conns == 0 {
		conns = 64
	}
	if workers == 0 {
		workers = conns
	}
	if len(g.Tokens) == 0 {
		return Result{}, errors.New("load: no tokens")
	}
	// Every call is bounded by the run's deadline and a margin.
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	ctxs := make([]context.Context, len(g.Tokens))
	for i, t := range g.Tokens {
		ctxs[i] = metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+t.Token))
	}
	cs := make([]*grpc.ClientConn, conns)
	for i := range cs {
		c, err := grpc.NewClient(g.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return Result{}, err
		}
		defer c.Close()
		c.Connect()
		cs[i] = c
	}
	// Connect every connection before the clock starts.
	for _, c := range cs {
		if err := c.Invoke(ctxs[0], PingMethod, &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
			return Result{}, fmt.Errorf("load: first call: %w", err)
		}
	}

	type workerResult struct {
		lat   []int64 // ns
		errs  int64
		first error
	}
	res := make([]workerResult, workers)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &res[w]
			r.lat = make([]int64, 0, 1<<14)
			conn := cs[w%conns]
			i := w * len(ctxs) / workers // workers start at different tenants
			in, out := &emptypb.Empty{}, &emptypb.Empty{}
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				err := conn.Invoke(ctxs[i], PingMethod, in, out)
				r.lat = append(r.lat, int64(time.Since(t0)))
				if err != nil {
					r.errs++
					if r.first == nil {
						r.first = err
					}
				}
				if i++; i == len(ctxs) {
					i = 0
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	var all []int64
	out := Result{Marker: 1, DurationUS: elapsed.Microseconds()}
	for _, r := range res {
		all = append(all, r.lat...)
		out.ErrStatus += r.errs
		if r.first != nil && out.FirstError == "" {
			out.FirstError = r.first.Error()
		}
	}
	out.Requests = int64(len(all))
	if len(all) > 0 {
		slices.Sort(all)
		pct := func(p float64) int64 { return all[min(len(all)-1, int(p*float64(len(all))))] / 1000 }
		out.P50US, out.P99US, out.MaxUS = pct(0.50), pct(0.99), all[len(all)-1]/1000
	}
	return out, nil
}

// PrintResult writes r as the result line ParseResult reads.
func PrintResult(r Result) string {
	r.Marker = 1
	b, _ := json.Marshal(r)
	return string(b)
}

func marshalStacks(infos []Info) ([]byte, error) { return json.MarshalIndent(infos, "", "  ") }

// ReadReady reads the stacks a server wrote with WriteReady.
func ReadReady(path string) ([]Info, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var infos []Info
	if err := json.Unmarshal(b, &infos); err != nil {
		return nil, fmt.Errorf("load: %s: %w", path, err)
	}
	return infos, nil
}

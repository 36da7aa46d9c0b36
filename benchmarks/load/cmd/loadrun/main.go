// Command loadrun measures tenantkit's middleware stacks under load: it
// starts the load server (this program, "loadrun server") pinned to CPU 0
// with GOMAXPROCS=1, drives each stack from CPU 1 with wrk (HTTP) or this
// program's gRPC generator ("loadrun grpc"), runs interleaved rounds, and
// writes the medians and ratios to a Markdown file.
//
//	loadrun [-rounds 5] [-duration 2s] [-profile-seconds 0] [-conns 64] [-out results.md] [-wrk wrk]
//	loadrun server -ready FILE -tokens FILE [-redis ADDR]
//	loadrun grpc -addr ADDR -tokens FILE [-conns 64] [-duration 3s]
//
// The Redis stacks run when TENANTKIT_REDIS_ADDR is set (make load runs
// under scripts/with-redis.sh).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenantkit/tenantkit/benchmarks/load"
)

func main() {
	var err error
	args := os.Args[1:]
	switch {
	case len(args) > 0 && args[0] == "server":
		err = serve(args[1:])
	case len(args) > 0 && args[0] == "grpc":
		err = grpcLoad(args[1:])
	case len(args) > 0 && args[0] == "run":
		err = run(args[1:])
	default:
		err = run(args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadrun:", err)
		os.Exit(1)
	}
}

// serve runs the load server until SIGINT or SIGTERM.
func serve(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	ready := fs.String("ready", "", "write the served stacks as JSON to this file once every stack is warm")
	tokens := fs.String("tokens", "", "write the tenants' tokens to this file")
	redisAddr := fs.String("redis", os.Getenv("TENANTKIT_REDIS_ADDR"), "Redis host:port of the Redis stacks (none: left out)")
	tenants := fs.Int("tenants", load.DefaultTenants, "number of tenants")
	withPprof := fs.Bool("pprof", false, "serve net/http/pprof on a loopback port, written to the ready file's path + \".pprof\"")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ready == "" || *tokens == "" {
		return errors.New("server: -ready and -tokens are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := load.Start(load.Config{Tenants: *tenants, RedisAddr: *redisAddr, TokensPath: *tokens})
	if err != nil {
		return err
	}
	defer s.Close()
	if *withPprof {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		ps := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = ps.Serve(ln) }()
		defer ps.Close()
		if err := os.WriteFile(*ready+".pprof", []byte(ln.Addr().String()), 0o600); err != nil {
			return err
		}
	}
	if err := s.WriteReady(*ready); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// grpcLoad runs the gRPC generator once and prints its result line.
func grpcLoad(args []string) error {
	fs := flag.NewFlagSet("grpc", flag.ContinueOnError)
	addr := fs.String("addr", "", "server host:port")
	tokens := fs.String("tokens", "", "tokens file of the server")
	conns := fs.Int("conns", 64, "connections, one worker each")
	d := fs.Duration("duration", 3*time.Second, "how long to load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	toks, err := load.ReadTokens(*tokens)
	if err != nil {
		return err
	}
	r, err := load.GRPCLoad{Addr: *addr, Tokens: toks, Conns: *conns}.Run(context.Background(), *d)
	if err != nil {
		return err
	}
	fmt.Println(load.PrintResult(r))
	return nil
}

func run(args []string) error {
	start := time.Now()
	fs := flag.NewFlagSet("loadrun", flag.ContinueOnError)
	rounds := fs.Int("rounds", 5, "interleaved rounds")
	d := fs.Duration("duration", 2*time.Second, "load per stack and round (whole seconds for wrk)")
	warm := fs.Duration("warmup", time.Second, "unmeasured load per stack before the first round")
	conns := fs.Int("conns", 64, "connections")
	out := fs.String("out", "load/results.md", "the report")
	wrkPath := fs.String("wrk", "", "the wrk binary (default: TENANTKIT_WRK, else wrk on PATH)")
	stacks := fs.String("stacks", "", "comma-separated stacks to run (default: all)")
	pin := fs.Bool("pin", true, "pin the server to CPU 0 and the generators to CPU 1 with taskset")
	profileSecs := fs.Int("profile-seconds", 0, "after the rounds, load each tenantkit stack (not the floors) once more and take a CPU profile of the server for this many seconds (the load runs 2 s longer); 0 takes none")
	profileDir := fs.String("profile", "", "keep the CPU profiles in this directory (STACK.pprof; default: discarded)")
	profileFloors := fs.Bool("profile-floors", false, "profile the floor stacks too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *wrkPath == "" {
		*wrkPath = os.Getenv("TENANTKIT_WRK")
	}
	if *wrkPath == "" {
		p, err := exec.LookPath("wrk")
		if err != nil {
			return errors.New("wrk not found: run under scripts/with-wrk.sh or give -wrk")
		}
		*wrkPath = p
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tenantkit-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	readyPath, tokensPath := filepath.Join(dir, "ready.json"), filepath.Join(dir, "tokens.txt")

	var serverPin, genPin []string
	pinning := "not pinned (taskset missing or fewer than 2 CPUs); server GOMAXPROCS=1"
	if _, err := exec.LookPath("taskset"); *pin && err == nil && runtime.NumCPU() >= 2 {
		serverPin, genPin = []string{"taskset", "-c", "0"}, []string{"taskset", "-c", "1"}
		pinning = "server pinned to CPU 0 (taskset -c 0, GOMAXPROCS=1), load generator pinned to CPU 1 (taskset -c 1; wrk -t 1, the gRPC generator with GOMAXPROCS=1)"
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srvArgs := append(append([]string(nil), serverPin...), self, "server", "-ready", readyPath, "-tokens", tokensPath)
	if *profileSecs > 0 {
		srvArgs = append(srvArgs, "-pprof")
		if *profileDir == "" {
			*profileDir = filepath.Join(dir, "profiles")
		}
	}
	srv := exec.Command(srvArgs[0], srvArgs[1:]...)
	srv.Env = append(os.Environ(), "GOMAXPROCS=1")
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
	}()
	t0 := time.Now()
	infos, err := waitReady(ctx, readyPath, exited)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadrun: %d stacks served and warm in %s\n", len(infos), time.Since(t0).Round(time.Millisecond))
	if *stacks != "" {
		want := strings.Split(*stacks, ",")
		var sel []load.Info
		for _, s := range infos {
			for _, w := range want {
				if s.Name == w {
					sel = append(sel, s)
				}
			}
		}
		infos = sel
	}
	toks, err := load.ReadTokens(tokensPath)
	if err != nil {
		return err
	}
	script, err := load.WriteScript(dir)
	if err != nil {
		return err
	}
	wrk := load.Wrk{Path: *wrkPath, Prefix: genPin, Conns: *conns, Script: script, Tokens: tokensPath}
	r := load.Runner{
		Stacks: infos, Rounds: *rounds, Duration: *d, Warmup: *warm, Log: os.Stderr,
		// A shared machine can stall a Redis decision past its timeout;
		// such failures are counted in the report.
		MaxErrorShare: 0.01,
		Retries:       2,
		CPU:           func() (time.Duration, error) { return load.ProcessCPU(srv.Process.Pid) },
		Load: func(ctx context.Context, s load.Info, d time.Duration) (load.Result, error) {
			if s.Kind == load.HTTP {
				return wrk.Run(ctx, "http://"+s.Addr+"/", d)
			}
			a := append(append([]string(nil), genPin...), self, "grpc", "-addr", s.Addr, "-tokens", tokensPath,
				"-conns", fmt.Sprint(*conns), "-duration", d.String())
			cmd := exec.CommandContext(ctx, a[0], a[1:]...)
			cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
			return load.RunGenerator(cmd)
		},
	}
	ms, err := r.Run(ctx)
	if err != nil {
		return err
	}
	rows := load.Summarize(infos, ms)
	var attrs []load.Attribution
	if *profileSecs > 0 {
		var profiled []load.Info
		for _, s := range infos {
			if s.FloorOf == "" || *profileFloors {
				profiled = append(profiled, s)
			}
		}
		if err := profile(ctx, *profileDir, readyPath+".pprof", *profileSecs, profiled, r.Load); err != nil {
			return err
		}
		for _, s := range profiled {
			a, err := load.Attribute(s.Name, filepath.Join(*profileDir, s.Name+".pprof"))
			if err != nil {
				return err
			}
			attrs = append(attrs, a)
		}
	}

	meta := load.Meta{
		Command: "scripts/with-redis.sh scripts/with-wrk.sh sh -c 'cd benchmarks && go run ./load/cmd/loadrun " +
			strings.Join(args, " ") + "'",
		Date:     time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Go:       runtime.Version(),
		Machine:  machine(),
		Pinning:  pinning,
		Rounds:   *rounds,
		Duration: d.String(),
		Conns:    *conns,
		Tenants:  len(toks),
		Notes: []string{
			"the machine is shared and noisy (other builds and tests ran during the measurement): read the ratios of one run, not absolute numbers",
			"failed: requests answered with another status than 2xx (or gRPC OK) or not at all, over all rounds; a measurement past 1% (or with no request answered) is run again, at most twice",
			fmt.Sprintf("the run took %s, the server's start (minting 1,000 RS256 tokens) and warm-up included", time.Since(start).Round(time.Second)),
		},
	}
	if os.Getenv("TENANTKIT_REDIS_ADDR") == "" {
		meta.Notes = append(meta.Notes, "TENANTKIT_REDIS_ADDR was not set: the Redis stacks did not run")
	} else {
		meta.Notes = append(meta.Notes, "redis-server (scripts/with-redis.sh) ran on the same machine, unpinned: its CPU is taken from the server's or the generator's core")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := load.WriteMarkdown(f, meta, rows); err != nil {
		f.Close()
		return err
	}
	if attrs != nil {
		if err := load.WriteAttributions(f, infos, attrs, *profileSecs); err != nil {
			f.Close()
			return err
		}
	}
	if err := load.WriteRounds(f, ms); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadrun: wrote %s\n", *out)
	return nil
}

// profile loads each stack for secs+2 s and saves the server's CPU profile
// of secs s from the first second on to dir/STACK.pprof.
func profile(ctx context.Context, dir, addrPath string, secs int, infos []load.Info, run func(context.Context, load.Info, time.Duration) (load.Result, error)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	addr, err := os.ReadFile(addrPath)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: time.Duration(secs+30) * time.Second}
	for _, s := range infos {
		type fetched struct {
			b   []byte
			err error
		}
		got := make(chan fetched, 1)
		go func() {
			time.Sleep(time.Second)
			resp, err := client.Get("http://" + string(addr) + "/debug/pprof/profile?seconds=" + strconv.Itoa(secs))
			if err != nil {
				got <- fetched{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("pprof: status %d: %s", resp.StatusCode, b)
			}
			got <- fetched{b, err}
		}()
		if _, err := run(ctx, s, time.Duration(secs+2)*time.Second); err != nil {
			return fmt.Errorf("profiling %s: %w", s.Name, err)
		}
		f := <-got
		if f.err != nil {
			return fmt.Errorf("profiling %s: %w", s.Name, f.err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.Name+".pprof"), f.b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "loadrun: %s\n", filepath.Join(dir, s.Name+".pprof"))
	}
	return nil
}

// waitReady waits (at most two minutes) for the server's ready file.
func waitReady(ctx context.Context, path string, exited <-chan error) ([]load.Info, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if infos, err := load.ReadReady(path); err == nil {
			return infos, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("the server exited before it was ready: %v", err)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, errors.New("the server was not ready within two minutes")
}

// machine describes the CPU.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs, %s", runtime.NumCPU(), model)
}

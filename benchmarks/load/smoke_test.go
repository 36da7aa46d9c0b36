package load_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/benchmarks/load"
)

// grpcConns is the number of connections (one worker each) of the smoke
// round's gRPC generator.
const grpcConns = 8

// need returns the value of env var name, or skips the test without it
// (fails it under CI=true, where everything must run).
func need(t *testing.T, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: %s (CI=true: the smoke round must run)", name, what)
		}
		t.Skipf("%s is not set: %s", name, what)
	}
	return v
}

// TestSmoke is one short round of the load harness over every stack, so
// that make test keeps it working: every stack answers 200 (or OK) to the
// tenants' tokens and 401 (Unauthenticated) to bad ones, wrk and the gRPC
// generator run with no failed request, and the handlers see all 1,000
// tenants (the tokens rotate).
func TestSmoke(t *testing.T) {
	wrkPath := os.Getenv("TENANTKIT_WRK")
	if wrkPath == "" {
		if p, err := exec.LookPath("wrk"); err == nil {
			wrkPath = p
		}
	}
	if wrkPath == "" {
		need(t, "TENANTKIT_WRK", "run under scripts/with-wrk.sh")
	}
	redisAddr := need(t, "TENANTKIT_REDIS_ADDR", "run under scripts/with-redis.sh")

	dir := t.TempDir()
	tokensPath := filepath.Join(dir, "tokens.txt")
	start := time.Now()
	s, err := load.Start(load.Config{RedisAddr: redisAddr, TokensPath: tokensPath, CountTenants: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Logf("started and warmed %d stacks in %v", len(s.Stacks()), time.Since(start).Round(time.Millisecond))
	if got, want := len(s.Stacks()), len(load.Catalog()); got != want {
		t.Fatalf("%d stacks served, want all %d", got, want)
	}
	toks, err := load.ReadTokens(tokensPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != load.DefaultTenants {
		t.Fatalf("%d tokens in the file, want %d", len(toks), load.DefaultTenants)
	}
	tiers := map[string]int{}
	for _, tk := range toks {
		tiers[tk.Tier]++
	}
	if len(tiers) != 3 {
		t.Fatalf("tokens over tiers %v, want three", tiers)
	}

	// A token of another issuer with the same claims, a forged one, none.
	other := authntest.NewIssuer(t)
	bad := map[string]string{
		"foreign issuer": other.Token(toks[0].Tenant, toks[0].Tier),
		"garbage":        "not.a.token",
		"none":           "",
	}
	checkStatuses(t, s.Stacks(), toks[0].Token, bad)

	script, err := load.WriteScript(dir)
	if err != nil {
		t.Fatal(err)
	}
	wrk := load.Wrk{Path: wrkPath, Script: script, Tokens: tokensPath}
	r := load.Runner{
		Stacks: s.Stacks(), Rounds: 1, Duration: time.Second,
		Load: func(ctx context.Context, info load.Info, d time.Duration) (load.Result, error) {
			if info.Kind == load.HTTP {
				return wrk.Run(ctx, "http://"+info.Addr+"/", d)
			}
			return load.GRPCLoad{Addr: info.Addr, Tokens: toks, Conns: grpcConns}.Run(ctx, d)
		},
	}
	ms, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		t.Logf("%-22s %8.0f req/s  p50 %6d µs  p99 %6d µs", m.Stack, m.Result.RPS(), m.Result.P50US, m.Result.P99US)
	}
	// wrk's one thread sends the tokens in turn, so R requests reach
	// min(R, 1,000) tenants; each of the gRPC generator's W workers sends
	// a run of consecutive tokens, so at least min(R/W, 1,000).
	requests := map[string]int64{}
	for _, m := range ms {
		requests[m.Stack] = m.Result.Requests
	}
	for _, info := range s.Stacks() {
		if info.Name == load.BareHTTP || info.Name == load.BareGRPC {
			continue
		}
		want := requests[info.Name]
		if info.Kind == load.GRPC {
			want /= grpcConns
		}
		want = min(want, load.DefaultTenants)
		if n := s.Seen(info.Name); int64(n) < want {
			t.Errorf("%s: the handler saw %d tenants in %d requests, want at least %d", info.Name, n, requests[info.Name], want)
		}
	}

	var report bytes.Buffer
	if err := load.WriteMarkdown(&report, load.Meta{Command: "test"}, load.Summarize(s.Stacks(), ms)); err != nil {
		t.Fatal(err)
	}
	for _, info := range s.Stacks() {
		if !strings.Contains(report.String(), "| "+info.Name+" |") {
			t.Errorf("the report has no row for %s", info.Name)
		}
	}
}

// checkStatuses checks every stack's answer to a tenant's token and to bad
// ones.
func checkStatuses(t *testing.T, stacks []load.Info, good string, bad map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for _, info := range stacks {
		bare := info.Name == load.BareHTTP || info.Name == load.BareGRPC
		if info.Kind == load.GRPC {
			conn, err := grpc.NewClient(info.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			call := func(tok string) error {
				c := ctx
				if tok != "" {
					c = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
				}
				return conn.Invoke(c, load.PingMethod, &emptypb.Empty{}, &emptypb.Empty{})
			}
			if err := call(good); err != nil {
				t.Errorf("%s: a tenant's token: %v", info.Name, err)
			}
			for what, tok := range bad {
				err := call(tok)
				if bare {
					if err != nil {
						t.Errorf("%s: %s token: %v, want OK (no authentication)", info.Name, what, err)
					}
				} else if status.Code(err) != codes.Unauthenticated {
					t.Errorf("%s: %s token: %v, want Unauthenticated", info.Name, what, err)
				}
			}
			conn.Close()
			continue
		}
		url := "http://" + info.Addr + "/"
		code, err := load.Get(ctx, client, url, good)
		if err != nil || code != http.StatusOK {
			t.Errorf("%s: a tenant's token: status %d, %v; want 200", info.Name, code, err)
		}
		for what, tok := range bad {
			want := http.StatusUnauthorized
			if bare {
				want = http.StatusOK
			}
			code, err := load.Get(ctx, client, url, tok)
			if err != nil || code != want {
				t.Errorf("%s: %s token: status %d, %v; want %d", info.Name, what, code, errors.Unwrap(err), want)
			}
		}
	}
}

//go:build linux

package runtimetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	took time.Duration
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// rie returns the emulator of scripts/with-lambda-rie.sh. Without one the
// test skips, except under CI=true, where it fails.
func rie(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("TENANTKIT_LAMBDA_RIE")
	if p == "" {
		const why = "TENANTKIT_LAMBDA_RIE is not set (run the tests through scripts/with-lambda-rie.sh)"
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s; CI=true, so the Lambda runtime tests may not skip", why)
		}
		tb.Skip(why)
	}
	return p
}

// function returns the test function's binary, built once per test binary.
func function(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		start := time.Now()
		build.dir, build.err = os.MkdirTemp("", "tenantkit-lambda-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "bootstrap")
		_, file, _, _ := runtime.Caller(0)
		pkg := filepath.Join(filepath.Dir(file), "..", "testfunc")
		cmd := exec.Command("go", "build", "-o", build.bin, ".")
		cmd.Dir = pkg
		// A Lambda function binary as AWS builds them: static, no cgo.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
		build.took = time.Since(start)
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.bin
}

// fn is one function running under its own emulator.
type fn struct {
	url    string
	client *http.Client
	mu     sync.Mutex
	out    bytes.Buffer // the emulator's and the function's output
}

func (f *fn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.Write(p)
}

func (f *fn) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.String()
}

func freePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the test function with env under a new emulator on loopback
// and stops both when the test ends.
func start(tb testing.TB, env ...string) *fn {
	tb.Helper()
	emu, bin := rie(tb), function(tb)
	f := &fn{}
	addr, api := freePort(tb), freePort(tb)
	cmd := exec.Command(emu, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "AWS_LAMBDA_FUNCTION_TIMEOUT=30", "AWS_LAMBDA_FUNCTION_NAME=tenantkit-test", "LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so that stopping it stops the function too;
	// killed as well if the test binary dies first (a timeout's panic).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext, MaxIdleConnsPerHost: 2}
	f.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	tb.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if tb.Failed() {
			tb.Logf("emulator output:\n%s", f.output())
		}
	})
	f.url = "http://" + addr + "/2015-03-31/functions/function/invocations"
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return f
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the emulator did not listen on %s: %v\n%s", addr, err, f.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// invoke sends event to the function and decodes its answer into out; it
// returns the raw answer, the error message the handler returned ("" for
// none) and the round trip's duration.
func (f *fn) invoke(tb testing.TB, event, out any) (raw string, handlerErr string, took time.Duration) {
	tb.Helper()
	body, err := json.Marshal(event)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	begin := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		tb.Fatalf("invoke: %v\n%s", err, f.output())
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took = time.Since(begin)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("invoke: status %d, %v: %s", resp.StatusCode, err, data)
	}
	var fail struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(data, &fail) == nil && fail.ErrorType != "" {
		return string(data), fail.ErrorMessage, took
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatalf("decode %s: %v", data, err)
		}
	}
	return string(data), "", took
}

// timing collects the cold and warm invocation times of a function.
type timing struct {
	mu   sync.Mutex
	cold map[string]time.Duration
	warm map[string][]time.Duration
}

var times = timing{cold: map[string]time.Duration{}, warm: map[string][]time.Duration{}}

func (t *timing) add(name string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.cold[name]; !ok {
		t.cold[name] = d
		return
	}
	t.warm[name] = append(t.warm[name], d)
}

// report logs each function's cold start and its median and slowest warm
// invocation.
func (t *timing) report(tb testing.TB, names ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range names {
		w := slices.Clone(t.warm[n])
		slices.Sort(w)
		if len(w) == 0 {
			continue
		}
		tb.Logf("%-12s cold %7.2f ms, warm median %5.2f ms, max %5.2f ms (%d warm)", n,
			ms(t.cold[n]), ms(w[len(w)/2]), ms(w[len(w)-1]), len(w))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func containsAny(s string, needles ...string) bool {
	for _, n := range needles {
		if n != "" && strings.Contains(s, n) {
			return true
		}
	}
	return false
}

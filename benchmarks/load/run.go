package load

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Measurement is one stack's load in one round.
type Measurement struct {
	Round  int
	Stack  string
	Result Result
	// ServerCPU is the CPU time the server process used during the load
	// (0 when not measured).
	ServerCPU time.Duration
}

// Runner runs interleaved rounds: every round loads every stack once, for
// Duration, in an order rotated from round to round, so that a slow phase
// of a shared machine does not fall on the same stacks every time.
type Runner struct {
	Stacks   []Info
	Rounds   int
	Duration time.Duration
	// Warmup, when positive, loads every stack for this long before the
	// first round, unmeasured.
	Warmup time.Duration
	// Load runs the generator of s's transport against s for d.
	Load func(ctx context.Context, s Info, d time.Duration) (Result, error)
	// CPU returns the CPU time the server process has used so far; nil
	// measures none.
	CPU func() (time.Duration, error)
	// Log receives one line per measurement; nil logs nothing.
	Log io.Writer
	// MaxErrorShare is the share of failed requests a measurement may have
	// (they are reported). 0 allows none.
	MaxErrorShare float64
	// Retries is how many times a measurement that failed (a generator
	// error, no request answered, or too many failed requests: a shared
	// machine can stall the server for seconds) is run again before the
	// run fails. 0 fails at once.
	Retries int
}

// Run runs the rounds and returns every measurement. A measurement that
// fails more than Retries times ends the run with an error.
func (r Runner) Run(ctx context.Context) ([]Measurement, error) {
	logf := func(format string, args ...any) {
		if r.Log != nil {
			fmt.Fprintf(r.Log, format+"\n", args...)
		}
	}
	if r.Warmup > 0 {
		for _, s := range r.Stacks {
			if _, err := r.Load(ctx, s, r.Warmup); err != nil {
				return nil, fmt.Errorf("warm-up of %s: %w", s.Name, err)
			}
		}
	}
	var ms []Measurement
	n := len(r.Stacks)
	for round := range r.Rounds {
		off := 0
		if r.Rounds > 0 {
			off = round * n / r.Rounds
		}
		for i := range n {
			s := r.Stacks[(off+i)%n]
			var (
				m   Measurement
				err error
			)
			for try := 0; try <= r.Retries; try++ {
				if m, err = r.measure(ctx, s, round); err == nil {
					break
				}
				logf("round %d  %-22s failed: %v", round+1, s.Name, err)
			}
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round+1, s.Name, err)
			}
			res := m.Result
			logf("round %d  %-22s %9.0f req/s  p50 %6d µs  p99 %6d µs  server CPU %5.1f µs/req  failed %d",
				round+1, s.Name, res.RPS(), res.P50US, res.P99US, cpuPerReq(m), res.Errors())
			ms = append(ms, m)
		}
	}
	return ms, nil
}

// measure loads s once.
func (r Runner) measure(ctx context.Context, s Info, round int) (Measurement, error) {
	var cpu0 time.Duration
	if r.CPU != nil {
		c, err := r.CPU()
		if err != nil {
			return Measurement{}, err
		}
		cpu0 = c
	}
	res, err := r.Load(ctx, s, r.Duration)
	if err != nil {
		return Measurement{}, err
	}
	m := Measurement{Round: round, Stack: s.Name, Result: res}
	if r.CPU != nil {
		c, err := r.CPU()
		if err != nil {
			return Measurement{}, err
		}
		m.ServerCPU = c - cpu0
	}
	if res.Requests == 0 || float64(res.Errors()) > r.MaxErrorShare*float64(res.Requests) {
		return Measurement{}, fmt.Errorf("%d requests, %d failed (connect %d, read %d, write %d, status %d, timeout %d) %s",
			res.Requests, res.Errors(), res.ErrConnect, res.ErrRead, res.ErrWrite, res.ErrStatus, res.ErrTimeout, res.FirstError)
	}
	return m, nil
}

// cpuPerReq returns the server's CPU microseconds per request of m, 0 when
// not measured.
func cpuPerReq(m Measurement) float64 {
	if m.ServerCPU <= 0 || m.Result.Requests == 0 {
		return 0
	}
	return float64(m.ServerCPU.Microseconds()) / float64(m.Result.Requests)
}

// ProcessCPU returns the user and system CPU time process pid has used,
// from /proc/PID/stat (all threads, in clock ticks of 10 ms).
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("load: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("load: /proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("load: /proc/%d/stat: bad utime or stime", pid)
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(ut+st) * tick, nil
}

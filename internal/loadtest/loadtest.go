// Package loadtest holds the bounded load loop and the token-bucket bounds
// check that the in-process and Redis limiter tests share.
package loadtest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Hammer runs fn from workers goroutines for about dur and returns the
// number of true results and the time from the start to the return of the
// last call (not to the workers' exit, which a pause of the process could
// delay after the last decision). The loop is bounded by dur.
func Hammer(workers int, dur time.Duration, fn func() bool) (allowed int64, elapsed time.Duration) {
	var (
		n    atomic.Int64
		last atomic.Int64
		wg   sync.WaitGroup
		gate = make(chan struct{})
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			var end int64 // when this worker's last call returned
			for time.Since(start) < dur {
				if fn() {
					n.Add(1)
				}
				end = int64(time.Since(start))
			}
			for {
				old := last.Load()
				if end <= old || last.CompareAndSwap(old, end) {
					break
				}
			}
		}()
	}
	start = time.Now()
	close(gate)
	wg.Wait()
	return n.Load(), time.Duration(last.Load())
}

// CheckBucket checks that allowed lies in [burst + rate·t − 1%,
// burst + rate·t + 1], the most a token bucket may let through in elapsed.
func CheckBucket(t testing.TB, allowed int64, elapsed time.Duration, burst, ratePerSec float64) {
	t.Helper()
	want := burst + ratePerSec*elapsed.Seconds()
	lo, hi := want*0.99, want+1
	t.Logf("allowed %d in %v: want [%.1f, %.1f]", allowed, elapsed, lo, hi)
	if float64(allowed) < lo || float64(allowed) > hi {
		t.Errorf("allowed %d outside [%.1f, %.1f]", allowed, lo, hi)
	}
}

// Package cputime reads the CPU time a benchmark used, for the cpu-ns/op
// metric some benchmarks report beside ns/op: on a loaded machine ns/op
// also counts the time a thread waited for a core, CPU time does not.
package cputime

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Thread returns the CPU time the calling OS thread has used (Linux's
// RUSAGE_THREAD), or 0 where it cannot be read.
func Thread() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	return rusage(rusageThread)
}

// Process returns the CPU time the process has used on every CPU
// together, or 0 where it cannot be read.
func Process() time.Duration { return rusage(syscall.RUSAGE_SELF) }

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PerOp locks the benchmark's goroutine to its thread and returns a func,
// to call after the loop, that reports the thread's CPU time per operation
// as cpu-ns/op (the garbage collector's work on other threads is left out).
func PerOp(b *testing.B) func() {
	runtime.LockOSThread()
	start := Thread()
	return func() {
		used := Thread() - start
		runtime.UnlockOSThread()
		if b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

package featureflag_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPUPerOp reports, as cpu-ns/op, the CPU time the benchmark's own
// thread spent per operation: on a loaded machine ns/op also counts the
// time the thread waited for a core, this does not (nor the garbage
// collector's work on other threads). Call the returned func after the
// loop.
func threadCPUPerOp(b *testing.B) func() {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		used := threadCPU() - start
		runtime.UnlockOSThread()
		if b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD, Linux
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

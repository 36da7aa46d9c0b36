package ratelimit

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkTake measures one decision over 10,000 keys; steady state makes
// no allocation. The rate plan's bucket takes a second to fill, longer than
// a key waits for its next turn: a key whose bucket is full again is idle,
// and a sweep may forget it (the next decision then makes it again), which
// is not the steady state measured here.
func BenchmarkTake(b *testing.B) {
	for _, bc := range []struct {
		name string
		plan *Plan
	}{
		{"rate", MustPlan(Plan{Name: "rate", Rate: PerSecond(1_000_000), Burst: 1_000_000})},
		{"rate+quota+inflight", MustPlan(Plan{Name: "all", Rate: PerSecond(1_000_000), Burst: 1000, Quota: Monthly(1 << 40), InFlight: 1 << 20})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := mustLocal(b)
			keys := make([]string, 10_000)
			for i := range keys {
				keys[i] = "tenant-" + strconv.Itoa(i)
				d, _ := l.Take(ctx, keys[i], bc.plan, 1)
				d.Release()
			}
			var worker atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(worker.Add(1)) * 7919 // workers start apart, as different tenants would
				for pb.Next() {
					d, _ := l.Take(ctx, keys[i%len(keys)], bc.plan, 1)
					d.Release()
					i++
				}
			})
		})
	}
}

// BenchmarkMemoryPerKey reports the heap one key of a Local takes (bucket,
// map entry and a 12-byte key), after a decision under a plan with a quota.
func BenchmarkMemoryPerKey(b *testing.B) {
	p := MustPlan(Plan{Name: "q", Rate: PerSecond(10), Burst: 10, Quota: Monthly(1000)})
	const n = 100_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "tenant-" + strconv.Itoa(100000 + i)[1:]
	}
	var perKey float64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := mustLocal(b)
		for _, k := range keys {
			l.Take(ctx, k, p, 1)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perKey = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(l)
	}
	b.ReportMetric(perKey, "B/key")
}

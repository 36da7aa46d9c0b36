package ratelimit

import (
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkTake measures one decision over 10,000 keys; steady state makes
// no allocation.
func BenchmarkTake(b *testing.B) {
	for _, bc := range []struct {
		name string
		plan *Plan
	}{
		{"rate", MustPlan(Plan{Name: "rate", Rate: PerSecond(1_000_000), Burst: 1000})},
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

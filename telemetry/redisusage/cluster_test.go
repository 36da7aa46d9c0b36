package redisusage

import (
	"fmt"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/telemetry"
)

// TestCluster flushes three replicas' usage of two periods, whose keys sit
// on different masters, through a Redis Cluster client: each period's two
// keys share a slot (its hash tag), one pipeline reaches both masters, and
// the totals read back are the fleet's.
func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	client := cl.NewClient(t, nil)
	prefix := redistest.Prefix(t)
	// Two adjacent periods whose keys are served by different masters.
	base := t0
	for k := range 50 {
		base = t0.Add(time.Duration(k) * time.Hour)
		if cl.MasterFor(periodKey(prefix, base, base.Add(time.Hour))) != cl.MasterFor(periodKey(prefix, base.Add(time.Hour), base.Add(2*time.Hour))) {
			break
		}
	}
	p0 := periodKey(prefix, base, base.Add(time.Hour))
	p1 := periodKey(prefix, base.Add(time.Hour), base.Add(2*time.Hour))
	if cl.MasterFor(p0) == cl.MasterFor(p1) {
		t.Fatal("no two adjacent periods on different masters")
	}
	for _, k := range []string{p0, p1} {
		if redistest.Slot(k) != redistest.Slot(k+seqSuffix) {
			t.Fatalf("%s and its sequence hash are in different slots", k)
		}
	}
	clock := newClock(base.Add(50 * time.Minute))

	var us [3]*telemetry.Usage
	var fs [3]*Flusher
	for i := range us {
		us[i] = newUsage(t, clock)
		fs[i] = newFlusher(t, client, us[i], WithPrefix(prefix))
	}
	books := []*ledgerBook{newBook(), newBook()}
	for i := range 300 {
		record(t, us[i%3], books[0], fmt.Sprintf("t%d", i%17), tiers[i%17%3], req(i))
	}
	clock.set(base.Add(time.Hour + time.Minute))
	for i := range 300 {
		record(t, us[i%3], books[1], fmt.Sprintf("t%d", i%13), tiers[i%13%3], req(i))
	}
	for _, f := range fs {
		flush(t, f) // one pipeline: a script call for each period
		if s := f.Stats(); s.Batches != 2 || s.Failures != 0 {
			t.Fatalf("stats %+v: want one batch per period", s)
		}
	}
	for p, b := range books {
		equalUsage(t, fmt.Sprintf("period %d", p), read(t, client, prefix, base.Add(time.Duration(p)*time.Hour)), b.sorted())
	}
}

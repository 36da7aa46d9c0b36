package redisfeed_test

import (
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/directory/redisfeed"
	"github.com/tenantkit/tenantkit/internal/redistest"
)

// publishRetrying publishes id, retrying for at most timeout while the
// topology changes (a publisher's own node may be the one that died).
func publishRetrying(t *testing.T, c redis.UniversalClient, channel, id string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := redisfeed.Publish(ctx, c, channel, id)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Publish(%s) for %v: %v", id, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failover subscribes three replicas through clients made by newClient,
// checks delivery, runs kill (which ends the node the subscribers use),
// and checks that every subscriber invalidates everything again and
// receives what is published afterwards.
func failover(t *testing.T, newClient func() redis.UniversalClient, kill func()) {
	const channel = redisfeed.DirectoryChannel
	var recs []*recorder
	var subs []*redisfeed.Subscriber
	for range 3 {
		r := newRecorder()
		recs = append(recs, r)
		subs = append(subs, subscribe(t, newClient(), channel, r,
			redisfeed.WithBackoff(50*time.Millisecond, 500*time.Millisecond),
			redisfeed.WithHealthCheck(500*time.Millisecond)))
	}
	waitReady(t, subs...)
	pub := newClient()

	lat := deliver(t, pub, channel, 20, recs)
	t.Logf("before the failover, 20 publishes to 3 subscribers: p50 %v, max %v", percentile(lat, 0.5), slices.Max(lat))

	start := time.Now()
	kill()
	for i, r := range recs {
		waitResubscribed(t, r, subs[i], 2, 20*time.Second)
	}
	t.Logf("every subscriber resubscribed and invalidated everything %v after the kill", time.Since(start))

	publishRetrying(t, pub, channel, "after-failover", 10*time.Second)
	for i, r := range recs {
		if !r.waitUntil(2*time.Second, func() bool { _, ok := r.seenAt("after-failover"); return ok }) {
			t.Fatalf("subscriber %d missed the message published after the failover; stats %+v", i, subs[i].Stats())
		}
	}
}

func TestSentinelDeliversAndResubscribesAfterFailover(t *testing.T) {
	s := redistest.StartSentinel(t)
	failover(t, func() redis.UniversalClient { return s.NewClient(t, nil) }, func() {
		old := s.KillMaster()
		if _, err := s.WaitFailover(old, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClusterDeliversAndResubscribesAfterMasterLoss(t *testing.T) {
	c := redistest.StartCluster(t)
	failover(t, func() redis.UniversalClient { return c.NewClient(t, nil) }, func() {
		// Subscribers connect to the master of the channel's slot.
		m := c.MasterFor(redisfeed.DirectoryChannel)
		c.Kill(m)
		start := time.Now()
		if err := c.WaitState(true, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		t.Logf("the Cluster failed %s over in %v", m.Addr, time.Since(start))
	})
}

package redisusage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

var tiers = []string{"free", "pro", "enterprise"}

// TestThreeReplicas sends requests of 40 tenants to three replicas at once;
// after each flush the shared totals equal the sum of what all three
// metered, per tenant and dimension, and AttributeCost over them sees the
// whole fleet.
func TestThreeReplicas(t *testing.T) {
	client := newClient(t, redistest.Addr(t), slowTimeouts)
	prefix := redistest.Prefix(t)
	clock := newClock(t0.Add(10 * time.Minute))
	var us [3]*telemetry.Usage
	var fs [3]*Flusher
	for i := range us {
		us[i] = newUsage(t, clock)
		fs[i] = newFlusher(t, client, us[i], WithPrefix(prefix))
	}
	want := newBook()
	for round := range 3 {
		var wg sync.WaitGroup
		books := make([]*ledgerBook, 6)
		for w := range books {
			books[w] = newBook()
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for range 500 {
					n := rng.IntN(40)
					id := fmt.Sprintf("tenant-%02d", n)
					record(t, us[rng.IntN(3)], books[w], id, tiers[n%3], req(rng.IntN(1000)))
				}
			}()
		}
		wg.Wait()
		for _, b := range books {
			want.merge(b)
		}
		for _, f := range fs {
			flush(t, f)
		}
		got := read(t, client, prefix, t0)
		equalUsage(t, fmt.Sprintf("round %d: fleet totals", round), got, want.sorted())
	}
	for i, f := range fs {
		s := f.Stats()
		if s.Batches != 3 || s.Failures != 0 || s.Duplicates != 0 || !s.Unflushed.IsZero() || !s.Dropped.IsZero() {
			t.Errorf("replica %d: stats %+v", i, s)
		}
	}

	// Cost over the fleet totals is cost over all the traffic, not over
	// one replica's third of it.
	model := telemetry.CostModel{Cost: 100_000, Weights: telemetry.Weights{Requests: 4, HandlerTime: 4, BytesIn: 1, BytesOut: 1},
		Prices: map[string]telemetry.Cents{"free": 0, "pro": 4900, "enterprise": 50_000}}
	fleet, err := telemetry.AttributeCost(read(t, client, prefix, t0), model)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := telemetry.AttributeCost(want.sorted(), model)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(fleet) != fmt.Sprint(exact) {
		t.Fatalf("cost over the fleet totals differs from cost over all the requests:\n%+v\n%+v", fleet, exact)
	}
	one, err := telemetry.AttributeCost(us[0].Current().Tenants, model)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(one) == fmt.Sprint(exact) {
		t.Fatal("one replica's view gives the fleet's costs; the test proves nothing")
	}
}

// TestRestart: a replica that stops without Close loses what it metered
// since its last flush, at most one interval; one that closes loses
// nothing; the replica that replaces it adds to the same totals.
func TestRestart(t *testing.T) {
	client := newClient(t, redistest.Addr(t), slowTimeouts)
	prefix := redistest.Prefix(t)
	clock := newClock(t0.Add(time.Minute))
	want := newBook()

	other := newUsage(t, clock)
	fo := newFlusher(t, client, other, WithPrefix(prefix))
	u1 := newUsage(t, clock)
	f1 := newFlusher(t, client, u1, WithPrefix(prefix), WithReplicaID("pod-1"))
	for i := range 50 {
		record(t, u1, want, "acme", "pro", req(i))
		record(t, other, want, "acme", "pro", req(i+1))
	}
	flush(t, f1)
	lost := newBook() // metered after the last flush, then the crash
	for i := range 7 {
		record(t, u1, lost, "acme", "pro", req(i))
		record(t, u1, lost, "globex", "free", req(i))
	}
	// A crash: no flush happens (Close with a context that ended).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := f1.Close(ctx)
	var de *DropError
	if !errors.As(err, &de) || !errors.Is(err, ErrDropped) || de.Dropped != lost.totals() {
		t.Fatalf("Close with an ended context: %v; want a DropError with %+v", err, lost.totals())
	}
	if err := f1.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}

	// The replacement, under the same replica ID: its flushes are not
	// taken for resends of the first one's.
	u2 := newUsage(t, clock)
	f2 := newFlusher(t, client, u2, WithPrefix(prefix), WithReplicaID("pod-1"))
	for i := range 20 {
		record(t, u2, want, "acme", "pro", req(i))
	}
	flush(t, f2)
	flush(t, fo)
	equalUsage(t, "after a crash", read(t, client, prefix, t0), want.sorted())

	// A graceful stop flushes what is left.
	for i := range 5 {
		record(t, u2, want, "globex", "free", req(i))
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	if err := f2.Close(cctx); err != nil {
		t.Fatal(err)
	}
	equalUsage(t, "after a graceful stop", read(t, client, prefix, t0), want.sorted())
}

// TestPeriodRollover meters across three periods; each period's totals
// land in its own key, the previous period's last requests included, and a
// period that left the usage table is forgotten once flushed.
func TestPeriodRollover(t *testing.T) {
	client := newClient(t, redistest.Addr(t), slowTimeouts)
	prefix := redistest.Prefix(t)
	clock := newClock(t0.Add(50 * time.Minute))
	u := newUsage(t, clock)
	f := newFlusher(t, client, u, WithPrefix(prefix))
	books := []*ledgerBook{newBook(), newBook(), newBook()}

	record(t, u, books[0], "acme", "pro", req(1))
	flush(t, f)
	record(t, u, books[0], "acme", "pro", req(2))
	clock.set(t0.Add(time.Hour + time.Minute)) // period 1
	record(t, u, books[1], "acme", "pro", req(3))
	record(t, u, books[1], "initech", "free", req(4))
	flush(t, f)
	clock.set(t0.Add(2*time.Hour + time.Minute)) // period 2; period 0 leaves the table
	record(t, u, books[2], "initech", "free", req(5))
	flush(t, f)
	for i, b := range books {
		equalUsage(t, fmt.Sprintf("period %d", i), read(t, client, prefix, t0.Add(time.Duration(i)*time.Hour)), b.sorted())
	}
	f.sem <- struct{}{}
	n := len(f.ledgers)
	<-f.sem
	if n != 2 {
		t.Fatalf("%d periods tracked; want the two of the usage table", n)
	}

	// The keys expire the retention after the period's end.
	end := t0.Add(time.Hour)
	for _, key := range []string{periodKey(prefix, t0, end), periodKey(prefix, t0, end) + seqSuffix} {
		exp, err := client.ExpireTime(context.Background(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if want := end.Add(DefaultRetention).Unix(); int64(exp/time.Second) != want {
			t.Fatalf("%s expires at %v, want %v", key, exp/time.Second, want)
		}
	}
}

// TestOverflow: a replica's overflow row reaches the fleet's overflow row,
// and the fleet-wide bound folds the tenants past it into that row, so the
// totals are kept whatever the attribution.
func TestOverflow(t *testing.T) {
	client := newClient(t, redistest.Addr(t), slowTimeouts)
	prefix := redistest.Prefix(t)
	clock := newClock(t0.Add(time.Minute))
	// The tables keep 2 and 3 tenants apart; the fleet keeps 3.
	ua := newUsage(t, clock, telemetry.WithMaxTenants(2))
	ub := newUsage(t, clock, telemetry.WithMaxTenants(3))
	fa := newFlusher(t, client, ua, WithPrefix(prefix), WithMaxTenants(3))
	fb := newFlusher(t, client, ub, WithPrefix(prefix), WithMaxTenants(3))
	all := newBook()
	for i, id := range []string{"a1", "a2", "a3", "a4"} { // a3, a4 overflow in ua
		record(t, ua, all, id, "pro", req(i))
	}
	flush(t, fa)
	for i, id := range []string{"a1", "b1", "b2"} { // b2 folds in Redis: a1, a2, b1 hold the bound
		record(t, ub, all, id, "free", req(i+10))
	}
	flush(t, fb)
	got := read(t, client, prefix, t0, WithMaxTenants(3))
	ids := make([]string, len(got))
	var sum Totals
	for i, r := range got {
		ids[i] = r.TenantID
		sum.add(r)
	}
	if fmt.Sprint(ids) != "[_other a1 a2 b1]" {
		t.Fatalf("tenants %v", ids)
	}
	if sum != all.totals() {
		t.Fatalf("fleet totals %+v, want %+v", sum, all.totals())
	}
	if got[0].Tier != "" || got[0].Requests != 3 { // a3, a4, b2
		t.Fatalf("overflow row %+v", got[0])
	}
	if s := fb.Stats(); s.Folded != 1 {
		t.Fatalf("folded %d rows, want 1", s.Folded)
	}
	if _, err := Read(context.Background(), client, t0, t0.Add(time.Hour), WithPrefix(prefix), WithMaxTenants(2)); !errors.Is(err, ErrTooManyTenants) {
		t.Fatalf("read under a smaller bound: %v", err)
	}
}

// TestConcurrentRecord meters from 8 goroutines while the periodic flush
// runs every few milliseconds and other goroutines flush too; after Close
// the shared totals are exact.
func TestConcurrentRecord(t *testing.T) {
	client := newClient(t, redistest.Addr(t), slowTimeouts)
	prefix := redistest.Prefix(t)
	clock := newClock(t0.Add(time.Minute))
	u := newUsage(t, clock)
	f, err := New(client, u, WithPrefix(prefix), WithInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	books := make([]*ledgerBook, 8)
	var wg sync.WaitGroup
	for w := range books {
		books[w] = newBook()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				record(t, u, books[w], fmt.Sprintf("t%d", (w*7+i)%25), tiers[i%3], req(i))
				if i%500 == 0 {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_ = f.Flush(ctx)
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := newBook()
	for _, b := range books {
		want.merge(b)
	}
	// The tier of a tenant is that of its last flushed request, which
	// the book does not know: compare without it.
	got := read(t, client, prefix, t0)
	w := want.sorted()
	for i := range got {
		got[i].Tier = ""
	}
	for i := range w {
		w[i].Tier = ""
	}
	equalUsage(t, "totals", got, w)
	if s := f.Stats(); s.Batches < 2 || s.Failures != 0 {
		t.Fatalf("stats %+v: want several batches, no failure", s)
	}
}

// TestLostReply: Redis applies a flush but its reply is lost; the resend
// is recognised by its sequence number and counted once.
func TestLostReply(t *testing.T) {
	p := newReplyDropper(t, redistest.Addr(t))
	client := newClient(t, p.Addr())
	direct := newClient(t, redistest.Addr(t), slowTimeouts)
	prefix := redistest.Prefix(t)
	clock := newClock(t0.Add(time.Minute))
	u := newUsage(t, clock)
	var log errLog
	f := newFlusher(t, client, u, WithPrefix(prefix), WithErrorHandler(log.handle))
	want := newBook()
	record(t, u, want, "acme", "pro", req(1))
	flush(t, f) // loads the script, opens the connection
	record(t, u, want, "acme", "pro", req(2))
	record(t, u, want, "globex", "free", req(3))
	p.armed.Store(true)
	flush(t, f) // the first try loses its reply, the second is a resend
	if p.armed.Load() {
		t.Fatal("the proxy dropped no reply")
	}
	s := f.Stats()
	if s.Failures != 1 || s.Duplicates != 1 || s.Batches != 1 || log.count(ErrFlush) != 1 {
		t.Fatalf("stats %+v, %d errors reported", s, log.count(ErrFlush))
	}
	equalUsage(t, "after a lost reply", read(t, direct, prefix, t0), want.sorted())

	// A flush of three chunks, some of whose replies are lost.
	for i := range 2*chunkRows + 50 {
		record(t, u, want, fmt.Sprintf("t%03d", i), "free", req(i))
	}
	p.armed.Store(true)
	flush(t, f)
	s = f.Stats()
	// Redis ran at least the first chunk before it saw the connection
	// close (the proxy swallowed its reply); the second try finds those
	// recorded and applies the others.
	if s.Failures != 2 || s.Duplicates < 2 || s.Batches+s.Duplicates != 1+1+3 {
		t.Fatalf("stats %+v", s)
	}
	equalUsage(t, "after a lost reply to a chunked flush", read(t, direct, prefix, t0), want.sorted())
}

// TestNoScript: the script cache is flushed (as after a failover to a
// fresh node); the next flush loads it again and counts once.
func TestNoScript(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv.Addr)
	prefix := redistest.Prefix(t)
	clock := newClock(t0.Add(time.Minute))
	u := newUsage(t, clock)
	f := newFlusher(t, client, u, WithPrefix(prefix))
	want := newBook()
	record(t, u, want, "acme", "pro", req(1))
	flush(t, f)
	if err := client.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	record(t, u, want, "acme", "pro", req(2))
	flush(t, f)
	equalUsage(t, "after SCRIPT FLUSH", read(t, client, prefix, t0), want.sorted())
	if s := f.Stats(); s.Batches != 2 || s.Failures != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestCrashDuringPeriodicFlushes stops a replica without a final flush
// while it meters and flushes every 20 ms: Redis holds what it metered
// up to its last confirmed flush, and it reports the rest as lost.
func TestCrashDuringPeriodicFlushes(t *testing.T) {
	client := newClient(t, redistest.Addr(t), slowTimeouts)
	prefix := redistest.Prefix(t)
	clock := newClock(t0.Add(time.Minute))
	u := newUsage(t, clock)
	f, err := New(client, u, WithPrefix(prefix), WithInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	all := newBook()
	deadline := time.Now().Add(300 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		record(t, u, all, fmt.Sprintf("t%d", i%5), "pro", req(i%100))
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	before := f.Stats()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = f.Close(ctx) // the crash: no final flush
	var lost Totals
	var de *DropError
	if errors.As(err, &de) {
		lost = de.Dropped
	} else if err != nil {
		t.Fatal(err)
	}
	var stored Totals
	for _, r := range read(t, client, prefix, t0) {
		stored.add(r)
	}
	// A periodic flush cut short by the crash may still have reached
	// Redis, so the reported loss bounds the real one: metered - lost <=
	// stored <= metered, in every dimension.
	m := all.totals()
	if stored.Requests > m.Requests || stored.HandlerTime > m.HandlerTime || stored.BytesIn > m.BytesIn || stored.BytesOut > m.BytesOut ||
		stored.Requests+lost.Requests < m.Requests || stored.HandlerTime+lost.HandlerTime < m.HandlerTime ||
		stored.BytesIn+lost.BytesIn < m.BytesIn || stored.BytesOut+lost.BytesOut < m.BytesOut {
		t.Fatalf("stored %+v, lost %+v, metered %+v", stored, lost, m)
	}
	if before.Batches < 3 || stored.Requests == 0 {
		t.Fatalf("stats %+v: the periodic flush did not run", before)
	}
	t.Logf("metered %d requests, %d in Redis after %d flushes, %d lost at the crash", all.totals().Requests, stored.Requests, before.Batches, lost.Requests)
}

// TestReadRefusesForeignFields: a period's hash is in a shared Redis, so
// Read checks what it finds there; a field no Flusher writes (an ID that
// is no valid tenant ID, such as one that would spoof another tenant's
// field, or a wildcard; an unknown dimension; a negative or non-numeric
// count; a tier on the overflow row) fails the read instead of becoming a
// row of AttributeCost.
func TestReadRefusesForeignFields(t *testing.T) {
	client := newClient(t, redistest.Addr(t), slowTimeouts)
	ctx := context.Background()
	for _, kv := range [][2]string{
		{"acme|r|r", "1"}, {"*|r", "1"}, {"acme|x", "1"}, {"acme|r", "-1"}, {"acme|r", "1e3"},
		{"_other|t", "pro"}, {"acme|t", "p ro"}, {"|r", "1"}, {"acme", "1"}, {"#", "x"},
	} {
		prefix := redistest.Prefix(t)
		key := periodKey(prefix, t0, t0.Add(time.Hour))
		if err := client.HSet(ctx, key, "acme|r", "1", kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(ctx, client, t0, t0.Add(time.Hour), WithPrefix(prefix)); !errors.Is(err, ErrMalformed) {
			t.Errorf("field %q = %q: %v; want ErrMalformed", kv[0], kv[1], err)
		}
		client.Del(ctx, key)
	}
	// And a tenant whose ID could collide with another's fields, with the
	// overflow row or with the hash tag cannot exist.
	for _, id := range []string{"acme|r", "_other", "a{b}", "a,b"} {
		if err := tenant.ValidateID(id); err == nil {
			t.Errorf("tenant ID %q is valid; its usage fields would collide or break the hash tag", id)
		}
	}
}

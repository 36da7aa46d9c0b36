package redisusage

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/internal/redistest"
)

// TestOutage stops a real redis-server in the middle of a run, across
// four periods: the usage stays buffered, the closed period past the bound
// is dropped and counted exactly, and once the server is back one flush
// sends the rest, including what was metered after the last failure.
func TestOutage(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv.Addr)
	prefix := redistest.Prefix(t)
	clock := newClock(t0.Add(time.Minute))
	u := newUsage(t, clock)
	var log errLog
	f := newFlusher(t, client, u, WithPrefix(prefix), WithMaxClosedPeriods(1), WithErrorHandler(log.handle))
	record(t, u, nil, "acme", "pro", req(0))
	flush(t, f)

	srv.Stop()
	books := []*ledgerBook{newBook(), newBook(), newBook(), newBook()}
	failFlush := func(stage string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.Flush(ctx); !errors.Is(err, ErrFlush) {
			t.Fatalf("%s: flush with Redis down: %v", stage, err)
		}
	}
	for p := range 4 {
		clock.set(t0.Add(time.Duration(p)*time.Hour + 2*time.Minute))
		for i := range 10 * (p + 1) {
			record(t, u, books[p], "acme", "pro", req(i))
			record(t, u, books[p], "globex", "free", req(i+p))
		}
		failFlush("period " + string(rune('0'+p)))
		var buffered Totals
		for q := range p + 1 {
			if q > p-2 || q == p-2 && p < 3 { // held: in the table, or the one closed period allowed
				buffered = sumTotals(buffered, books[q].totals())
			}
		}
		if p < 3 {
			if s := f.Stats(); s.Unflushed != buffered || !s.Dropped.IsZero() {
				t.Fatalf("period %d: stats %+v; want %+v buffered, nothing dropped", p, s, buffered)
			}
		}
	}
	// Period 3 pushed period 0 past the bound of one closed period.
	s := f.Stats()
	if s.Dropped != books[0].totals() || s.DroppedPeriods != 1 || log.count(ErrDropped) != 1 {
		t.Fatalf("stats %+v, %d drops reported; want period 0 dropped: %+v", s, log.count(ErrDropped), books[0].totals())
	}
	var de *DropError
	for _, err := range log.errs {
		if errors.As(err, &de) {
			break
		}
	}
	if de == nil || !de.Start.Equal(t0) || de.Dropped != books[0].totals() {
		t.Fatalf("drop reported as %+v", de)
	}
	if s.Failures != 4*maxAttempts || log.count(ErrFlush) != 4*maxAttempts {
		t.Fatalf("%d failures, %d reported; want %d", s.Failures, log.count(ErrFlush), 4*maxAttempts)
	}
	record(t, u, books[3], "initech", "pro", req(3)) // after the last failure

	srv.Restart() // empty: the test server saves nothing
	flush(t, f)
	if got := read(t, client, prefix, t0); len(got) != 0 {
		t.Fatalf("period 0 after the restart: %+v; want nothing (dropped, and the server lost the rest)", got)
	}
	for p := 1; p < 4; p++ {
		equalUsage(t, "period after the outage", read(t, client, prefix, t0.Add(time.Duration(p)*time.Hour)), books[p].sorted())
	}
	if s := f.Stats(); !s.Unflushed.IsZero() {
		t.Fatalf("unflushed after the outage: %+v", s.Unflushed)
	}
}

func sumTotals(a, b Totals) Totals {
	return Totals{a.Requests + b.Requests, a.HandlerTime + b.HandlerTime, a.BytesIn + b.BytesIn, a.BytesOut + b.BytesOut}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestCloseRedisDown: Close returns within its context when Redis refuses
// connections, and when it hangs (a stalled server and a client whose
// reads ignore context deadlines), reporting what it could not flush.
func TestCloseRedisDown(t *testing.T) {
	stalled := redistest.Start(t)
	cases := []struct {
		name   string
		client redis.UniversalClient
	}{
		{"refused", newClient(t, closedAddr(t))},
		{"stalled", newClient(t, stalled.Addr, func(o *redis.Options) {
			o.ContextTimeoutEnabled = false
			o.ReadTimeout = 3 * time.Second
			o.WriteTimeout = 3 * time.Second
		})},
	}
	stalled.Pause()
	defer stalled.Resume()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock(t0.Add(time.Minute))
			u := newUsage(t, clock)
			f, err := New(tc.client, u, WithInterval(time.Minute), WithFlushTimeout(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			want := newBook()
			for i := range 5 {
				record(t, u, want, "acme", "pro", req(i))
			}
			const limit = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			start := time.Now()
			err = f.Close(ctx)
			took := time.Since(start)
			var de *DropError
			if !errors.As(err, &de) || de.Dropped != want.totals() {
				t.Fatalf("Close: %v; want a DropError with %+v", err, want.totals())
			}
			if took > limit+700*time.Millisecond { // a hang would last the 3 s read timeout
				t.Fatalf("Close took %v with a context of %v", took, limit)
			}
		})
	}
}

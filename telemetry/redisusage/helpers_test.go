package redisusage

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a settable clock for the usage tables.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := new(fakeClock)
	c.set(t)
	return c
}

func (c *fakeClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// t0 is the start of an hour-long period.
var t0 = time.Date(2026, 11, 15, 9, 0, 0, 0, time.UTC)

// newClient returns a client with the settings the package documentation
// asks for, closed when the test ends.
func newClient(t testing.TB, addr string, tune ...func(*redis.Options)) *redis.Client {
	t.Helper()
	o := &redis.Options{
		Addr:                  addr,
		DialTimeout:           250 * time.Millisecond,
		ReadTimeout:           250 * time.Millisecond,
		WriteTimeout:          250 * time.Millisecond,
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
		DialerRetries:         1,
		PoolTimeout:           200 * time.Millisecond,
	}
	for _, f := range tune {
		f(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// newUsage returns a usage table of hour-long periods on clock.
func newUsage(t testing.TB, clock *fakeClock, opts ...telemetry.Option) *telemetry.Usage {
	t.Helper()
	u, err := telemetry.NewUsage(append([]telemetry.Option{telemetry.WithClock(clock.now), telemetry.WithUsagePeriod(telemetry.Every(time.Hour))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// newFlusher returns a Flusher that flushes only when told (the interval
// is half the period) and is closed when the test ends.
func newFlusher(t testing.TB, client redis.UniversalClient, u *telemetry.Usage, opts ...Option) *Flusher {
	t.Helper()
	f, err := New(client, u, append([]Option{WithInterval(30 * time.Minute)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = f.Close(ctx)
	})
	return f
}

func mustTenant(t testing.TB, id, tier string) tenant.Tenant {
	t.Helper()
	tn, err := tenant.New(id, tier)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// ledgerBook is the expected usage, kept beside the usage tables.
type ledgerBook struct {
	mu   sync.Mutex
	rows map[string]telemetry.TenantUsage
}

func newBook() *ledgerBook { return &ledgerBook{rows: make(map[string]telemetry.TenantUsage)} }

func (b *ledgerBook) add(id, tier string, r telemetry.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.rows[id]
	u.TenantID, u.Tier = id, tier
	u.Requests++
	u.HandlerTime += r.Duration
	u.BytesIn += r.RequestBytes
	u.BytesOut += r.ResponseBytes
	b.rows[id] = u
}

func (b *ledgerBook) merge(o *ledgerBook) {
	for _, r := range o.sorted() {
		b.mu.Lock()
		u := b.rows[r.TenantID]
		u.TenantID, u.Tier = r.TenantID, r.Tier
		u.Requests += r.Requests
		u.HandlerTime += r.HandlerTime
		u.BytesIn += r.BytesIn
		u.BytesOut += r.BytesOut
		b.rows[r.TenantID] = u
		b.mu.Unlock()
	}
}

func (b *ledgerBook) sorted() []telemetry.TenantUsage {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]telemetry.TenantUsage, 0, len(b.rows))
	for _, r := range b.rows {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b telemetry.TenantUsage) int { return strings.Compare(a.TenantID, b.TenantID) })
	return out
}

func (b *ledgerBook) totals() Totals {
	var t Totals
	for _, r := range b.sorted() {
		t.add(r)
	}
	return t
}

// record meters one request of tenant id in u and in the book.
func record(t testing.TB, u *telemetry.Usage, b *ledgerBook, id, tier string, r telemetry.Request) {
	u.Record(mustTenant(t, id, tier), r)
	if b != nil {
		b.add(id, tier, r)
	}
}

// req makes a request whose dimensions all derive from n.
func req(n int) telemetry.Request {
	return telemetry.Request{
		Duration:      time.Duration(n+1) * time.Millisecond,
		RequestBytes:  int64(10 * (n + 1)),
		ResponseBytes: int64(100*n + 7),
	}
}

// read reads the period starting at start (an hour long).
func read(t testing.TB, client redis.UniversalClient, prefix string, start time.Time, opts ...Option) []telemetry.TenantUsage {
	t.Helper()
	s, err := Read(context.Background(), client, start, start.Add(time.Hour), append([]Option{WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s.Tenants
}

func equalUsage(t testing.TB, what string, got, want []telemetry.TenantUsage) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func flush(t testing.TB, f *Flusher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// errLog collects the errors a Flusher reports.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (e *errLog) handle(_ context.Context, err error) {
	e.mu.Lock()
	e.errs = append(e.errs, err)
	e.mu.Unlock()
}

func (e *errLog) count(target error) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, err := range e.errs {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

// replyDropper is a TCP proxy in front of a Redis server that, when armed,
// forwards one request but swallows its reply and cuts the connection: the
// server applied the command, the client saw an error.
type replyDropper struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newReplyDropper(t testing.TB, target string) *replyDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &replyDropper{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *replyDropper) Addr() string { return p.ln.Addr().String() }

func (p *replyDropper) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *replyDropper) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.track(c)
		p.track(s)
		p.wg.Add(2)
		go func() { // client to server
			defer p.wg.Done()
			_, _ = io.Copy(s, c)
			s.Close()
		}()
		go func() { // server to client, unless armed
			defer p.wg.Done()
			defer c.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := s.Read(buf)
				if n > 0 && p.armed.CompareAndSwap(true, false) {
					s.Close()
					return
				}
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

func (p *replyDropper) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

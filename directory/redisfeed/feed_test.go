package redisfeed_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/directory/redisfeed"
	"github.com/tenantkit/tenantkit/internal/redistest"
)

var ctx = context.Background()

// newClient returns a client of addrs (one server, or a Cluster's seeds)
// with short timeouts, closed when the test ends.
func newClient(t testing.TB, addrs ...string) redis.UniversalClient {
	t.Helper()
	c := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:        addrs,
		DialTimeout:  250 * time.Millisecond,
		ReadTimeout:  250 * time.Millisecond,
		WriteTimeout: 250 * time.Millisecond,
		MaxRetries:   -1,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// recorder is an Invalidator that records what it was told.
type recorder struct {
	mu     sync.Mutex
	seen   map[string]time.Time // first Invalidate of each ID
	ids    []string             // every Invalidate, in order
	all    int                  // InvalidateAll calls
	notify chan struct{}
}

func newRecorder() *recorder {
	return &recorder{seen: make(map[string]time.Time), notify: make(chan struct{}, 1)}
}

func (r *recorder) Invalidate(id string) {
	now := time.Now()
	r.mu.Lock()
	if _, ok := r.seen[id]; !ok {
		r.seen[id] = now
	}
	r.ids = append(r.ids, id)
	r.mu.Unlock()
	r.signal()
}

func (r *recorder) InvalidateAll() {
	r.mu.Lock()
	r.all++
	r.mu.Unlock()
	r.signal()
}

func (r *recorder) signal() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) allCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all
}

func (r *recorder) seenAt(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.seen[id]
	return at, ok
}

func (r *recorder) invalidated() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// waitUntil waits at most timeout for cond, checked on each call to r.
func (r *recorder) waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-r.notify:
		case <-deadline.C:
			return cond()
		}
	}
	return true
}

func subscribe(t testing.TB, c redis.UniversalClient, channel string, r *recorder, opts ...redisfeed.Option) *redisfeed.Subscriber {
	t.Helper()
	s, err := redisfeed.NewSubscriber(c, channel, r, opts...)
	if err != nil {
		t.Fatalf("NewSubscriber: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitReady(t testing.TB, subs ...*redisfeed.Subscriber) {
	t.Helper()
	for i, s := range subs {
		select {
		case <-s.Ready():
		case <-time.After(5 * time.Second):
			t.Fatalf("subscriber %d not subscribed after 5 s: %+v", i, s.Stats())
		}
	}
}

// percentile returns the p-th percentile (0..1) of ds, sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return ds[int(p*float64(len(ds)-1))]
}

// deliver publishes n IDs on channel through pub, one after the other, and
// returns the time from each Publish call to each recorder's Invalidate.
func deliver(t *testing.T, pub redis.UniversalClient, channel string, n int, recs []*recorder) []time.Duration {
	t.Helper()
	var lat []time.Duration
	for i := range n {
		id := fmt.Sprintf("tenant-%d", i)
		start := time.Now()
		if err := redisfeed.Publish(ctx, pub, channel, id); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		for j, r := range recs {
			var at time.Time
			if !r.waitUntil(2*time.Second, func() bool {
				var ok bool
				at, ok = r.seenAt(id)
				return ok
			}) {
				t.Fatalf("replica %d did not invalidate %s within 2 s", j, id)
			}
			lat = append(lat, at.Sub(start))
		}
	}
	return lat
}

func TestPublishedIDReachesThreeSubscribersWithinOneSecond(t *testing.T) {
	addr := redistest.Addr(t)
	channel := redistest.Prefix(t) + "directory"
	var recs []*recorder
	var subs []*redisfeed.Subscriber
	for range 3 { // three replicas, each with its own client
		r := newRecorder()
		recs = append(recs, r)
		subs = append(subs, subscribe(t, newClient(t, addr), channel, r))
	}
	waitReady(t, subs...)

	const n = 100
	lat := deliver(t, newClient(t, addr), channel, n, recs)
	p50, p99, worst := percentile(lat, 0.5), percentile(lat, 0.99), lat[len(lat)-1]
	t.Logf("feed delivery over %d publishes to 3 subscribers: p50 %v, p99 %v, max %v", n, p50, p99, worst)
	if worst >= time.Second {
		t.Fatalf("slowest delivery took %v, want < 1 s", worst)
	}
	for i, s := range subs {
		st := s.Stats()
		if st.Invalidated != n || st.Malformed != 0 || st.Subscriptions != 1 {
			t.Errorf("subscriber %d: %+v, want %d invalidated, none malformed, one subscription", i, st, n)
		}
	}
}

func TestSubscriptionInvalidatesEverythingFirst(t *testing.T) {
	r := newRecorder()
	s := subscribe(t, newClient(t, redistest.Addr(t)), redistest.Prefix(t)+"c", r)
	waitReady(t, s)
	if got := r.allCount(); got != 1 {
		t.Fatalf("InvalidateAll called %d times at the first subscription, want 1", got)
	}
}

func TestPublishAllInvalidatesEverything(t *testing.T) {
	addr := redistest.Addr(t)
	channel := redistest.Prefix(t) + "c"
	r := newRecorder()
	s := subscribe(t, newClient(t, addr), channel, r)
	waitReady(t, s)
	if err := redisfeed.PublishAll(ctx, newClient(t, addr), channel); err != nil {
		t.Fatal(err)
	}
	if !r.waitUntil(2*time.Second, func() bool { return r.allCount() == 2 }) {
		t.Fatalf("InvalidateAll called %d times, want 2 (subscription, then All)", r.allCount())
	}
	if st := s.Stats(); st.All != 1 {
		t.Errorf("Stats().All = %d, want 1", st.All)
	}
}

// waitResubscribed waits for the target's InvalidateAll count to reach want.
func waitResubscribed(t *testing.T, r *recorder, s *redisfeed.Subscriber, want int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if !r.waitUntil(timeout, func() bool { return r.allCount() >= want }) {
		t.Fatalf("InvalidateAll called %d times after %v, want %d; stats %+v", r.allCount(), timeout, want, s.Stats())
	}
	return time.Since(start)
}

func TestServerRestartResubscribesAndInvalidatesEverything(t *testing.T) {
	srv := redistest.Start(t)
	var mu sync.Mutex
	var errs []error
	r := newRecorder()
	s := subscribe(t, newClient(t, srv.Addr), "feed", r,
		redisfeed.WithBackoff(20*time.Millisecond, 200*time.Millisecond),
		redisfeed.WithErrorHandler(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }))
	waitReady(t, s)

	srv.Stop()
	// Messages published now are lost to the subscriber.
	deadline := time.Now().Add(3 * time.Second)
	for s.Stats().Errors == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Stats().Errors == 0 {
		t.Fatal("no error reported 3 s after the server was killed")
	}
	srv.Restart()
	took := waitResubscribed(t, r, s, 2, 5*time.Second)
	t.Logf("resubscribed and invalidated everything %v after the restart", took)

	if err := redisfeed.Publish(ctx, newClient(t, srv.Addr), "feed", "acme"); err != nil {
		t.Fatal(err)
	}
	if !r.waitUntil(2*time.Second, func() bool { _, ok := r.seenAt("acme"); return ok }) {
		t.Fatal("a message published after the restart was not delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "feed") {
		t.Errorf("error handler got %v, want errors naming the channel", errs)
	}
}

func TestKilledConnectionResubscribesAndInvalidatesEverything(t *testing.T) {
	srv := redistest.Start(t)
	r := newRecorder()
	s := subscribe(t, newClient(t, srv.Addr), "feed", r, redisfeed.WithBackoff(20*time.Millisecond, 200*time.Millisecond))
	waitReady(t, s)
	admin := srv.Client(t)
	for i := 2; i <= 4; i++ {
		n, err := admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Result()
		if err != nil || n != 1 {
			t.Fatalf("CLIENT KILL TYPE pubsub: %d killed, %v; want 1", n, err)
		}
		took := waitResubscribed(t, r, s, i, 5*time.Second)
		t.Logf("kill %d: resubscribed and invalidated everything after %v", i-1, took)
	}
	if st := s.Stats(); st.Subscriptions != 4 || st.Errors != 3 {
		t.Errorf("stats %+v, want 4 subscriptions and 3 errors", st)
	}
}

func TestStalledServerEndsSubscriptionAndResubscribes(t *testing.T) {
	srv := redistest.Start(t)
	var mu sync.Mutex
	var errs []error
	r := newRecorder()
	s := subscribe(t, newClient(t, srv.Addr), "feed", r,
		redisfeed.WithHealthCheck(100*time.Millisecond),
		redisfeed.WithBackoff(20*time.Millisecond, 100*time.Millisecond),
		redisfeed.WithErrorHandler(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }))
	waitReady(t, s)
	srv.Pause()
	time.Sleep(500 * time.Millisecond) // health check, unanswered ping, a retry or two
	srv.Resume()
	waitResubscribed(t, r, s, 2, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(errs) == 0 {
		t.Fatal("no error reported while the server was stalled")
	}
	t.Logf("while stalled: %d errors, first %v", len(errs), errs[0])
}

func TestMalformedMessagesAreIgnoredAndCounted(t *testing.T) {
	addr := redistest.Addr(t)
	channel := redistest.Prefix(t) + "c"
	r := newRecorder()
	s := subscribe(t, newClient(t, addr), channel, r)
	waitReady(t, s)
	pub := newClient(t, addr)
	bad := []string{
		"", "*acme", "acme*", "a b", "acme\n", "../acme", "acme/x", "{acme}", "$acme", "\"acme\"",
		"ünï", "-acme", strings.Repeat("a", 65), strings.Repeat("a", redisfeed.MaxIDLength+1),
		strings.Repeat("x", 1<<20), // a hostile publisher's megabyte
	}
	for _, m := range bad {
		if err := pub.Publish(ctx, channel, m).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := redisfeed.Publish(ctx, pub, channel, "acme"); err != nil {
		t.Fatal(err)
	}
	if !r.waitUntil(2*time.Second, func() bool { _, ok := r.seenAt("acme"); return ok }) {
		t.Fatal("the valid message after the malformed ones was not delivered")
	}
	if got := r.invalidated(); !slices.Equal(got, []string{"acme"}) {
		t.Errorf("invalidated %q, want only acme", got)
	}
	if st := s.Stats(); st.Malformed != uint64(len(bad)) || st.Invalidated != 1 || r.allCount() != 1 {
		t.Errorf("stats %+v, InvalidateAll %d; want %d malformed, 1 invalidated, InvalidateAll only at subscription", st, r.allCount(), len(bad))
	}
}

func TestIDCheckSelectsTheKind(t *testing.T) {
	addr := redistest.Addr(t)
	channel := redistest.Prefix(t) + "apikey"
	r := newRecorder()
	keyID := func(id string) error {
		if !strings.HasPrefix(id, "key_") {
			return errors.New("not a key ID")
		}
		return nil
	}
	s := subscribe(t, newClient(t, addr), channel, r, redisfeed.WithIDCheck(keyID))
	waitReady(t, s)
	pub := newClient(t, addr)
	for _, id := range []string{"acme", "key_abc"} {
		if err := redisfeed.Publish(ctx, pub, channel, id); err != nil {
			t.Fatal(err)
		}
	}
	if !r.waitUntil(2*time.Second, func() bool { _, ok := r.seenAt("key_abc"); return ok }) {
		t.Fatal("key_abc not delivered")
	}
	if got := r.invalidated(); !slices.Equal(got, []string{"key_abc"}) {
		t.Errorf("invalidated %q, want only key_abc", got)
	}
}

func TestPublishRefusesIDsNoSubscriberAccepts(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer c.Close()
	for _, id := range []string{"", redisfeed.All, "a b", "a\x00", "é", strings.Repeat("a", redisfeed.MaxIDLength+1)} {
		if err := redisfeed.Publish(ctx, c, "c", id); !errors.Is(err, redisfeed.ErrInvalidID) {
			t.Errorf("Publish(%q) = %v, want ErrInvalidID", id, err)
		}
	}
	if err := redisfeed.Publish(ctx, nil, "c", "acme"); err == nil {
		t.Error("Publish with a nil client: no error")
	}
	if err := redisfeed.Publish(ctx, c, "", "acme"); err == nil {
		t.Error("Publish on an empty channel: no error")
	}
}

func TestNewSubscriberRefusesInvalidArguments(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	var nilClient *redis.Client
	var nilRec *recorder
	cases := map[string]func() (*redisfeed.Subscriber, error){
		"nil client":       func() (*redisfeed.Subscriber, error) { return redisfeed.NewSubscriber(nil, "c", newRecorder()) },
		"typed-nil client": func() (*redisfeed.Subscriber, error) { return redisfeed.NewSubscriber(nilClient, "c", newRecorder()) },
		"nil target":       func() (*redisfeed.Subscriber, error) { return redisfeed.NewSubscriber(c, "c", nil) },
		"typed-nil target": func() (*redisfeed.Subscriber, error) { return redisfeed.NewSubscriber(c, "c", nilRec) },
		"empty channel":    func() (*redisfeed.Subscriber, error) { return redisfeed.NewSubscriber(c, "", newRecorder()) },
		"nil option":       func() (*redisfeed.Subscriber, error) { return redisfeed.NewSubscriber(c, "c", newRecorder(), nil) },
		"nil check": func() (*redisfeed.Subscriber, error) {
			return redisfeed.NewSubscriber(c, "c", newRecorder(), redisfeed.WithIDCheck(nil))
		},
		"nil handler": func() (*redisfeed.Subscriber, error) {
			return redisfeed.NewSubscriber(c, "c", newRecorder(), redisfeed.WithErrorHandler(nil))
		},
		"zero backoff": func() (*redisfeed.Subscriber, error) {
			return redisfeed.NewSubscriber(c, "c", newRecorder(), redisfeed.WithBackoff(0, time.Second))
		},
		"max under min": func() (*redisfeed.Subscriber, error) {
			return redisfeed.NewSubscriber(c, "c", newRecorder(), redisfeed.WithBackoff(time.Second, time.Millisecond))
		},
		"zero health check": func() (*redisfeed.Subscriber, error) {
			return redisfeed.NewSubscriber(c, "c", newRecorder(), redisfeed.WithHealthCheck(0))
		},
	}
	for name, f := range cases {
		s, err := f()
		if s != nil {
			s.Close()
		}
		if !errors.Is(err, redisfeed.ErrInvalidOption) {
			t.Errorf("%s: err = %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestCloseStopsPromptlyInEveryState(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	timed := func(what string, s *redisfeed.Subscriber) {
		t.Helper()
		start := time.Now()
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: Close still blocked after 2 s", what)
		}
		t.Logf("%s: Close took %v", what, time.Since(start))
		s.Close() // a second Close does nothing
	}

	r := newRecorder()
	s := subscribe(t, c, "feed", r)
	waitReady(t, s)
	timed("subscribed", s)
	if err := redisfeed.Publish(ctx, c, "feed", "acme"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := r.invalidated(); len(got) != 0 {
		t.Errorf("a closed subscriber invalidated %q", got)
	}

	srv.Stop()
	s = subscribe(t, c, "feed", newRecorder(), redisfeed.WithBackoff(time.Second, time.Second))
	time.Sleep(100 * time.Millisecond) // a refused dial, then a backoff of 1 s
	timed("backing off", s)

	srv.Restart()
	srv.Pause()
	s = subscribe(t, c, "feed", newRecorder())
	time.Sleep(100 * time.Millisecond) // subscribed on a stalled server
	timed("stalled server", s)
	srv.Resume()
}

package apikey_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/apikey"
)

// countedStore is a Memory store that counts lookups and can fail or block
// them.
type countedStore struct {
	*apikey.Memory
	gets  atomic.Int64
	mu    sync.Mutex
	fail  error
	block chan struct{} // when not nil, Get waits for it to close
}

func newCountedStore() *countedStore { return &countedStore{Memory: apikey.NewMemory()} }

func (s *countedStore) Get(ctx context.Context, id string) (apikey.Record, error) {
	s.gets.Add(1)
	s.mu.Lock()
	fail, block := s.fail, s.block
	s.mu.Unlock()
	if block != nil {
		<-block
	}
	if fail != nil {
		return apikey.Record{}, fail
	}
	return s.Memory.Get(ctx, id)
}

func (s *countedStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

var errStoreDown = errors.New("store down")

// clock is a fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is a store, a manager and a verifier on one fake clock.
type fixture struct {
	store *countedStore
	clk   *clock
	mgr   *apikey.Manager
	keys  *apikey.Verifier
}

func newFixture(tb testing.TB, opts ...apikey.Option) *fixture {
	tb.Helper()
	f := &fixture{store: newCountedStore(), clk: newClock()}
	opts = append([]apikey.Option{apikey.WithClock(f.clk.Now)}, opts...)
	var err error
	if f.mgr, err = apikey.NewManager(f.store, opts...); err != nil {
		tb.Fatal(err)
	}
	if f.keys, err = apikey.NewVerifier(f.store, opts...); err != nil {
		tb.Fatal(err)
	}
	f.mgr.OnChange(f.keys.Invalidate)
	return f
}

// create issues a key for tenantID.
func (f *fixture) create(tb testing.TB, tenantID string, o apikey.CreateOptions) (string, apikey.Record) {
	tb.Helper()
	key, r, err := f.mgr.Create(context.Background(), tenantID, o)
	if err != nil {
		tb.Fatal(err)
	}
	return key, r
}

package directory_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/directory"
)

// clock is a fake clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

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

// errDown is the failure of a controlled directory that is down.
var errDown = errors.New("test directory down")

// ctlDir is a directory under the test's control: a Memory that counts its
// lookups, and that can fail or hold every lookup until released.
type ctlDir struct {
	*directory.Memory
	calls atomic.Int64
	down  atomic.Bool
	mu    sync.Mutex
	gate  chan struct{} // when not nil, lookups wait for it to close (or ctx)
}

func newCtlDir(entries map[string]directory.Entry) *ctlDir {
	return &ctlDir{Memory: directory.NewMemory(entries)}
}

func (d *ctlDir) Lookup(ctx context.Context, id string) (directory.Entry, error) {
	d.calls.Add(1)
	d.mu.Lock()
	gate := d.gate
	d.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return directory.Entry{}, ctx.Err()
		}
	}
	if d.down.Load() {
		return directory.Entry{}, errDown
	}
	return d.Memory.Lookup(ctx, id)
}

// hold makes lookups wait until the returned func is called.
func (d *ctlDir) hold() (release func()) {
	g := make(chan struct{})
	d.mu.Lock()
	d.gate = g
	d.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			d.gate = nil
			d.mu.Unlock()
			close(g)
		})
	}
}

func newCache(t testing.TB, d directory.Directory, opts ...directory.Option) *directory.Cache {
	t.Helper()
	c, err := directory.NewCache(d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	active    = directory.Entry{Status: directory.Active}
	suspended = directory.Entry{Status: directory.Suspended}
)

package redislimit

import (
	"context"
	"sync/atomic"
	"time"
)

// deadlineTick is how long decisions share one deadline: a decision that
// starts within a tick of another gets the same deadline, so it waits a
// little less than the decision timeout (at least the timeout minus one
// tick), never more.
const deadlineTick = 5 * time.Millisecond

// deadlines hands out the decision timeout as shared deadlines: one timer
// and one channel per tick in which decisions start, instead of a
// context.WithTimeout (four allocations and a timer) per decision.
type deadlines struct {
	timeout time.Duration
	cur     atomic.Pointer[sharedDeadline]
}

type sharedDeadline struct {
	start int64     // unix ns when the tick began
	at    time.Time // start plus the timeout
	done  chan struct{}
}

func (d *deadlines) get(now int64) *sharedDeadline {
	if t := d.cur.Load(); t != nil && now >= t.start && now < t.start+int64(deadlineTick) {
		return t
	}
	start := time.Now()
	n := &sharedDeadline{start: start.UnixNano(), at: start.Add(d.timeout), done: make(chan struct{})}
	time.AfterFunc(d.timeout, func() { close(n.done) })
	d.cur.Store(n)
	return n
}

// boundCtx is a caller's context bounded by a shared deadline. It keeps
// the caller's values (for tracing hooks) and ends at the deadline only:
// a caller that gives up early sees its own error once the decision
// returns, at most the decision timeout later (Take checks the caller's
// context before it asks Redis).
type boundCtx struct {
	context.Context
	d *sharedDeadline
}

func (c *boundCtx) Deadline() (time.Time, bool) { return c.d.at, true }
func (c *boundCtx) Done() <-chan struct{}       { return c.d.done }

func (c *boundCtx) Err() error {
	select {
	case <-c.d.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

package redisfeed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/internal/nilarg"
)

// Invalidator is a cache the feed invalidates: the tenant directory's
// cache, the API-key verifier's.
type Invalidator interface {
	// Invalidate drops the entry of one ID.
	Invalidate(id string)
	// InvalidateAll drops every entry.
	InvalidateAll()
}

// Publish sends id on channel, so that every [Subscriber] of the channel
// invalidates it. Delivery is at most once: a Subscriber that is not
// connected misses the message and invalidates everything when it
// subscribes again.
func Publish(ctx context.Context, client redis.UniversalClient, channel, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	return publish(ctx, client, channel, id)
}

// PublishAll sends [All] on channel, so that every [Subscriber] of the
// channel invalidates every entry.
func PublishAll(ctx context.Context, client redis.UniversalClient, channel string) error {
	return publish(ctx, client, channel, All)
}

func publish(ctx context.Context, client redis.UniversalClient, channel, msg string) error {
	if err := nilarg.Check("redisfeed: Publish", "the client", client); err != nil {
		return err
	}
	if channel == "" {
		return errors.New("redisfeed: Publish: empty channel")
	}
	if err := client.Publish(ctx, channel, msg).Err(); err != nil {
		return fmt.Errorf("redisfeed: publish on %s: %w", channel, err)
	}
	return nil
}

// checkID is the syntax every kind of ID shares.
func checkID(id string) error {
	if id == "" || len(id) > MaxIDLength || id == All {
		return fmt.Errorf("%w: %d bytes", ErrInvalidID, len(id))
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return fmt.Errorf("%w: byte %d is %#x", ErrInvalidID, i, id[i])
		}
	}
	return nil
}

// Stats counts what a [Subscriber] received.
type Stats struct {
	Invalidated   uint64 // messages that invalidated one ID
	All           uint64 // messages that invalidated everything
	Malformed     uint64 // messages ignored: an ID failing the check, or too long
	Subscriptions uint64 // subscriptions confirmed, the first included; each invalidated everything
	Errors        uint64 // subscriptions lost or not made
}

// Subscriber keeps a subscription to one channel and invalidates its
// target on each message. Each time the subscription is confirmed, the
// first time included, it calls the target's InvalidateAll, since
// messages published while it was not subscribed are lost.
type Subscriber struct {
	client  redis.UniversalClient
	channel string
	target  Invalidator
	cfg     config

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	cur    *redis.PubSub

	ready     chan struct{}
	readyOnce sync.Once
	stopped   chan struct{}

	invalidated, all, malformed, subscriptions, errs atomic.Uint64
}

// stateReloader is implemented by *redis.ClusterClient.
type stateReloader interface{ ReloadState(ctx context.Context) }

// errStale ends a subscription whose health-check ping went unanswered.
var errStale = errors.New("redisfeed: no reply to the health check")

// NewSubscriber subscribes to channel through client (a server, a Cluster,
// Sentinel) and invalidates target on each message, in the background,
// until Close. A lost subscription is made again after a bounded backoff.
func NewSubscriber(client redis.UniversalClient, channel string, target Invalidator, opts ...Option) (*Subscriber, error) {
	if err := nilarg.Check("redisfeed: NewSubscriber", "the client", client); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	if err := nilarg.Check("redisfeed: NewSubscriber", "the target", target); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	if channel == "" {
		return nil, fmt.Errorf("%w: redisfeed: NewSubscriber: empty channel", ErrInvalidOption)
	}
	cfg := newConfig(opts)
	if cfg.err != nil {
		return nil, fmt.Errorf("redisfeed: NewSubscriber: %w", cfg.err)
	}
	s := &Subscriber{
		client:  client,
		channel: channel,
		target:  target,
		cfg:     cfg,
		ready:   make(chan struct{}),
		stopped: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s, nil
}

// Ready returns a channel closed once the first subscription is confirmed.
func (s *Subscriber) Ready() <-chan struct{} { return s.ready }

// Stats returns the counts so far.
func (s *Subscriber) Stats() Stats {
	return Stats{
		Invalidated:   s.invalidated.Load(),
		All:           s.all.Load(),
		Malformed:     s.malformed.Load(),
		Subscriptions: s.subscriptions.Load(),
		Errors:        s.errs.Load(),
	}
}

// Close ends the subscription and waits for the Subscriber's goroutine to
// return. It does not close the client. Later calls do nothing.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.cancel()
		if s.cur != nil {
			_ = s.cur.Close() // ends a read in progress
		}
	}
	s.mu.Unlock()
	<-s.stopped
	return nil
}

func (s *Subscriber) run() {
	defer close(s.stopped)
	failures := 0
	for {
		ps := s.client.Subscribe(s.ctx, s.channel)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = ps.Close()
			return
		}
		s.cur = ps
		s.mu.Unlock()

		// go-redis redials once by itself when a read fails; closing ps
		// after the session ends keeps every later attempt here, behind
		// the backoff.
		subscribed, err := s.session(ps)

		s.mu.Lock()
		s.cur = nil
		closed := s.closed
		s.mu.Unlock()
		_ = ps.Close()
		if closed {
			return
		}
		s.errs.Add(1)
		s.cfg.onError(fmt.Errorf("redisfeed: subscription to %s: %w", s.channel, err))
		// A ClusterClient subscribes on the master of the channel's slot as
		// its slot map names it, and nothing else refreshes that map: after
		// a failover it would dial the dead master until its periodic
		// reload. Non-sharded messages reach every node, so any master
		// would do; asking for a reload finds the promoted one.
		if r, ok := s.client.(stateReloader); ok {
			r.ReloadState(s.ctx)
		}
		if subscribed {
			failures = 0
		}
		if !s.sleep(backoff(s.cfg.minBackoff, s.cfg.maxBackoff, failures)) {
			return
		}
		failures++
	}
}

// backoff returns min doubled failures times, at most max.
func backoff(lo, hi time.Duration, failures int) time.Duration {
	d := lo
	for range failures {
		if d >= hi/2 {
			return hi
		}
		d *= 2
	}
	return min(d, hi)
}

// sleep waits d or until Close, and reports whether it was not closed.
func (s *Subscriber) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// session reads ps until an error, and reports whether the subscription
// was confirmed.
func (s *Subscriber) session(ps *redis.PubSub) (subscribed bool, err error) {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(s.ctx, s.cfg.health)
		if err != nil {
			if !isTimeout(err) {
				return subscribed, err
			}
			if pinged {
				return subscribed, errStale
			}
			if err := ps.Ping(s.ctx); err != nil {
				return subscribed, err
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == s.channel {
				subscribed = true
				s.subscriptions.Add(1)
				s.target.InvalidateAll()
				s.readyOnce.Do(func() { close(s.ready) })
			}
		case *redis.Message:
			s.handle(m)
		}
	}
}

// handle invalidates what m names. It keeps nothing of m.
func (s *Subscriber) handle(m *redis.Message) {
	id := m.Payload
	switch {
	case m.Channel != s.channel || m.PayloadSlice != nil:
		s.malformed.Add(1)
	case id == All:
		s.all.Add(1)
		s.target.InvalidateAll()
	case len(id) > MaxIDLength || s.cfg.check(id) != nil:
		s.malformed.Add(1)
	default:
		s.invalidated.Add(1)
		s.target.Invalidate(id)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

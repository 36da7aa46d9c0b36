package redislimit

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// breaker is the failure state of one Redis node (or of the one server
// that a non-cluster client reaches): after a node fault, decisions on
// that node apply their plan's failure policy without asking Redis for the
// retry interval, then one request probes it again.
type breaker struct {
	until atomic.Int64 // unix ns until which the node is not asked; 0 when up
}

// skip reports whether the node failed less than interval ago. When the
// interval is over, one caller is let through to probe it and the others
// keep skipping until the probe answers or fails.
func (b *breaker) skip(now int64, interval time.Duration) bool {
	until := b.until.Load()
	if until == 0 {
		return false
	}
	if now < until {
		return true
	}
	return !b.until.CompareAndSwap(until, now+int64(interval))
}

func (b *breaker) trip(now int64, interval time.Duration) { b.until.Store(now + int64(interval)) }

func (b *breaker) reset() {
	if b.until.Load() != 0 {
		b.until.Store(0)
	}
}

// maxBreakers bounds the per-node breakers of a cluster client; nodes come
// and go with failovers and resharding.
const maxBreakers = 1024

// nodeBreakers holds one breaker per master node of a Redis Cluster.
type nodeBreakers struct {
	cluster *redis.ClusterClient
	m       sync.Map // *redis.Client (a master's client) -> *breaker
	n       atomic.Int64
}

// breakerFor returns the breaker of the node serving redisKey: with a
// cluster client the master that its slot map names for the key's slot,
// otherwise the limiter's one breaker.
func (l *Limiter) breakerFor(ctx context.Context, redisKey string) *breaker {
	nb := l.nodes
	if nb == nil {
		return &l.one
	}
	node, err := nb.cluster.MasterForKey(ctx, redisKey)
	if err != nil || node == nil {
		return &l.one // no slot map yet: the cluster as a whole
	}
	if v, ok := nb.m.Load(node); ok {
		return v.(*breaker)
	}
	v, loaded := nb.m.LoadOrStore(node, new(breaker))
	if !loaded && nb.n.Add(1) > maxBreakers {
		nb.m.Clear()
		nb.n.Store(0)
	}
	return v.(*breaker)
}

// reloadInterval is the least time between two cluster slot-map reloads
// that the limiter asks for.
const reloadInterval = 500 * time.Millisecond

// reload asks a cluster client to reload its slot map (in the background),
// at most once per reloadInterval: go-redis reloads it on MOVED replies
// and once a minute, but not when a master it routes to is gone.
func (l *Limiter) reload(now int64) {
	if l.reloader == nil {
		return
	}
	last := l.lastReload.Load()
	if now-last < int64(reloadInterval) || !l.lastReload.CompareAndSwap(last, now) {
		return
	}
	l.reloader.ReloadState(context.Background())
}

// nodeFault reports whether err says that the node (or the way to it)
// failed, rather than this one decision: transport errors and timeouts
// (dial, read and write errors, EOF, connection refused or reset, pool
// timeouts, the decision timeout), and the error replies of a node that
// cannot serve any decision now: LOADING (restarting), READONLY (a replica,
// after a failover the client has not seen yet), MASTERDOWN (a replica
// that lost its master) and CLUSTERDOWN. Any other error reply (OOM, a
// script error, TRYAGAIN during a slot migration, MOVED or ASK left after
// the client's redirects) fails only its own decision.
func nodeFault(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, redis.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	case redis.IsLoadingError(err), redis.IsReadOnlyError(err),
		redis.IsMasterDownError(err), redis.IsClusterDownError(err):
		return true
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return false
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

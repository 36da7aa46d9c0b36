package redisusage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/telemetry"
)

// Totals sums usage over tenants.
type Totals struct {
	Requests    int64
	HandlerTime time.Duration
	BytesIn     int64
	BytesOut    int64
}

func (t *Totals) add(u telemetry.TenantUsage) {
	t.Requests += u.Requests
	t.HandlerTime += u.HandlerTime
	t.BytesIn += u.BytesIn
	t.BytesOut += u.BytesOut
}

// IsZero reports whether t holds no usage.
func (t Totals) IsZero() bool { return t == Totals{} }

// Stats counts what a [Flusher] did.
type Stats struct {
	Flushes    uint64 // flushes that left no usage unconfirmed
	Failures   uint64 // flush attempts Redis did not confirm (each retry counts)
	Batches    uint64 // batches Redis applied (one per period with new usage per flush)
	Duplicates uint64 // batches Redis had applied already: resends after a lost reply
	// Folded counts tenant rows that Redis added to the overflow row
	// because the period already held the fleet-wide bound of tenants.
	Folded uint64
	// Unflushed is the usage not yet confirmed by Redis, as of the end of
	// the last flush.
	Unflushed Totals
	// Dropped is the usage given up past [WithMaxClosedPeriods], in
	// DroppedPeriods periods; each drop is also reported to the error
	// handler.
	Dropped        Totals
	DroppedPeriods uint64
}

// Flusher adds the usage metered by one [telemetry.Usage] to the fleet's
// shared totals in Redis, in batches: every interval, one pipeline with one
// script call per period with new usage and 200 tenants. It is safe for
// concurrent use.
// Create it with [New] and call [Flusher.Close] at shutdown.
type Flusher struct {
	// The Flusher reads the usage table's own cumulative counters (its
	// Current and Previous snapshots) and sends the difference from what
	// Redis confirmed, so the request path pays nothing for it, and what
	// is not yet flushed is buffered by the table itself, under the
	// table's tenant bound and overflow row. Only a closed period that
	// left the table before its usage was confirmed is held here, up to
	// maxClosed periods.
	//
	// Delivery is exactly once as long as Redis keeps its data: a period's
	// flush is cut into chunks of chunkRows tenants, each carrying the
	// flush's per-replica, per-period sequence number, which the script
	// records per chunk index with the counts, atomically, so a chunk
	// resent after a lost reply is recognised and skipped. A flush's
	// chunks are frozen until Redis confirms them (one unconfirmed flush
	// per period at a time), and usage metered meanwhile goes into the
	// next flush, made as soon as they are confirmed.

	client     redis.UniversalClient
	usage      *telemetry.Usage
	prefix     string
	interval   time.Duration
	timeout    time.Duration
	retention  time.Duration
	maxTenants int
	maxClosed  int
	replica    string
	onError    func(ctx context.Context, err error)

	sem     chan struct{} // held by the one flush that runs
	mu      sync.Mutex    // guards ledgers and their contents; never held across a round trip
	ledgers []*ledger     // sorted by period start

	reg       metric.Registration
	closed    atomic.Bool
	closeOnce sync.Once
	stop      context.CancelFunc // ends the periodic flushes
	loopDone  chan struct{}

	statsMu sync.Mutex
	stats   Stats
}

// ledger is what the Flusher knows of one period.
type ledger struct {
	start, end time.Time
	keys       []string // the usage hash and the sequence hash
	// last is the period's latest snapshot from the usage table; once the
	// period has left the table (live false), its final one.
	last   []telemetry.TenantUsage
	live   bool
	acked  map[string]telemetry.TenantUsage // cumulative usage (and tier) Redis confirmed
	folded map[string]bool                  // tenants Redis added to the overflow row
	seq    int64                            // sequence number of the last flush made
	// pending holds the unconfirmed chunks of the last flush made; until
	// they are all confirmed, no new flush of the period is made.
	pending []*batch
}

// A batch is one chunk of a period's flush: one script call.
type batch struct {
	l     *ledger
	seq   int64
	chunk int
	rows  []telemetry.TenantUsage // deltas
	args  []any
	done  bool // confirmed
}

// New returns a Flusher that flushes u's usage to client every interval
// ([WithInterval]) until [Flusher.Close]. The client is a
// redis.UniversalClient (a server, Cluster or Sentinel); the package
// documentation lists the settings it needs. A nil argument, an invalid
// option, or an interval longer than half of u's period is an error
// wrapping [ErrInvalidOption].
func New(client redis.UniversalClient, u *telemetry.Usage, opts ...Option) (*Flusher, error) {
	c := newConfig(false, opts)
	if c.err != nil {
		return nil, c.err
	}
	if err := nilarg.Check("redisusage: New", "the client", client); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	if u == nil {
		return nil, fmt.Errorf("%w: redisusage: New: a nil *telemetry.Usage", ErrInvalidOption)
	}
	// A period must be seen at least once as the table's previous one,
	// with its final counts, before it leaves the table.
	if s := u.Current(); c.interval > s.End.Sub(s.Start)/2 {
		return nil, fmt.Errorf("%w: WithInterval(%v): more than half of the usage period (%v)", ErrInvalidOption, c.interval, s.End.Sub(s.Start))
	}
	if c.replica == "" {
		var b [12]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		c.replica = hex.EncodeToString(b[:])
	}
	f := &Flusher{
		client:     client,
		usage:      u,
		prefix:     c.prefix,
		interval:   c.interval,
		timeout:    c.timeout,
		retention:  c.retention,
		maxTenants: c.maxTenants,
		maxClosed:  c.maxClosed,
		replica:    c.replica,
		onError:    c.onError,
		sem:        make(chan struct{}, 1),
		loopDone:   make(chan struct{}),
	}
	reg, err := f.register(c.mp)
	if err != nil {
		return nil, fmt.Errorf("redisusage: New: instruments: %w", err)
	}
	f.reg = reg
	ctx, stop := context.WithCancel(context.Background())
	f.stop = stop
	go f.loop(ctx)
	return f, nil
}

// ReplicaID returns the Flusher's name in Redis.
func (f *Flusher) ReplicaID() string { return f.replica }

func (f *Flusher) loop(ctx context.Context) {
	defer close(f.loopDone)
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fctx, cancel := context.WithTimeout(ctx, f.timeout)
		_ = f.flush(fctx) // reported to the error handler
		cancel()
	}
}

// Flush sends the usage metered since the last confirmed flush now, and
// returns when Redis confirmed it, or with an error wrapping [ErrFlush] (the
// usage stays buffered) or ctx's error. It retries a few times with backoff
// within ctx.
func (f *Flusher) Flush(ctx context.Context) error {
	if f.closed.Load() {
		return ErrClosed
	}
	return f.flush(ctx)
}

// Close stops the periodic flushes and flushes what is left, within ctx.
// If Redis did not confirm everything by then, it returns an error
// wrapping [ErrDropped] (a [*DropError] with the unconfirmed totals and a
// zero period) and the flush's error. It returns when ctx ends at the
// latest; a flush still waiting for a reply then ends by the client's
// timeouts, and may still reach Redis, so the totals reported bound what
// is lost. Later calls return [ErrClosed].
func (f *Flusher) Close(ctx context.Context) error {
	first := false
	f.closeOnce.Do(func() { first = true })
	if !first {
		return ErrClosed
	}
	f.closed.Store(true)
	f.stop()
	<-f.loopDone // prompt: the loop's flush returns when its context ends
	err := f.flush(ctx)
	// The instruments keep reporting until the last flush ended.
	defer func() { _ = f.reg.Unregister() }()
	if err == nil {
		return nil
	}
	left := f.unflushed(ctx)
	if left.IsZero() {
		return nil
	}
	return errors.Join(&DropError{Dropped: left, Reason: "not confirmed by Redis when Close returned"}, err)
}

// unflushed returns the usage Redis has not confirmed.
func (f *Flusher) unflushed(ctx context.Context) Totals {
	// A flush may still wait for its reply; what it gets confirmed later
	// is then counted here too.
	f.observe(ctx)
	f.mu.Lock()
	left := f.pending()
	f.mu.Unlock()
	f.statsMu.Lock()
	f.stats.Unflushed = left
	f.statsMu.Unlock()
	return left
}

// pending sums the usage of every period Redis has not confirmed; f.mu
// is held.
func (f *Flusher) pending() Totals {
	var left Totals
	for _, l := range f.ledgers {
		for _, d := range l.deltas() {
			left.add(d)
		}
	}
	return left
}

// Stats returns the counts so far.
func (f *Flusher) Stats() Stats {
	f.statsMu.Lock()
	defer f.statsMu.Unlock()
	return f.stats
}

// flush runs one flush on a goroutine of its own, holding the semaphore,
// and returns when it ends or ctx does. A go-redis client whose context
// deadlines do not cut a read in progress (ContextTimeoutEnabled false)
// keeps the goroutine until its own timeouts; the caller returns anyway.
func (f *Flusher) flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-f.sem }()
		done <- f.flushLocked(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *Flusher) flushLocked(ctx context.Context) error {
	f.observe(ctx)
	var err error
	// A round resends the batches Redis did not confirm last time, and
	// makes new ones for the other periods; when it resent any, a second
	// round sends what was metered meanwhile.
	for range 2 {
		f.mu.Lock()
		batches, resent := f.prepare()
		f.mu.Unlock()
		if len(batches) == 0 {
			break
		}
		if err = f.send(ctx, batches); err != nil || !resent {
			break
		}
	}
	f.mu.Lock()
	f.gc()
	left := f.pending()
	f.mu.Unlock()
	f.statsMu.Lock()
	f.stats.Unflushed = left
	if err == nil {
		f.stats.Flushes++
	}
	f.statsMu.Unlock()
	return err
}

// observe takes the usage table's snapshots into the ledgers, and drops
// the oldest closed periods past the bound.
func (f *Flusher) observe(ctx context.Context) {
	snaps := []telemetry.UsageSnapshot{f.usage.Current()}
	if prev, ok := f.usage.Previous(); ok {
		snaps = append(snaps, prev)
	}
	var drops []error
	defer func() {
		for _, err := range drops {
			f.report(ctx, err)
		}
	}()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.ledgers {
		l.live = false
	}
	for _, s := range snaps {
		// When the period changed between the two calls, both snapshots
		// may be of one period; the second is the later.
		l := f.ledger(s.Start, s.End)
		l.last, l.live = s.Tenants, true
	}
	f.gc()
	closed := 0
	for _, l := range f.ledgers {
		if !l.live {
			closed++
		}
	}
	for i := 0; closed > f.maxClosed && i < len(f.ledgers); {
		l := f.ledgers[i]
		if l.live {
			i++
			continue
		}
		var lost Totals
		for _, d := range l.deltas() {
			lost.add(d)
		}
		f.ledgers = slices.Delete(f.ledgers, i, i+1)
		closed--
		f.statsMu.Lock()
		f.stats.Dropped.Requests += lost.Requests
		f.stats.Dropped.HandlerTime += lost.HandlerTime
		f.stats.Dropped.BytesIn += lost.BytesIn
		f.stats.Dropped.BytesOut += lost.BytesOut
		f.stats.DroppedPeriods++
		f.statsMu.Unlock()
		drops = append(drops, &DropError{Start: l.start, End: l.end, Dropped: lost, Reason: "closed periods past the bound"})
	}
}

// ledger returns the ledger of the period [start, end), making it.
func (f *Flusher) ledger(start, end time.Time) *ledger {
	i, found := slices.BinarySearchFunc(f.ledgers, start, func(l *ledger, t time.Time) int { return l.start.Compare(t) })
	if found && f.ledgers[i].end.Equal(end) {
		return f.ledgers[i]
	}
	key := periodKey(f.prefix, start, end)
	// Sequence numbers start from the clock (µs, exact in a Lua double),
	// so that a replica restarted under the same ID (WithReplicaID)
	// continues above what its earlier life recorded instead of having
	// its flushes taken for resends.
	l := &ledger{start: start, end: end, keys: []string{key, key + seqSuffix},
		acked: make(map[string]telemetry.TenantUsage), folded: make(map[string]bool),
		seq: time.Now().UnixMicro()}
	f.ledgers = slices.Insert(f.ledgers, i, l)
	return l
}

// gc forgets the closed periods whose usage Redis confirmed.
func (f *Flusher) gc() {
	f.ledgers = slices.DeleteFunc(f.ledgers, func(l *ledger) bool {
		return !l.live && len(l.pending) == 0 && len(l.deltas()) == 0
	})
}

// deltas returns the usage of l's last snapshot that Redis has not
// confirmed, one row per tenant with some.
func (l *ledger) deltas() []telemetry.TenantUsage {
	var out []telemetry.TenantUsage
	for _, r := range l.last {
		a := l.acked[r.TenantID]
		d := telemetry.TenantUsage{
			TenantID:    r.TenantID,
			Tier:        r.Tier,
			Requests:    max(r.Requests-a.Requests, 0),
			HandlerTime: max(r.HandlerTime-a.HandlerTime, 0),
			BytesIn:     max(r.BytesIn-a.BytesIn, 0),
			BytesOut:    max(r.BytesOut-a.BytesOut, 0),
		}
		if d.Requests != 0 || d.HandlerTime != 0 || d.BytesIn != 0 || d.BytesOut != 0 {
			out = append(out, d)
		}
	}
	return out
}

// prepare returns the batches to send: each period's unconfirmed batch,
// or a new one of its deltas; resent says whether any is a resend.
func (f *Flusher) prepare() (batches []*batch, resent bool) {
	for _, l := range f.ledgers {
		if len(l.pending) > 0 {
			batches = append(batches, l.pending...)
			resent = true
			continue
		}
		rows := l.deltas()
		if len(rows) == 0 {
			continue
		}
		l.seq++
		for c := 0; len(rows) > 0; c++ {
			n := min(len(rows), chunkRows)
			b := &batch{l: l, seq: l.seq, chunk: c, rows: rows[:n:n]}
			b.args = f.args(b)
			l.pending = append(l.pending, b)
			rows = rows[n:]
		}
		batches = append(batches, l.pending...)
	}
	return batches, resent
}

func (f *Flusher) args(b *batch) []any {
	l, rows := b.l, b.rows
	// Keys expire a retention after the period's end, in whole seconds,
	// rounded up.
	exp := l.end.Add(f.retention)
	expSec := exp.Unix()
	if exp.After(time.Unix(expSec, 0)) {
		expSec++
	}
	args := make([]any, 0, fixedArgs+rowArgs*len(rows))
	args = append(args, f.replica, strconv.FormatInt(b.seq, 10), strconv.FormatInt(expSec, 10),
		strconv.Itoa(f.maxTenants), telemetry.OverflowTenantID, strconv.Itoa(b.chunk))
	for _, r := range rows {
		// A tenant this replica flushed before has its row: the script
		// skips the bound's check. The tier goes only when it changed.
		a, known := l.acked[r.TenantID]
		knownArg, tier := "0", r.Tier
		if known && !l.folded[r.TenantID] {
			knownArg = "1"
		}
		if known && a.Tier == r.Tier {
			tier = ""
		}
		args = append(args, r.TenantID, knownArg, tier,
			strconv.FormatInt(r.Requests, 10), strconv.FormatInt(int64(r.HandlerTime), 10),
			strconv.FormatInt(r.BytesIn, 10), strconv.FormatInt(r.BytesOut, 10))
	}
	return args
}

// send sends batches in one pipeline, retrying what Redis did not confirm
// up to maxAttempts times with backoff within ctx.
func (f *Flusher) send(ctx context.Context, batches []*batch) error {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		err := f.exec(ctx, batches)
		if err == nil {
			return nil
		}
		if f.closed.Load() && errors.Is(ctx.Err(), context.Canceled) {
			// Close stopped the periodic flush it interrupted: not a
			// failure of Redis. What it did not confirm stays pending,
			// and Close's own flush resends it (the sequence numbers
			// make that count once).
			return err
		}
		err = fmt.Errorf("%w: %w", ErrFlush, err)
		f.statsMu.Lock()
		f.stats.Failures++
		f.statsMu.Unlock()
		f.report(ctx, err)
		if attempt >= maxAttempts || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		backoff *= 2
		f.mu.Lock()
		batches = slices.DeleteFunc(batches, func(b *batch) bool { return b.done })
		f.mu.Unlock()
	}
}

// exec runs one pipeline of batches (EVALSHA, then EVAL for those that
// met NOSCRIPT: a resend is harmless) and confirms each batch Redis
// applied or had applied; it returns the first error.
func (f *Flusher) exec(ctx context.Context, batches []*batch) error {
	cmds := f.pipeline(ctx, batches, false)
	var retry []*batch
	var firstErr error
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			retry = append(retry, batches[i])
			continue
		}
		if err := f.confirm(batches[i], cmd); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if len(retry) > 0 {
		for i, cmd := range f.pipeline(ctx, retry, true) {
			if err := f.confirm(retry[i], cmd); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

func (f *Flusher) pipeline(ctx context.Context, batches []*batch, eval bool) []*redis.Cmd {
	pipe := f.client.Pipeline()
	cmds := make([]*redis.Cmd, len(batches))
	for i, b := range batches {
		if eval {
			cmds[i] = addScript.Eval(ctx, pipe, b.l.keys, b.args...)
		} else {
			cmds[i] = addScript.EvalSha(ctx, pipe, b.l.keys, b.args...)
		}
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	return cmds
}

// confirm applies the reply of b's script call: {1, the IDs of the
// tenants folded into the overflow row...} or {0} for a duplicate.
func (f *Flusher) confirm(b *batch, cmd *redis.Cmd) error {
	r, err := cmd.Slice()
	if err != nil {
		return err
	}
	if len(r) == 0 {
		return errors.New("empty script reply")
	}
	applied, ok := r[0].(int64)
	if !ok {
		return fmt.Errorf("unexpected script reply %v", r)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	l := b.l
	for _, id := range r[1:] {
		if id, ok := id.(string); ok {
			l.folded[id] = true
		}
	}
	for _, d := range b.rows {
		a := l.acked[d.TenantID]
		a.TenantID, a.Tier = d.TenantID, d.Tier
		a.Requests += d.Requests
		a.HandlerTime += d.HandlerTime
		a.BytesIn += d.BytesIn
		a.BytesOut += d.BytesOut
		l.acked[d.TenantID] = a
	}
	b.done = true
	l.pending = slices.DeleteFunc(l.pending, func(p *batch) bool { return p == b })
	f.statsMu.Lock()
	if applied == 1 {
		f.stats.Batches++
	} else {
		f.stats.Duplicates++
	}
	f.stats.Folded += uint64(len(r) - 1)
	f.statsMu.Unlock()
	return nil
}

func (f *Flusher) report(ctx context.Context, err error) {
	if f.onError != nil {
		f.onError(ctx, err)
	}
}

// seqSuffix ends the key of a period's sequence hash.
const seqSuffix = ":seq"

// periodKey returns the key of the usage hash of the period [start, end):
// the period in braces is its Redis Cluster hash tag, shared by its
// sequence hash.
func periodKey(prefix string, start, end time.Time) string {
	return prefix + "{" + start.UTC().Format(time.RFC3339Nano) + "," + end.UTC().Format(time.RFC3339Nano) + "}"
}

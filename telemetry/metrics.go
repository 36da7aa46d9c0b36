package telemetry

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tenantkit/tenantkit/tenant"
)

// Instrument names. Every instrument carries tenant.id ([TenantIDKey]) and,
// when the tenant has one, tenant.tier ([TenantTierKey]); requests without
// a tenant are recorded without either. Tenants past the cardinality bound
// are recorded under tenant.id [OverflowTenantID].
const (
	// RequestsName counts handled requests (unit {request}), with attribute
	// outcome ([Outcome]).
	RequestsName = "tenantkit.server.requests"
	// DurationName is a histogram of the handler time of each request in
	// seconds (unit s), with attribute outcome. Its bucket boundaries are
	// those of the OpenTelemetry HTTP server duration.
	DurationName = "tenantkit.server.duration"
	// RequestSizeName counts request body bytes read by the handler (unit
	// By), with attribute outcome. For gRPC it is the encoded size of the
	// received messages.
	RequestSizeName = "tenantkit.server.request.size"
	// ResponseSizeName counts response body bytes written (unit By), with
	// attribute outcome. For gRPC it is the encoded size of the sent
	// messages.
	ResponseSizeName = "tenantkit.server.response.size"
	// RateLimitDecisionsName counts rate-limit decisions (unit {decision}),
	// with attributes outcome and reason as the limiter reports them.
	RateLimitDecisionsName = "tenantkit.ratelimit.decisions"
	// RateLimitBackendErrorsName counts errors of the shared limiter's
	// backend (unit {error}), with attribute outcome: what the failure
	// policy did with the request.
	RateLimitBackendErrorsName = "tenantkit.ratelimit.backend.errors"
)

// Outcome classifies a handled request on the request metrics. Its string
// form is the value of the outcome attribute.
type Outcome uint8

// The request outcomes. The transports map their status to one of them:
// HTTP 1xx-3xx and gRPC OK are OutcomeOK; HTTP 429 and gRPC
// ResourceExhausted are OutcomeRateLimited; other HTTP 4xx and the gRPC codes
// that blame the caller are OutcomeClientError; HTTP 5xx and the gRPC codes
// that blame the server are OutcomeServerError.
const (
	OutcomeOK          Outcome = iota // "ok"
	OutcomeClientError                // "client_error"
	OutcomeRateLimited                // "rate_limited"
	OutcomeServerError                // "server_error"
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "client_error", "rate_limited", "server_error"}

// String returns the attribute value of o.
func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "server_error"
}

// Request describes one handled request for [Metrics.RecordRequest] and
// [Usage.Record].
type Request struct {
	Duration      time.Duration // handler time
	RequestBytes  int64         // request body bytes read
	ResponseBytes int64         // response body bytes written
	Outcome       Outcome
	// End is when the request finished; the usage table meters the request
	// in the period that contains End. Zero means the usage table's clock.
	End time.Time
}

// Metrics records the per-tenant metrics. It is safe for concurrent use;
// create one per process (or per MeterProvider) with [NewMetrics] and share
// it.
//
// The first N distinct tenants recorded (N is [DefaultMaxTenants] unless
// [WithMaxTenants] says otherwise) get series of their own for the life of
// the Metrics; every later tenant is recorded under tenant.id
// [OverflowTenantID] with its tier. Give the SDK's MeterProvider a
// cardinality limit of at least [SDKCardinalityLimit].
type Metrics struct {
	// Nothing is evicted: with cumulative temporality the SDK keeps
	// exporting a series it has seen, so evicting would free nothing
	// downstream. Tiers past maxOverflowTiers distinct ones fold into
	// OverflowTenantID too. A tenant whose tier changes gets a new series
	// with the new tier, in the same slot. Memory is bounded by N, the
	// number of tiers and the (outcome, reason) pairs of the rate-limit
	// metrics (at most 16 each; later pairs fold into OverflowTenantID).
	// The attribute sets of an admitted tenant are built once, so
	// recording allocates nothing in tenantkit's code.
	//
	// The three request counters are kept here, in atomic counts per
	// series and outcome, and reported through observable counters when
	// the SDK collects (reg lists every series for the callback): a
	// request costs three atomic adds and one histogram record, not four
	// SDK calls. What is exported is the same cumulative sums.

	requests        metric.Int64ObservableCounter
	duration        metric.Float64Histogram
	requestSize     metric.Int64ObservableCounter
	responseSize    metric.Int64ObservableCounter
	rlDecisions     metric.Int64Counter
	rlBackendErrors metric.Int64Counter

	reg registry

	usage *Usage

	tenants  *boundedMap[series]
	tiers    *boundedMap[series] // overflow series per tier
	overflow *series             // tenant.id and tenant.tier both OverflowTenantID
	none     *series             // requests without a tenant

	rlPairs  labelTable // (outcome, reason) of decisions
	errPairs labelTable // (outcome, "") of backend errors
}

// SDKCardinalityLimit returns the per-instrument cardinality limit of the
// OpenTelemetry SDK that keeps every series of [Metrics] and [Usage] apart
// when they admit maxTenants tenants (0 means [DefaultMaxTenants]):
//
//	sdkmetric.NewMeterProvider(
//		sdkmetric.WithReader(reader),
//		sdkmetric.WithCardinalityLimit(telemetry.SDKCardinalityLimit(telemetry.DefaultMaxTenants)),
//	)
func SDKCardinalityLimit(maxTenants int) int {
	// The SDK's default, 2,000 data points per instrument, folds the
	// series of a thousand tenants with two outcomes each. The limit covers
	// all four request outcomes for every admitted tenant, every overflow
	// tier and requests without a tenant, and as many rate-limit (outcome,
	// reason) pairs per tenant; usage series (two periods) need less. It is
	// 4,264 for the default 1,000 tenants.
	if maxTenants < 1 {
		maxTenants = DefaultMaxTenants
	}
	// Admitted tenants, overflow tiers, the all-overflow series and the
	// tenant-less series, times the outcomes.
	return (maxTenants + maxOverflowTiers + 2) * int(numOutcomes)
}

// durationBuckets are the explicit bucket boundaries of the OpenTelemetry
// semantic conventions for http.server.request.duration, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// NewMetrics creates the per-tenant instruments on the meter
// [ScopeName] of the configured MeterProvider. Options: [WithMeterProvider],
// [WithMaxTenants], [WithUsage].
func NewMetrics(opts ...Option) (*Metrics, error) {
	c, cerr := newConfig(forMetrics, opts)
	if cerr != nil {
		return nil, cerr
	}
	meter := c.meterProvider.Meter(ScopeName)
	m := &Metrics{
		usage:   c.usage,
		tenants: newBoundedMap[series](c.maxTenants),
		tiers:   newBoundedMap[series](maxOverflowTiers),
	}
	m.reg.max = 2*c.maxTenants + maxOverflowTiers + 2
	var err, e error
	m.requests, e = meter.Int64ObservableCounter(RequestsName, metric.WithUnit("{request}"),
		metric.WithDescription("Requests handled, by tenant and outcome."))
	err = errors.Join(err, e)
	m.duration, e = meter.Float64Histogram(DurationName, metric.WithUnit("s"),
		metric.WithDescription("Handler time of requests, by tenant and outcome."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	err = errors.Join(err, e)
	m.requestSize, e = meter.Int64ObservableCounter(RequestSizeName, metric.WithUnit("By"),
		metric.WithDescription("Request body bytes read, by tenant and outcome."))
	err = errors.Join(err, e)
	m.responseSize, e = meter.Int64ObservableCounter(ResponseSizeName, metric.WithUnit("By"),
		metric.WithDescription("Response body bytes written, by tenant and outcome."))
	err = errors.Join(err, e)
	m.rlDecisions, e = meter.Int64Counter(RateLimitDecisionsName, metric.WithUnit("{decision}"),
		metric.WithDescription("Rate-limit decisions, by tenant, outcome and reason."))
	err = errors.Join(err, e)
	m.rlBackendErrors, e = meter.Int64Counter(RateLimitBackendErrorsName, metric.WithUnit("{error}"),
		metric.WithDescription("Rate-limiter backend errors, by tenant and the outcome the failure policy chose."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, err
	}
	// The Metrics lives as long as its MeterProvider: the callback is
	// never unregistered, as the SDK keeps a synchronous instrument's
	// series for its life too.
	if _, err := meter.RegisterCallback(m.observe, m.requests, m.requestSize, m.responseSize); err != nil {
		return nil, err
	}
	m.overflow = m.reg.add(newSeries(OverflowTenantID, OverflowTenantID))
	m.none = m.reg.add(newSeries("", ""))
	return m, nil
}

// RecordRequest records one handled request of t (the zero Tenant for a
// request without one) and, with [WithUsage], meters it in the usage table.
// ctx is passed to the duration histogram (exemplars take the span from
// it); the request and size counters are counted in the series and
// reported when the SDK collects.
func (m *Metrics) RecordRequest(ctx context.Context, t tenant.Tenant, r Request) {
	o := r.Outcome
	if o >= numOutcomes {
		o = OutcomeServerError
	}
	s := m.series(t)
	c := &s.counts[o]
	c.requests.Add(1)
	c.requestBytes.Add(r.RequestBytes)
	c.responseBytes.Add(r.ResponseBytes)
	m.duration.Record(ctx, r.Duration.Seconds(), s.req[o].rec...)
	if m.usage != nil && !t.IsZero() {
		m.usage.Record(t, r)
	}
}

// RecordRateLimit counts one rate-limit decision for t. outcome and reason
// are the limiter's own words (for example "allowed"/"denied" and
// "rate"/"quota"/"in_flight"); they must come from a small fixed set, as
// only the first 16 distinct pairs are kept apart.
func (m *Metrics) RecordRateLimit(ctx context.Context, t tenant.Tenant, outcome, reason string) {
	s := m.series(t)
	m.rlDecisions.Add(ctx, 1, s.pairOptions(&s.rl, &m.rlPairs, outcome, reason, true)...)
}

// RecordRateLimitBackendError counts one error of the limiter's backend
// while deciding for t; outcome says what the failure policy did (for
// example "fail_open", "fail_closed", "fallback").
func (m *Metrics) RecordRateLimitBackendError(ctx context.Context, t tenant.Tenant, outcome string) {
	s := m.series(t)
	m.rlBackendErrors.Add(ctx, 1, s.pairOptions(&s.rlErr, &m.errPairs, outcome, "", false)...)
}

// TenantAttributes returns the tenant.id and tenant.tier attributes of the
// tenant of ctx as the cardinality guard admits them (a folded tenant gets
// [OverflowTenantID]), or nil when ctx carries no tenant. The result is
// shared: callers must not modify it (appending is fine). Its signature fits
// otelgrpc.WithMetricAttributesFn, and the httpmw middleware adds it to
// otelhttp's Labeler, so that their own metrics carry the tenant without
// breaking the bound.
func (m *Metrics) TenantAttributes(ctx context.Context) []attribute.KeyValue {
	t, ok := tenant.FromContext(ctx)
	if !ok {
		return nil
	}
	return m.series(t).attrs
}

// series returns the series of t, admitting t if there is room.
func (m *Metrics) series(t tenant.Tenant) *series {
	if t.IsZero() {
		return m.none
	}
	id, tier := t.ID(), t.Tier()
	if s := m.tenants.get(id, func(s *series) bool { return s.tier == tier },
		func() *series { return m.tenantSeries(id, tier) }); s != nil {
		return s
	}
	return m.tierSeries(tier)
}

// tierSeries returns the overflow series of tier, or the all-overflow one
// past maxOverflowTiers tiers.
func (m *Metrics) tierSeries(tier string) *series {
	if s := m.tiers.get(tier, nil, func() *series { return m.reg.add(newSeries(OverflowTenantID, tier)) }); s != nil {
		return s
	}
	return m.overflow
}

// tenantSeries returns the series of an admitted tenant id with tier: the
// one it had when it last had that tier (its counts go on), else a new
// one. Past the registry's bound, which only tenants that keep changing
// tier reach, the tenant is counted under its tier's overflow series.
func (m *Metrics) tenantSeries(id, tier string) *series {
	if s := m.reg.find(id, tier); s != nil {
		return s
	}
	if s := m.reg.addTenant(id, tier); s != nil {
		return s
	}
	return m.tierSeries(tier)
}

// observe reports the counts of every series that has recorded a request
// with some outcome, on the three request counters.
func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	for _, s := range m.reg.list() {
		for i := range s.counts {
			c := &s.counts[i]
			n := c.requests.Load()
			if n == 0 {
				continue // never recorded: no series, as with an Add
			}
			opts := s.req[i].obs
			o.ObserveInt64(m.requests, n, opts...)
			o.ObserveInt64(m.requestSize, c.requestBytes.Load(), opts...)
			o.ObserveInt64(m.responseSize, c.responseBytes.Load(), opts...)
		}
	}
	return nil
}

// registry lists every request series of a Metrics, for its callback, and
// finds the earlier series of a tenant that changes tier back. It holds at
// most max series.
type registry struct {
	mu    sync.Mutex
	max   int
	all   atomic.Pointer[[]*series] // append-only; readers load it without mu
	byKey map[[2]string]*series     // tenant series by tenant.id and tenant.tier
}

// list returns every series added so far.
func (r *registry) list() []*series {
	if p := r.all.Load(); p != nil {
		return *p
	}
	return nil
}

// add appends s and returns it.
func (r *registry) add(s *series) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.appendLocked(s)
	return s
}

func (r *registry) appendLocked(s *series) {
	cur := r.list()
	next := append(cur[:len(cur):len(cur)], s)
	r.all.Store(&next)
}

// find returns the series of tenant id with tier, if there is one.
func (r *registry) find(id, tier string) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byKey[[2]string{id, tier}]
}

// addTenant adds a series for tenant id with tier, or returns nil when the
// registry is full.
func (r *registry) addTenant(id, tier string) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := [2]string{id, tier}
	if s := r.byKey[key]; s != nil {
		return s
	}
	if len(r.list()) >= r.max {
		return nil
	}
	s := newSeries(id, tier)
	if r.byKey == nil {
		r.byKey = make(map[[2]string]*series)
	}
	r.byKey[key] = s
	r.appendLocked(s)
	return s
}

// series holds the request counts and the precomputed measurement options
// of one tenant.id and tenant.tier pair.
type series struct {
	tier   string
	attrs  []attribute.KeyValue // tenant.id and tenant.tier; cap == len
	req    [numOutcomes]seriesOptions
	counts [numOutcomes]requestCounts
	rl     [maxPairs]atomic.Pointer[[]metric.AddOption]
	rlErr  [maxPairs]atomic.Pointer[[]metric.AddOption]
}

// seriesOptions are the options of one series and outcome, each with the
// same prebuilt attribute set.
type seriesOptions struct {
	rec []metric.RecordOption
	obs []metric.ObserveOption
}

// requestCounts are the cumulative sums of the request counters of one
// series and outcome.
type requestCounts struct {
	requests, requestBytes, responseBytes atomic.Int64
}

func newSeries(id, tier string) *series {
	s := &series{tier: tier}
	if id != "" {
		s.attrs = append(s.attrs, TenantIDKey.String(id))
		if tier != "" {
			s.attrs = append(s.attrs, TenantTierKey.String(tier))
		}
		s.attrs = s.attrs[:len(s.attrs):len(s.attrs)]
	}
	for o := range numOutcomes {
		set := attribute.NewSet(append(s.attrs, OutcomeKey.String(o.String()))...)
		opt := metric.WithAttributeSet(set)
		s.req[o] = seriesOptions{rec: []metric.RecordOption{opt}, obs: []metric.ObserveOption{opt}}
	}
	return s
}

// pairOptions returns the options for the label pair (a, b) of table,
// building and caching them in slots on first use.
func (s *series) pairOptions(slots *[maxPairs]atomic.Pointer[[]metric.AddOption], table *labelTable, a, b string, withReason bool) []metric.AddOption {
	i := table.index(a, b)
	if p := slots[i].Load(); p != nil {
		return *p
	}
	pair := table.pair(i)
	kv := append(s.attrs, OutcomeKey.String(pair.a))
	if withReason {
		kv = append(kv, ReasonKey.String(pair.b))
	}
	opts := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
	// Racing builders store equal values; either may win.
	slots[i].Store(&opts)
	return opts
}

// maxPairs bounds the distinct label pairs of a labelTable; the last index is
// the overflow pair.
const maxPairs = 16

type labelPair struct{ a, b string }

// labelTable interns up to maxPairs-1 label pairs; later pairs share the
// last index, whose labels are both OverflowTenantID.
type labelTable struct {
	mu    sync.Mutex
	pairs atomic.Pointer[[]labelPair]
}

func (lt *labelTable) index(a, b string) int {
	if p := lt.pairs.Load(); p != nil {
		for i, x := range *p {
			if x.a == a && x.b == b {
				return i
			}
		}
		if len(*p) >= maxPairs-1 { // full: no need to lock
			return maxPairs - 1
		}
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	var cur []labelPair
	if p := lt.pairs.Load(); p != nil {
		cur = *p
	}
	for i, x := range cur {
		if x.a == a && x.b == b {
			return i
		}
	}
	if len(cur) >= maxPairs-1 {
		return maxPairs - 1
	}
	next := append(cur[:len(cur):len(cur)], labelPair{a, b})
	lt.pairs.Store(&next)
	return len(next) - 1
}

func (lt *labelTable) pair(i int) labelPair {
	if i == maxPairs-1 {
		return labelPair{OverflowTenantID, OverflowTenantID}
	}
	return (*lt.pairs.Load())[i]
}

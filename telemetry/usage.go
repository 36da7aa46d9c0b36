package telemetry

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tenantkit/tenantkit/tenant"
)

// Usage instrument names. They are asynchronous counters observed at each
// collection, one series per tenant and period: attribute
// [UsagePeriodKey] holds the period's start, so every series starts at zero
// and only grows, and a new period starts new series. The current and the
// previous period are reported (the previous one so that its final values
// reach the exporter after the period closed).
const (
	UsageRequestsName     = "tenantkit.usage.requests"      // requests ({request})
	UsageHandlerTimeName  = "tenantkit.usage.handler.time"  // handler time (s)
	UsageRequestSizeName  = "tenantkit.usage.request.size"  // request body bytes read (By)
	UsageResponseSizeName = "tenantkit.usage.response.size" // response body bytes written (By)
)

// UsagePeriodKey is the attribute of the usage instruments that holds the
// start of the metering period, in RFC 3339 form (UTC).
const UsagePeriodKey = attribute.Key("tenantkit.usage.period")

// A UsagePeriod maps an instant to the bounds [start, end) of the metering
// period that contains it.
type UsagePeriod func(t time.Time) (start, end time.Time)

// CalendarMonth is the calendar month in UTC, the default period.
func CalendarMonth(t time.Time) (start, end time.Time) {
	t = t.UTC()
	start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

// CalendarDay is the calendar day in UTC.
func CalendarDay(t time.Time) (start, end time.Time) {
	t = t.UTC()
	start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 0, 1)
}

// Every returns periods of length d aligned to the Unix epoch (for example
// every hour on the hour). For a d that is not positive it returns empty
// periods, which [WithUsagePeriod] makes [NewUsage] refuse.
func Every(d time.Duration) UsagePeriod {
	if d <= 0 {
		return func(time.Time) (time.Time, time.Time) { return time.Time{}, time.Time{} }
	}
	return func(t time.Time) (time.Time, time.Time) {
		start := t.UTC().Truncate(d)
		return start, start.Add(d)
	}
}

// TenantUsage is what one tenant used in one period.
type TenantUsage struct {
	TenantID string // the tenant, or OverflowTenantID for the folded tenants
	// Tier is the tier of the tenant's last metered request; empty for the
	// overflow row.
	Tier        string
	Requests    int64
	HandlerTime time.Duration // total handler time
	BytesIn     int64         // request body bytes read
	BytesOut    int64         // response body bytes written
}

// UsageSnapshot is the usage of every tenant in one period.
type UsageSnapshot struct {
	Start, End time.Time // the period, [Start, End)
	// Tenants holds one row per tenant with usage, sorted by TenantID; the
	// tenants past the bound are summed in one row, OverflowTenantID.
	Tenants []TenantUsage
}

// Usage meters per-tenant usage (requests, handler time, bytes in and out)
// per period, readable in process with [Usage.Current] and [Usage.Previous]
// and exported through the metrics pipeline (see [UsageRequestsName]).
//
// Memory is bounded: a period's table holds at most N tenant rows (N is
// [DefaultMaxTenants] unless [WithMaxTenants] says otherwise, first come
// first served) plus the overflow row, and only the current and the previous
// period are kept. A new period starts when a request or a snapshot falls
// past the end of the current one; nothing runs in the background. It is
// safe for concurrent use.
type Usage struct {
	period UsagePeriod
	now    func() time.Time
	max    int
	reg    metric.Registration

	cur  atomic.Pointer[usageTable]
	mu   sync.Mutex // serialises period changes and guards prev
	prev *usageTable
}

type usageTable struct {
	start, end time.Time
	period     attribute.KeyValue // UsagePeriodKey
	rows       *boundedMap[usageRow]
	overflow   usageRow
}

type usageRow struct {
	tier                               atomic.Pointer[string]
	requests, nanos, bytesIn, bytesOut atomic.Int64
}

// NewUsage returns a usage table and registers its asynchronous instruments
// on the meter [ScopeName] of the configured MeterProvider. Options:
// [WithMeterProvider], [WithMaxTenants], [WithUsagePeriod], [WithClock]. Call
// [Usage.Close] to unregister the instruments when the table is dropped
// before its MeterProvider.
func NewUsage(opts ...Option) (*Usage, error) {
	c, cerr := newConfig(forUsage, opts)
	if cerr != nil {
		return nil, cerr
	}
	u := &Usage{period: c.period, now: c.now, max: c.maxTenants}
	u.cur.Store(u.newTable(u.now()))

	meter := c.meterProvider.Meter(ScopeName)
	var err, e error
	requests, e := meter.Int64ObservableCounter(UsageRequestsName, metric.WithUnit("{request}"),
		metric.WithDescription("Requests of a tenant in the metering period."))
	err = errors.Join(err, e)
	handler, e := meter.Float64ObservableCounter(UsageHandlerTimeName, metric.WithUnit("s"),
		metric.WithDescription("Handler time of a tenant in the metering period."))
	err = errors.Join(err, e)
	in, e := meter.Int64ObservableCounter(UsageRequestSizeName, metric.WithUnit("By"),
		metric.WithDescription("Request body bytes of a tenant in the metering period."))
	err = errors.Join(err, e)
	out, e := meter.Int64ObservableCounter(UsageResponseSizeName, metric.WithUnit("By"),
		metric.WithDescription("Response body bytes of a tenant in the metering period."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, err
	}
	u.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		u.mu.Lock()
		prev := u.prev
		u.mu.Unlock()
		for _, tbl := range []*usageTable{prev, u.cur.Load()} {
			if tbl == nil {
				continue
			}
			for _, r := range tbl.snapshot() {
				kv := make([]attribute.KeyValue, 0, 3)
				kv = append(kv, TenantIDKey.String(r.TenantID))
				if r.Tier != "" {
					kv = append(kv, TenantTierKey.String(r.Tier))
				}
				opt := metric.WithAttributeSet(attribute.NewSet(append(kv, tbl.period)...))
				o.ObserveInt64(requests, r.Requests, opt)
				o.ObserveFloat64(handler, r.HandlerTime.Seconds(), opt)
				o.ObserveInt64(in, r.BytesIn, opt)
				o.ObserveInt64(out, r.BytesOut, opt)
			}
		}
		return nil
	}, requests, handler, in, out)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Close unregisters the usage instruments. The table stays readable.
func (u *Usage) Close() error {
	return u.reg.Unregister()
}

func (u *Usage) newTable(at time.Time) *usageTable {
	start, end := u.period(at)
	return &usageTable{
		start:  start,
		end:    end,
		period: UsagePeriodKey.String(start.UTC().Format(time.RFC3339)),
		rows:   newBoundedMap[usageRow](u.max),
	}
}

// table returns the table of the period containing at, starting a new period
// when at is past the end of the current one. An instant before the current
// period (a late request) is metered in the current period.
func (u *Usage) table(at time.Time) *usageTable {
	tbl := u.cur.Load()
	if at.Before(tbl.end) {
		return tbl
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	tbl = u.cur.Load()
	if at.Before(tbl.end) {
		return tbl
	}
	u.prev = tbl
	tbl = u.newTable(at)
	u.cur.Store(tbl)
	return tbl
}

// Record meters one request of t. The zero Tenant is not metered: a request
// without a tenant cannot be billed to one.
func (u *Usage) Record(t tenant.Tenant, r Request) {
	if t.IsZero() {
		return
	}
	at := r.End
	if at.IsZero() {
		at = u.now()
	}
	tbl := u.table(at)
	id, tier := t.ID(), t.Tier()
	row := tbl.rows.get(id, nil, func() *usageRow { return new(usageRow) })
	if row == nil {
		row = &tbl.overflow
	} else if p := row.tier.Load(); p == nil || *p != tier {
		row.setTier(tier)
	}
	row.requests.Add(1)
	row.nanos.Add(int64(r.Duration))
	row.bytesIn.Add(r.RequestBytes)
	row.bytesOut.Add(r.ResponseBytes)
}

// Current returns the usage of the current period (starting a new one first
// if the clock has passed the end of the current period).
func (u *Usage) Current() UsageSnapshot {
	return u.table(u.now()).snapshotAll()
}

// Previous returns the usage of the period before the current one, if a
// period has closed since the table was created.
func (u *Usage) Previous() (UsageSnapshot, bool) {
	u.table(u.now())
	u.mu.Lock()
	prev := u.prev
	u.mu.Unlock()
	if prev == nil {
		return UsageSnapshot{}, false
	}
	return prev.snapshotAll(), true
}

func (tbl *usageTable) snapshotAll() UsageSnapshot {
	return UsageSnapshot{Start: tbl.start, End: tbl.end, Tenants: tbl.snapshot()}
}

// snapshot reads the rows of tbl, sorted by tenant ID.
func (tbl *usageTable) snapshot() []TenantUsage {
	rows := make([]TenantUsage, 0, tbl.rows.len()+1)
	tbl.rows.each(func(id string, r *usageRow) {
		rows = append(rows, r.read(id))
	})
	if o := tbl.overflow.read(OverflowTenantID); o.Requests > 0 {
		o.Tier = ""
		rows = append(rows, o)
	}
	slices.SortFunc(rows, func(a, b TenantUsage) int { return strings.Compare(a.TenantID, b.TenantID) })
	return rows
}

// setTier is apart from Record so that only a tier change allocates.
func (r *usageRow) setTier(tier string) { r.tier.Store(&tier) }

func (r *usageRow) read(id string) TenantUsage {
	u := TenantUsage{
		TenantID:    id,
		Requests:    r.requests.Load(),
		HandlerTime: time.Duration(r.nanos.Load()),
		BytesIn:     r.bytesIn.Load(),
		BytesOut:    r.bytesOut.Load(),
	}
	if p := r.tier.Load(); p != nil {
		u.Tier = *p
	}
	return u
}

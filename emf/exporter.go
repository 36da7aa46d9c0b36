package emf

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// Counts says what the exporter wrote and what it had to split, change or
// drop to keep every document within the specification.
type Counts struct {
	Documents uint64 // EMF documents (JSON lines) written
	Bytes     uint64 // bytes written, newlines included
	// Splits counts documents split in two or more because they had more
	// than MaxMetricsPerDirective metrics or were over the size bound.
	Splits uint64
	// NonFinite counts values dropped because they were NaN or infinite,
	// which JSON cannot carry.
	NonFinite uint64
	// Oversize counts metrics dropped because a document holding only
	// that metric and its dimensions was still over the size bound.
	Oversize uint64
	// DroppedProperties counts properties left out of a document to bring
	// it under the size bound.
	DroppedProperties uint64
	// TruncatedProperties counts string properties cut to the property
	// length bound.
	TruncatedProperties uint64
	// Collisions counts metrics and properties dropped because their
	// member name was already taken in the document (by a dimension, by
	// another metric, or "_aws").
	Collisions uint64
	// Renamed counts metric names and dimension values changed to meet the
	// specification's naming rules.
	Renamed uint64
	// DemotedDimensions counts dimension keys written as properties
	// because a set would have had more than MaxDimensionsPerSet.
	DemotedDimensions uint64
	// FoldedTiers counts documents whose tenant.tier dimension was written
	// as telemetry.OverflowTenantID, past the tier bound.
	FoldedTiers uint64
	// InvalidTenantIDs counts documents whose tenant.id attribute was
	// neither a valid tenant ID nor telemetry.OverflowTenantID; it is a
	// property only, never a dimension.
	InvalidTenantIDs uint64
}

func (c *Counts) add(o Counts) {
	c.Documents += o.Documents
	c.Bytes += o.Bytes
	c.Splits += o.Splits
	c.NonFinite += o.NonFinite
	c.Oversize += o.Oversize
	c.DroppedProperties += o.DroppedProperties
	c.TruncatedProperties += o.TruncatedProperties
	c.Collisions += o.Collisions
	c.Renamed += o.Renamed
	c.DemotedDimensions += o.DemotedDimensions
	c.FoldedTiers += o.FoldedTiers
	c.InvalidTenantIDs += o.InvalidTenantIDs
}

// Report is what one export did, for [WithReportHandler].
type Report struct {
	Counts
	// Tenants is the number of distinct tenant IDs in the export.
	Tenants int
	// TenantDimensions is the number of tenants whose ID was a dimension.
	TenantDimensions int
	// Err is the write error that ended the export, if any.
	Err error
}

// Exporter writes OpenTelemetry metrics as CloudWatch embedded metric
// format documents, one JSON object per line, to an io.Writer (standard
// output on Lambda, or any log stream that reaches CloudWatch Logs). It is
// an sdkmetric.Exporter for a PeriodicReader:
//
//	exp, err := emf.New(os.Stdout, "MyService", emf.WithTopTenants(50))
//	...
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
//
// Each document holds the data points of one attribute set: its dimensions
// (tenant.tier, the [WithDimensions] keys, and tenant.id for the tenants
// [WithTopTenants] and [WithTenantTiers] select), its metrics, and every
// other attribute as a property. A document whose tenant.id is a dimension
// has two dimension sets, with and without tenant.id, so the per-tier
// metrics always count every tenant.
//
// Counters and histograms are exported with delta temporality (the
// interval's increase, which is what CloudWatch sums), up-down counters and
// gauges as their current value. A histogram becomes four metrics:
// name.count, name.sum, and name.min and name.max when recorded; a summary
// name.count and name.sum.
type Exporter struct {
	w   io.Writer
	ns  string
	cfg config

	mu    sync.Mutex
	shut  bool
	tiers map[string]bool // tier values admitted as dimension values
	total Counts
	buf   []byte
	docs  docPool
	// Encoded names by kind, so that a steady set of instruments and
	// attribute keys costs no allocation per document. Bounded: past
	// maxCachedNames a name is encoded every time.
	metricNames, dimNames, propKeys map[string]cachedName
	statNames                       map[string]*[4]string
}

// maxCachedNames bounds each name cache; attribute keys can come from
// anywhere.
const maxCachedNames = 4096

type cachedName struct {
	name    string // sanitised (or, for a property, the key itself)
	key     string // the JSON-encoded member name
	changed bool   // sanitising changed it, or the key was cut
}

func cachedEncode(cache *map[string]cachedName, s string, f func(string) cachedName) cachedName {
	if c, ok := (*cache)[s]; ok {
		return c
	}
	c := f(s)
	if *cache == nil {
		*cache = map[string]cachedName{}
	}
	if len(*cache) < maxCachedNames {
		(*cache)[s] = c
	}
	return c
}

func (e *Exporter) metricName(s string) cachedName {
	return cachedEncode(&e.metricNames, s, func(s string) cachedName {
		n := sanitizeName(s, MaxMetricNameLength, false)
		return cachedName{name: n, key: jsonKey(n), changed: n != s}
	})
}

func (e *Exporter) dimName(s string) cachedName {
	return cachedEncode(&e.dimNames, s, func(s string) cachedName {
		n := sanitizeName(s, MaxDimensionNameLength, true)
		return cachedName{name: n, key: jsonKey(n), changed: n != s}
	})
}

func (e *Exporter) propKey(s string) cachedName {
	return cachedEncode(&e.propKeys, s, func(s string) cachedName {
		k, cut := appendString(nil, s, e.cfg.maxProperty)
		return cachedName{name: s, key: string(k), changed: cut}
	})
}

// statNamesOf returns name.count, name.sum, name.min and name.max.
func (e *Exporter) statNamesOf(name string) *[4]string {
	if n, ok := e.statNames[name]; ok {
		return n
	}
	n := &[4]string{name + ".count", name + ".sum", name + ".min", name + ".max"}
	if e.statNames == nil {
		e.statNames = map[string]*[4]string{}
	}
	if len(e.statNames) < maxCachedNames {
		e.statNames[name] = n
	}
	return n
}

// New returns an Exporter writing documents of CloudWatch namespace ns to
// w. Options: [WithTopTenants], [WithTenantTiers], [WithTrafficMetric],
// [WithDimensions], [WithTierDimension], [WithMaxTiers],
// [WithStorageResolution], [WithMaxEventSize], [WithMaxPropertyLength],
// [WithReportHandler].
func New(w io.Writer, ns string, opts ...Option) (*Exporter, error) {
	if d := nilarg.Describe(w); d != "" {
		return nil, fmt.Errorf("%w: the writer is %s", ErrInvalidOption, d)
	}
	if err := checkNamespace(ns); err != nil {
		return nil, err
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Exporter{w: w, ns: ns, cfg: cfg, tiers: map[string]bool{}}, nil
}

// checkNamespace applies the schema's Namespace rules (1 to 1024
// characters, no line terminator) with CloudWatch's: ASCII, no control
// characters, not the "AWS/" prefix, which is reserved for AWS services.
func checkNamespace(ns string) error {
	if ns == "" || len(ns) > MaxNamespaceLength || sanitizeName(ns, MaxNamespaceLength, true) != ns ||
		len(ns) >= 4 && ns[:4] == "AWS/" {
		return fmt.Errorf("%w: namespace %q: 1 to %d printable ASCII characters, not starting with AWS/ or ':'", ErrInvalidOption, ns, MaxNamespaceLength)
	}
	return nil
}

var _ sdkmetric.Exporter = (*Exporter)(nil)

// Temporality returns delta for counters and histograms (synchronous and
// observable) and cumulative otherwise.
func (e *Exporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	switch k {
	case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindHistogram, sdkmetric.InstrumentKindObservableCounter:
		return metricdata.DeltaTemporality
	}
	return metricdata.CumulativeTemporality
}

// Aggregation returns the SDK's default aggregation for k.
func (e *Exporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

// ForceFlush does nothing: Export writes before it returns.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shut {
		return ErrShutdown
	}
	return ctx.Err()
}

// Shutdown makes later calls fail with [ErrShutdown].
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shut {
		return ErrShutdown
	}
	e.shut = true
	return ctx.Err()
}

// Stats returns the counts of every export so far.
func (e *Exporter) Stats() Counts {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.total
}

// Export writes rm as EMF documents, one Write call per document. It
// returns the first write error; what it split, changed or dropped to meet
// the specification is counted ([Exporter.Stats], [WithReportHandler]),
// not an error.
func (e *Exporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shut {
		return ErrShutdown
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var r Report
	b := batch{e: e, counts: &r.Counts, groups: map[attribute.Distinct]*group{}, traffic: map[string]float64{}}
	if rm != nil {
		b.collect(rm)
	}
	dims := b.tenantDimensions()
	r.Tenants, r.TenantDimensions = len(b.tenantTier), len(dims)
	for _, g := range b.order {
		if err := b.write(g, dims); err != nil {
			r.Err = err
			break
		}
	}
	e.total.add(r.Counts)
	if e.cfg.report != nil {
		e.cfg.report(r)
	}
	return r.Err
}

type sample struct {
	name, unit string
	value      float64
}

type group struct {
	attrs    attribute.Set
	ts       time.Time
	samples  []sample
	tenantID string
}

type batch struct {
	e          *Exporter
	counts     *Counts
	groups     map[attribute.Distinct]*group
	order      []*group
	traffic    map[string]float64 // tenant ID -> traffic metric sum
	tenantTier map[string]string  // tenant ID -> tier
}

func (b *batch) group(attrs attribute.Set, ts time.Time) *group {
	key := attrs.Equivalent()
	g := b.groups[key]
	if g == nil {
		g = &group{attrs: attrs}
		if v, ok := attrs.Value(telemetry.TenantIDKey); ok && v.Type() == attribute.STRING {
			g.tenantID = v.AsString()
			if b.tenantTier == nil {
				b.tenantTier = map[string]string{}
			}
			tier, _ := attrs.Value(telemetry.TenantTierKey)
			b.tenantTier[g.tenantID] = tier.String()
		}
		b.groups[key] = g
		b.order = append(b.order, g)
	}
	if ts.After(g.ts) {
		g.ts = ts
	}
	return g
}

func (b *batch) add(g *group, name, unit string, v float64) {
	if !finite(v) {
		b.counts.NonFinite++
		return
	}
	g.samples = append(g.samples, sample{name: name, unit: unit, value: v})
}

func (b *batch) collect(rm *metricdata.ResourceMetrics) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			unit := cloudWatchUnit(m.Unit)
			traffic := m.Name == b.e.cfg.traffic
			point := func(attrs attribute.Set, ts time.Time, v float64) {
				g := b.group(attrs, ts)
				b.add(g, m.Name, unit, v)
				if traffic && g.tenantID != "" && finite(v) {
					b.traffic[g.tenantID] += v
				}
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					point(p.Attributes, p.Time, float64(p.Value))
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					point(p.Attributes, p.Time, p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					point(p.Attributes, p.Time, float64(p.Value))
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					point(p.Attributes, p.Time, p.Value)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					mn, okMin := p.Min.Value()
					mx, okMax := p.Max.Value()
					b.stats(b.group(p.Attributes, p.Time), m.Name, unit, p.Count, float64(p.Sum), float64(mn), okMin, float64(mx), okMax)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					mn, okMin := p.Min.Value()
					mx, okMax := p.Max.Value()
					b.stats(b.group(p.Attributes, p.Time), m.Name, unit, p.Count, p.Sum, mn, okMin, mx, okMax)
				}
			case metricdata.ExponentialHistogram[int64]:
				for _, p := range d.DataPoints {
					mn, okMin := p.Min.Value()
					mx, okMax := p.Max.Value()
					b.stats(b.group(p.Attributes, p.Time), m.Name, unit, p.Count, float64(p.Sum), float64(mn), okMin, float64(mx), okMax)
				}
			case metricdata.ExponentialHistogram[float64]:
				for _, p := range d.DataPoints {
					mn, okMin := p.Min.Value()
					mx, okMax := p.Max.Value()
					b.stats(b.group(p.Attributes, p.Time), m.Name, unit, p.Count, p.Sum, mn, okMin, mx, okMax)
				}
			case metricdata.Summary:
				for _, p := range d.DataPoints {
					b.stats(b.group(p.Attributes, p.Time), m.Name, unit, p.Count, p.Sum, 0, false, 0, false)
				}
			}
		}
	}
}

// stats adds a distribution as the statistic-set fields EMF can carry as
// plain numbers: count, sum, min and max.
func (b *batch) stats(g *group, name, unit string, count uint64, sum, mn float64, okMin bool, mx float64, okMax bool) {
	names := b.e.statNamesOf(name)
	b.add(g, names[0], "Count", float64(count))
	b.add(g, names[1], unit, sum)
	if okMin {
		b.add(g, names[2], unit, mn)
	}
	if okMax {
		b.add(g, names[3], unit, mx)
	}
}

// tenantDimensions returns the tenant IDs that are dimensions in this
// export: those of the configured tiers and the top N by traffic.
func (b *batch) tenantDimensions() map[string]bool {
	c := &b.e.cfg
	if c.topTenants == 0 && len(c.tiers) == 0 {
		return nil
	}
	dims := map[string]bool{}
	for id, tier := range b.tenantTier {
		if c.tiers[tier] && validTenantID(id) {
			dims[id] = true
		}
	}
	if c.topTenants > 0 {
		type ranked struct {
			id string
			n  float64
		}
		top := make([]ranked, 0, len(b.traffic))
		for id, n := range b.traffic {
			if n > 0 && validTenantID(id) {
				top = append(top, ranked{id, n})
			}
		}
		slices.SortFunc(top, func(a, b ranked) int {
			if c := cmp.Compare(b.n, a.n); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
		for _, r := range top[:min(len(top), c.topTenants)] {
			dims[r.id] = true
		}
	}
	return dims
}

// validTenantID reports whether id may be a dimension value: a valid
// tenant ID (never the overflow value, which no tenant ID can be).
func validTenantID(id string) bool { return tenant.ValidateID(id) == nil }

type dimension struct {
	name, key, value string // key: the JSON-encoded name
	order            int
}

type property struct {
	raw string // the attribute key
	key string // the JSON-encoded member name
	val attribute.Value
}

type metric struct {
	name, key, unit string // key: the JSON-encoded name
	value           float64
}

type docPool struct {
	dims    []dimension
	props   []property
	metrics []metric
	used    map[string]bool
}

// write writes the documents of g.
func (b *batch) write(g *group, tenantDims map[string]bool) error {
	e, c := b.e, &b.e.cfg
	p := &e.docs
	p.dims, p.props, p.metrics = p.dims[:0], p.props[:0], p.metrics[:0]
	if p.used == nil {
		p.used = map[string]bool{}
	}
	clear(p.used)
	p.used[`"_aws"`] = true

	tenantDim := false
	if g.tenantID != "" && g.tenantID != telemetry.OverflowTenantID && !validTenantID(g.tenantID) {
		b.counts.InvalidTenantIDs++
	}
	iter := g.attrs.Iter()
	for iter.Next() {
		kv := iter.Attribute()
		k := string(kv.Key)
		order := -1
		switch {
		case kv.Key == telemetry.TenantIDKey:
			if tenantDims[g.tenantID] {
				order, tenantDim = len(c.dimensions)+1, true
			}
		case kv.Key == telemetry.TenantTierKey:
			if c.tierDimension {
				order = len(c.dimensions)
			}
		default:
			order = slices.Index(c.dimensions, k)
		}
		if order < 0 {
			p.props = append(p.props, property{raw: k, val: kv.Value})
			continue
		}
		v := kv.Value.String()
		if kv.Key == telemetry.TenantTierKey {
			v = e.tierValue(v, b.counts)
		}
		if sv := sanitizeName(v, MaxDimensionValueLength, false); sv != v {
			b.counts.Renamed++
			v = sv
		}
		dn := e.dimName(k)
		p.dims = append(p.dims, dimension{name: dn.name, key: dn.key, value: v, order: order})
	}
	slices.SortFunc(p.dims, func(a, b dimension) int { return cmp.Compare(a.order, b.order) })
	if len(p.dims) > MaxDimensionsPerSet {
		// Configuration keeps sets within the limit; enforce it anyway,
		// keeping tenant.id and the tier.
		extra := len(p.dims) - MaxDimensionsPerSet
		for _, d := range p.dims[:extra] {
			p.props = append(p.props, property{raw: d.name, val: attribute.StringValue(d.value)})
		}
		b.counts.DemotedDimensions += uint64(extra)
		p.dims = p.dims[extra:]
	}
	for _, d := range p.dims {
		p.used[d.key] = true
	}
	for _, s := range g.samples {
		mn := e.metricName(s.name)
		if mn.changed {
			b.counts.Renamed++
		}
		if p.used[mn.key] {
			b.counts.Collisions++
			continue
		}
		p.used[mn.key] = true
		p.metrics = append(p.metrics, metric{name: mn.name, key: mn.key, unit: s.unit, value: s.value})
	}
	if len(p.metrics) == 0 {
		return nil
	}
	// Properties in attribute order; their names are taken after the
	// dimensions' and the metrics'.
	kept := p.props[:0]
	for _, pr := range p.props {
		pk := e.propKey(pr.raw)
		if pk.changed {
			b.counts.TruncatedProperties++
		}
		if p.used[pk.key] {
			b.counts.Collisions++
			continue
		}
		p.used[pk.key] = true
		pr.key = pk.key
		kept = append(kept, pr)
	}
	p.props = kept

	ts := g.ts
	if ts.IsZero() {
		ts = time.Now()
	}
	for chunk := range slices.Chunk(p.metrics, MaxMetricsPerDirective) {
		if len(chunk) < len(p.metrics) && &chunk[0] == &p.metrics[0] {
			b.counts.Splits++
		}
		if err := b.emit(ts.UnixMilli(), p.dims, tenantDim, chunk, p.props); err != nil {
			return err
		}
	}
	return nil
}

func jsonKey(s string) string {
	k, _ := appendString(nil, s, -1)
	return string(k)
}

// tierValue returns the dimension value of tier: itself while fewer than
// the tier bound have been seen, the overflow value after.
func (e *Exporter) tierValue(tier string, counts *Counts) string {
	if e.tiers[tier] {
		return tier
	}
	if len(e.tiers) < e.cfg.maxTiers {
		e.tiers[tier] = true
		return tier
	}
	counts.FoldedTiers++
	return telemetry.OverflowTenantID
}

// emit encodes and writes one document, splitting it when it is over the
// size bound: first without its properties, then in halves.
func (b *batch) emit(ts int64, dims []dimension, tenantDim bool, metrics []metric, props []property) error {
	e := b.e
	e.buf = encode(e.buf[:0], e.ns, e.cfg, ts, dims, tenantDim, metrics, props, b.counts)
	if len(e.buf) > e.cfg.maxEventSize && len(props) > 0 {
		b.counts.DroppedProperties += uint64(len(props))
		props = nil
		e.buf = encode(e.buf[:0], e.ns, e.cfg, ts, dims, tenantDim, metrics, props, b.counts)
	}
	if len(e.buf) > e.cfg.maxEventSize {
		if len(metrics) == 1 {
			b.counts.Oversize++
			return nil
		}
		b.counts.Splits++
		half := len(metrics) / 2
		if err := b.emit(ts, dims, tenantDim, metrics[:half], props); err != nil {
			return err
		}
		return b.emit(ts, dims, tenantDim, metrics[half:], props)
	}
	n, err := e.w.Write(e.buf)
	if err != nil {
		return fmt.Errorf("emf: write: %w", err)
	}
	if n != len(e.buf) {
		return fmt.Errorf("emf: write: %w", io.ErrShortWrite)
	}
	b.counts.Documents++
	b.counts.Bytes += uint64(n)
	return nil
}

// encode appends one document and its newline to buf. Dimension names and
// metric names are already sanitised, property keys already encoded.
func encode(buf []byte, ns string, c config, ts int64, dims []dimension, tenantDim bool, metrics []metric, props []property, counts *Counts) []byte {
	buf = append(buf, `{"_aws":{"Timestamp":`...)
	buf = strconv.AppendInt(buf, ts, 10)
	buf = append(buf, `,"CloudWatchMetrics":[{"Namespace":`...)
	buf, _ = appendString(buf, ns, -1)
	buf = append(buf, `,"Dimensions":[`...)
	set := func(withTenant bool) {
		buf = append(buf, '[')
		first := true
		for _, d := range dims {
			if !withTenant && d.name == string(telemetry.TenantIDKey) {
				continue
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = append(buf, d.key...)
		}
		buf = append(buf, ']')
	}
	set(true)
	if tenantDim {
		buf = append(buf, ',')
		set(false)
	}
	buf = append(buf, `],"Metrics":[`...)
	for i, m := range metrics {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"Name":`...)
		buf = append(buf, m.key...)
		buf = append(buf, `,"Unit":`...)
		buf, _ = appendString(buf, m.unit, -1)
		if c.resolution == 1 {
			buf = append(buf, `,"StorageResolution":1`...)
		}
		buf = append(buf, '}')
	}
	buf = append(buf, `]}]}`...)
	for _, d := range dims {
		buf = append(buf, ',')
		buf = append(buf, d.key...)
		buf = append(buf, ':')
		buf, _ = appendString(buf, d.value, -1)
	}
	for _, m := range metrics {
		buf = append(buf, ',')
		buf = append(buf, m.key...)
		buf = append(buf, ':')
		buf = appendFloat(buf, m.value)
	}
	for _, p := range props {
		buf = append(buf, ',')
		buf = append(buf, p.key...)
		buf = append(buf, ':')
		buf = appendValue(buf, p.val, c.maxProperty, counts)
	}
	return append(buf, '}', '\n')
}

// appendValue appends an attribute value as JSON.
func appendValue(buf []byte, v attribute.Value, max int, counts *Counts) []byte {
	str := func(s string) {
		var cut bool
		buf, cut = appendString(buf, s, max)
		if cut {
			counts.TruncatedProperties++
		}
	}
	num := func(f float64) {
		if finite(f) {
			buf = appendFloat(buf, f)
		} else {
			buf, _ = appendString(buf, strconv.FormatFloat(f, 'g', -1, 64), -1)
		}
	}
	switch v.Type() {
	case attribute.BOOL:
		buf = strconv.AppendBool(buf, v.AsBool())
	case attribute.INT64:
		buf = strconv.AppendInt(buf, v.AsInt64(), 10)
	case attribute.FLOAT64:
		num(v.AsFloat64())
	case attribute.STRING:
		str(v.AsString())
	case attribute.BOOLSLICE:
		buf = append(buf, '[')
		for i, x := range v.AsBoolSlice() {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendBool(buf, x)
		}
		buf = append(buf, ']')
	case attribute.INT64SLICE:
		buf = append(buf, '[')
		for i, x := range v.AsInt64Slice() {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, x, 10)
		}
		buf = append(buf, ']')
	case attribute.FLOAT64SLICE:
		buf = append(buf, '[')
		for i, x := range v.AsFloat64Slice() {
			if i > 0 {
				buf = append(buf, ',')
			}
			num(x)
		}
		buf = append(buf, ']')
	case attribute.STRINGSLICE:
		buf = append(buf, '[')
		for i, x := range v.AsStringSlice() {
			if i > 0 {
				buf = append(buf, ',')
			}
			str(x)
		}
		buf = append(buf, ']')
	default:
		buf = append(buf, "null"...)
	}
	return buf
}

package emf_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/emf"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// pipeline is the exporter behind a manual reader, for tests that decide
// when an export happens, and tenantkit's metrics on its meter provider.
type pipeline struct {
	exp     *emf.Exporter
	reader  *sdkmetric.ManualReader
	metrics *telemetry.Metrics
	out     *bytes.Buffer
}

func newPipeline(tb testing.TB, opts ...emf.Option) *pipeline {
	tb.Helper()
	out := &bytes.Buffer{}
	exp, err := emf.New(out, "Tenantkit/Test", opts...)
	if err != nil {
		tb.Fatal(err)
	}
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(exp.Temporality), sdkmetric.WithAggregationSelector(exp.Aggregation))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
		sdkmetric.WithCardinalityLimit(telemetry.SDKCardinalityLimit(telemetry.DefaultMaxTenants)))
	tb.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
	if err != nil {
		tb.Fatal(err)
	}
	return &pipeline{exp: exp, reader: reader, metrics: m, out: out}
}

// export collects and exports once, returning the checked documents.
func (p *pipeline) export(tb testing.TB) []document {
	tb.Helper()
	var rm metricdata.ResourceMetrics
	if err := p.reader.Collect(context.Background(), &rm); err != nil {
		tb.Fatal(err)
	}
	p.out.Reset()
	if err := p.exp.Export(context.Background(), &rm); err != nil {
		tb.Fatal(err)
	}
	return checkOutput(tb, p.out.Bytes())
}

func tn(tb testing.TB, id, tier string) tenant.Tenant {
	tb.Helper()
	t, err := tenant.New(id, tier)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// find returns the documents whose root member key has value v.
func find(docs []document, key, v string) []document {
	var out []document
	for _, d := range docs {
		if d.root[key] == v {
			out = append(out, d)
		}
	}
	return out
}

func num(tb testing.TB, d document, name string) float64 {
	tb.Helper()
	var f float64
	if _, err := fmt.Sscan(fmt.Sprint(d.root[name]), &f); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return f
}

func dimSets(d document) [][]string { return d.directives[0].dims }

func TestTenantMetricsAsEMFDocuments(t *testing.T) {
	p := newPipeline(t)
	ctx := context.Background()
	acme := tn(t, "acme", "pro")
	for range 3 {
		p.metrics.RecordRequest(ctx, acme, telemetry.Request{Duration: 20 * time.Millisecond, RequestBytes: 100, ResponseBytes: 1000})
	}
	p.metrics.RecordRequest(ctx, acme, telemetry.Request{Duration: time.Second, Outcome: telemetry.OutcomeServerError})
	p.metrics.RecordRateLimit(ctx, acme, "denied", "quota")
	docs := p.export(t)

	ok := find(find(docs, "tenant.id", "acme"), "outcome", "ok")
	if len(ok) != 1 {
		t.Fatalf("%d documents for acme ok", len(ok))
	}
	d := ok[0]
	// tenant.id is a property: no tenant is a dimension by default.
	if got := dimSets(d); !slices.EqualFunc(got, [][]string{{"outcome", "tenant.tier"}}, slices.Equal) {
		t.Errorf("dimension sets %v", got)
	}
	if d.directives[0].namespace != "Tenantkit/Test" || d.root["tenant.tier"] != "pro" {
		t.Errorf("namespace %q tier %v", d.directives[0].namespace, d.root["tenant.tier"])
	}
	want := map[string]float64{
		telemetry.RequestsName:            3,
		telemetry.DurationName + ".count": 3,
		telemetry.DurationName + ".sum":   0.06,
		telemetry.DurationName + ".min":   0.02,
		telemetry.DurationName + ".max":   0.02,
		telemetry.RequestSizeName:         300,
		telemetry.ResponseSizeName:        3000,
	}
	units := map[string]string{}
	for _, m := range d.directives[0].metrics {
		units[m.name] = m.unit
	}
	for name, v := range want {
		if got := num(t, d, name); math.Abs(got-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	if units[telemetry.RequestsName] != "Count" || units[telemetry.DurationName+".sum"] != "Seconds" || units[telemetry.ResponseSizeName] != "Bytes" {
		t.Errorf("units %v", units)
	}
	if d.timestamp < time.Now().Add(-time.Minute).UnixMilli() {
		t.Errorf("timestamp %d", d.timestamp)
	}
	rl := find(find(docs, "tenant.id", "acme"), "reason", "quota")
	if len(rl) != 1 || num(t, rl[0], telemetry.RateLimitDecisionsName) != 1 {
		t.Fatalf("rate-limit documents %v", rl)
	}
	if got := dimSets(rl[0]); !slices.EqualFunc(got, [][]string{{"outcome", "reason", "tenant.tier"}}, slices.Equal) {
		t.Errorf("rate-limit dimension sets %v", got)
	}

	// Delta temporality: the next interval carries only its own requests.
	p.metrics.RecordRequest(ctx, acme, telemetry.Request{Duration: time.Millisecond})
	docs = p.export(t)
	ok = find(find(docs, "tenant.id", "acme"), "outcome", "ok")
	if len(ok) != 1 || num(t, ok[0], telemetry.RequestsName) != 1 {
		t.Fatalf("second interval: %v", ok)
	}
	if s := p.exp.Stats(); s.Documents == 0 || s.Bytes == 0 || s.NonFinite+s.Oversize+s.Collisions+s.Renamed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestTopTenantsByTrafficAreDimensionsAndTheRestProperties(t *testing.T) {
	var reports []emf.Report
	p := newPipeline(t, emf.WithTopTenants(3), emf.WithReportHandler(func(r emf.Report) { reports = append(reports, r) }))
	ctx := context.Background()
	for i := range 10 {
		for range i + 1 {
			p.metrics.RecordRequest(ctx, tn(t, fmt.Sprintf("t%02d", i), "free"), telemetry.Request{})
		}
	}
	docs := p.export(t)
	for i := range 10 {
		id := fmt.Sprintf("t%02d", i)
		ds := find(docs, "tenant.id", id)
		if len(ds) != 1 {
			t.Fatalf("%s: %d documents", id, len(ds))
		}
		sets := dimSets(ds[0])
		top := i >= 7
		if top {
			// With and without tenant.id: the tier's metric counts every
			// tenant.
			want := [][]string{{"outcome", "tenant.tier", "tenant.id"}, {"outcome", "tenant.tier"}}
			if !slices.EqualFunc(sets, want, slices.Equal) {
				t.Errorf("%s: sets %v, want %v", id, sets, want)
			}
		} else if !slices.EqualFunc(sets, [][]string{{"outcome", "tenant.tier"}}, slices.Equal) {
			t.Errorf("%s: sets %v", id, sets)
		}
	}
	if len(reports) != 1 || reports[0].Tenants != 10 || reports[0].TenantDimensions != 3 || reports[0].Documents != 10 {
		t.Errorf("report %+v", reports)
	}
}

func TestTenantsOfNamedTiersAreDimensions(t *testing.T) {
	p := newPipeline(t, emf.WithTenantTiers("enterprise"))
	ctx := context.Background()
	p.metrics.RecordRequest(ctx, tn(t, "big", "enterprise"), telemetry.Request{})
	p.metrics.RecordRequest(ctx, tn(t, "small", "free"), telemetry.Request{})
	docs := p.export(t)
	if sets := dimSets(find(docs, "tenant.id", "big")[0]); len(sets) != 2 || !slices.Contains(sets[0], "tenant.id") {
		t.Errorf("enterprise tenant: %v", sets)
	}
	if sets := dimSets(find(docs, "tenant.id", "small")[0]); len(sets) != 1 || slices.Contains(sets[0], "tenant.id") {
		t.Errorf("free tenant: %v", sets)
	}
}

func TestOverflowAndInvalidTenantIDsAreNeverDimensions(t *testing.T) {
	var out bytes.Buffer
	exp := newExporter(t, &out, emf.WithTopTenants(10), emf.WithTenantTiers("free"))
	// "_other" is the value the telemetry guard folds tenants past its
	// bound into; "a b" is no tenant ID (an attribute from elsewhere).
	err := exp.Export(context.Background(), rmOf(
		point(telemetry.RequestsName, "{request}", 5, telemetry.TenantIDKey.String(telemetry.OverflowTenantID), telemetry.TenantTierKey.String("free")),
		point(telemetry.RequestsName, "{request}", 9, telemetry.TenantIDKey.String("a b"), telemetry.TenantTierKey.String("free")),
	))
	if err != nil {
		t.Fatal(err)
	}
	docs := checkOutput(t, out.Bytes())
	if len(docs) != 2 {
		t.Fatalf("%d documents", len(docs))
	}
	for _, d := range docs {
		if sets := dimSets(d); len(sets) != 1 || slices.Contains(sets[0], "tenant.id") {
			t.Errorf("tenant %v: sets %v", d.root["tenant.id"], sets)
		}
	}
	if s := exp.Stats(); s.InvalidTenantIDs != 1 {
		t.Errorf("stats %+v", s)
	}
}

// point is a Sum data point of one metric with attrs.
func point(name, unit string, v float64, attrs ...attribute.KeyValue) metricdata.Metrics {
	return metricdata.Metrics{Name: name, Unit: unit, Data: metricdata.Sum[float64]{
		Temporality: metricdata.DeltaTemporality, IsMonotonic: true,
		DataPoints: []metricdata.DataPoint[float64]{{Attributes: attribute.NewSet(attrs...), Time: time.Now(), Value: v}},
	}}
}

func rmOf(ms ...metricdata.Metrics) *metricdata.ResourceMetrics {
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: ms}}}
}

func newExporter(tb testing.TB, w *bytes.Buffer, opts ...emf.Option) *emf.Exporter {
	tb.Helper()
	exp, err := emf.New(w, "Tenantkit/Test", opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return exp
}

func TestMoreThan100MetricsAreSplitIntoDirectivesOfAtMost100(t *testing.T) {
	var out bytes.Buffer
	exp := newExporter(t, &out)
	var ms []metricdata.Metrics
	for i := range 250 {
		ms = append(ms, point(fmt.Sprintf("m%03d", i), "1", float64(i), attribute.String("outcome", "ok")))
	}
	if err := exp.Export(context.Background(), rmOf(ms...)); err != nil {
		t.Fatal(err)
	}
	docs := checkOutput(t, out.Bytes())
	var sizes []int
	seen := map[string]bool{}
	for _, d := range docs {
		sizes = append(sizes, len(d.directives[0].metrics))
		for _, m := range d.directives[0].metrics {
			seen[m.name] = true
		}
		if d.root["outcome"] != "ok" {
			t.Errorf("a split document lost its dimension")
		}
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) || len(seen) != 250 {
		t.Errorf("documents of %v metrics, %d distinct", sizes, len(seen))
	}
	if s := exp.Stats(); s.Splits != 1 || s.Documents != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestDocumentsOverTheSizeBoundDropPropertiesThenSplit(t *testing.T) {
	var out bytes.Buffer
	exp := newExporter(t, &out, emf.WithMaxEventSize(4096), emf.WithMaxPropertyLength(8000))
	big := strings.Repeat("x", 6000)
	// A property that alone is over the bound: dropped, the metric kept.
	if err := exp.Export(context.Background(), rmOf(point("m", "1", 1, attribute.String("note", big)))); err != nil {
		t.Fatal(err)
	}
	docs := checkOutput(t, out.Bytes())
	if len(docs) != 1 || docs[0].root["note"] != nil || num(t, docs[0], "m") != 1 {
		t.Fatalf("docs %v", docs)
	}
	if s := exp.Stats(); s.DroppedProperties != 1 {
		t.Errorf("stats %+v", s)
	}
	// Metrics with long names: split by size, each document under 4096.
	out.Reset()
	var ms []metricdata.Metrics
	for i := range 60 {
		ms = append(ms, point(fmt.Sprintf("%s%03d", strings.Repeat("n", 150), i), "1", 1))
	}
	if err := exp.Export(context.Background(), rmOf(ms...)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		if len(line)+1 > 4096 {
			t.Errorf("a document of %d bytes", len(line)+1)
		}
		d, err := checkDocument(line)
		if err != nil {
			t.Fatal(err)
		}
		n += len(d.directives[0].metrics)
	}
	if n != 60 || exp.Stats().Splits == 0 {
		t.Errorf("%d metrics written, stats %+v", n, exp.Stats())
	}
}

func TestTiersPastTheBoundFoldIntoOneValue(t *testing.T) {
	var out bytes.Buffer
	exp := newExporter(t, &out, emf.WithMaxTiers(2))
	var ms []metricdata.Metrics
	for _, tier := range []string{"free", "pro", "enterprise"} {
		ms = append(ms, point("m", "1", 1, telemetry.TenantIDKey.String("t-"+tier), telemetry.TenantTierKey.String(tier)))
	}
	if err := exp.Export(context.Background(), rmOf(ms...)); err != nil {
		t.Fatal(err)
	}
	var tiers []string
	for _, d := range checkOutput(t, out.Bytes()) {
		tiers = append(tiers, d.root["tenant.tier"].(string))
	}
	if !slices.Equal(tiers, []string{"free", "pro", "_other"}) || exp.Stats().FoldedTiers != 1 {
		t.Errorf("tiers %v, stats %+v", tiers, exp.Stats())
	}
}

func TestStorageResolutionAndWithoutTierDimension(t *testing.T) {
	var out bytes.Buffer
	exp := newExporter(t, &out, emf.WithStorageResolution(1), emf.WithTierDimension(false), emf.WithDimensions())
	if err := exp.Export(context.Background(), rmOf(point("m", "s", 1, telemetry.TenantTierKey.String("pro"), attribute.String("outcome", "ok")))); err != nil {
		t.Fatal(err)
	}
	d := checkOutput(t, out.Bytes())[0]
	if got := dimSets(d); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("dimension sets %v, want one empty set", got)
	}
	if d.directives[0].metrics[0].resolution != 1 || d.root["tenant.tier"] != "pro" || d.root["outcome"] != "ok" {
		t.Errorf("document %+v", d)
	}
}

func TestNewRefusesInvalidOptions(t *testing.T) {
	keys := make([]string, 29)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	var out bytes.Buffer
	for name, c := range map[string]struct {
		ns   string
		opts []emf.Option
	}{
		"empty namespace":      {"", nil},
		"AWS namespace":        {"AWS/Lambda", nil},
		"namespace newline":    {"a\nb", nil},
		"negative top":         {"N", []emf.Option{emf.WithTopTenants(-1)}},
		"bad tier":             {"N", []emf.Option{emf.WithTenantTiers("a b")}},
		"29 dimensions":        {"N", []emf.Option{emf.WithDimensions(keys...)}},
		"tenant.id dimension":  {"N", []emf.Option{emf.WithDimensions("tenant.id")}},
		"duplicate dimension":  {"N", []emf.Option{emf.WithDimensions("a", "a")}},
		"colon dimension":      {"N", []emf.Option{emf.WithDimensions(":a")}},
		"resolution 30":        {"N", []emf.Option{emf.WithStorageResolution(30)}},
		"event size too big":   {"N", []emf.Option{emf.WithMaxEventSize(emf.MaxEventSize + 1)}},
		"event size too small": {"N", []emf.Option{emf.WithMaxEventSize(100)}},
		"max tiers 0":          {"N", []emf.Option{emf.WithMaxTiers(0)}},
		"nil report":           {"N", []emf.Option{emf.WithReportHandler(nil)}},
		"nil option":           {"N", []emf.Option{nil}},
	} {
		if _, err := emf.New(&out, c.ns, c.opts...); !errors.Is(err, emf.ErrInvalidOption) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := emf.New(nil, "N"); !errors.Is(err, emf.ErrInvalidOption) {
		t.Errorf("nil writer: %v", err)
	}
	if _, err := emf.New(&out, "N", emf.WithDimensions(keys[:28]...)); err != nil {
		t.Errorf("28 dimensions: %v", err)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestWriteErrorsEndTheExportAndShutdownIsFinal(t *testing.T) {
	w := &failWriter{n: 1}
	exp, err := emf.New(w, "N")
	if err != nil {
		t.Fatal(err)
	}
	rm := rmOf(point("a", "1", 1, attribute.String("outcome", "ok")), point("b", "1", 1, attribute.String("outcome", "error")))
	if err := exp.Export(context.Background(), rm); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err %v", err)
	}
	if s := exp.Stats(); s.Documents != 1 {
		t.Errorf("stats %+v", s)
	}
	ctx := context.Background()
	if err := exp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exp.Export(ctx, rm); !errors.Is(err, emf.ErrShutdown) {
		t.Errorf("export after shutdown: %v", err)
	}
	if err := exp.Shutdown(ctx); !errors.Is(err, emf.ErrShutdown) {
		t.Errorf("second shutdown: %v", err)
	}
}

func TestPeriodicReaderExportsAndFlushesOnShutdown(t *testing.T) {
	var out syncBuffer
	exp, err := emf.New(&out, "N")
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(20*time.Millisecond))))
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	m.RecordRequest(context.Background(), tn(t, "acme", "pro"), telemetry.Request{})
	deadline := time.Now().Add(5 * time.Second)
	for exp.Stats().Documents == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if exp.Stats().Documents == 0 {
		t.Fatal("no periodic export within 5 s")
	}
	m.RecordRequest(context.Background(), tn(t, "globex", "free"), telemetry.Request{})
	if err := mp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	docs := checkOutput(t, out.Bytes())
	if len(find(docs, "tenant.id", "globex")) != 1 {
		t.Errorf("the last interval was not exported on shutdown")
	}
}

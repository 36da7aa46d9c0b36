package emf_test

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/emf"
	"github.com/tenantkit/tenantkit/telemetry"
)

// Values an attacker controls end up in attributes: a tenant ID from a
// token that another layer did not check, a route or user agent an
// instrumentation library records. The output must stay valid EMF.
var hostile = []string{
	`"`, `\`, `"},"_aws":{"Timestamp":0}`, "line\nbreak", "cr\rlf", "nul\x00", "tab\t",
	"\x7f", "\xff\xfe invalid UTF-8 \xc3", "\u2028\u2029", "über", "😀", "", " ", ":colon",
	"</script>", strings.Repeat("A", 5000), strings.Repeat("é", 700),
}

func TestHostileAttributesAndNamesProduceValidDocuments(t *testing.T) {
	var out bytes.Buffer
	exp := newExporter(t, &out, emf.WithTopTenants(100))
	var ms []metricdata.Metrics
	for i, h := range hostile {
		ms = append(ms,
			point(telemetry.RequestsName, "{request}", float64(i+1),
				telemetry.TenantIDKey.String(h), telemetry.TenantTierKey.String(h),
				attribute.String("outcome", h), attribute.String(h, h), attribute.String("_aws", h),
				attribute.StringSlice("list", []string{h, h}), attribute.Float64("ratio", math.NaN())),
			point(h, h, 1, attribute.String("outcome", "ok"), attribute.String(h, "collides with the metric name")),
		)
	}
	ms = append(ms, point("nan", "1", math.NaN()), point("inf", "1", math.Inf(1)))
	ms = append(ms, metricdata.Metrics{Name: "hist", Unit: "s", Data: metricdata.Histogram[float64]{
		Temporality: metricdata.DeltaTemporality,
		DataPoints: []metricdata.HistogramDataPoint[float64]{{
			Attributes: attribute.NewSet(attribute.String("outcome", "ok")), Time: time.Now(),
			Count: 2, Sum: math.Inf(1), Min: metricdata.NewExtrema(1.0), Max: metricdata.NewExtrema(math.NaN()),
		}},
	}})
	if err := exp.Export(context.Background(), &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: ms}}}); err != nil {
		t.Fatal(err)
	}
	docs := checkOutput(t, out.Bytes())
	for _, d := range docs {
		if sets := dimSets(d); len(sets) > 1 {
			t.Errorf("a hostile tenant ID became a dimension: %v (%q)", sets, d.root["tenant.id"])
		}
		if _, ok := d.root["_aws"].(map[string]any)["Timestamp"]; !ok {
			t.Errorf("metadata overwritten")
		}
	}
	s := exp.Stats()
	if s.NonFinite != 4 || s.Renamed == 0 || s.Collisions == 0 || s.TruncatedProperties == 0 || s.InvalidTenantIDs == 0 {
		t.Errorf("stats %+v", s)
	}
}

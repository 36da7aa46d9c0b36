package emf_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tenantkit/tenantkit/emf"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// tenantkit's metrics as EMF on standard output, as on Lambda: tenants of
// the enterprise tier and the 20 busiest get per-tenant metrics, every
// other tenant is a property of the log event.
func Example() {
	exp, err := emf.New(os.Stdout, "Orders",
		emf.WithTopTenants(20), emf.WithTenantTiers("enterprise"))
	if err != nil {
		log.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	defer mp.Shutdown(context.Background()) // exports the last interval
	metrics, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	_ = metrics // give it to httpmw.Telemetry and grpcmw's telemetry interceptors
}

// One document: the tier and outcome are dimensions, acme's ID a property.
func ExampleNew() {
	var out strings.Builder
	exp, err := emf.New(&out, "Orders", emf.WithDimensions("outcome"))
	if err != nil {
		log.Fatal(err)
	}
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(exp.Temporality))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	metrics, err := telemetry.NewMetrics(telemetry.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	acme, err := tenant.New("acme", "pro")
	if err != nil {
		log.Fatal(err)
	}
	metrics.RecordRequest(context.Background(), acme, telemetry.Request{Duration: 30 * time.Millisecond, ResponseBytes: 512})

	if err := mp.ForceFlush(context.Background()); err != nil {
		log.Fatal(err)
	}
	var rm = collect(reader)
	if err := exp.Export(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	// The timestamp varies; the rest does not.
	doc := out.String()
	fmt.Print(doc[strings.Index(doc, `"CloudWatchMetrics"`):])
	// Output:
	// "CloudWatchMetrics":[{"Namespace":"Orders","Dimensions":[["outcome","tenant.tier"]],"Metrics":[{"Name":"tenantkit.server.requests","Unit":"Count"},{"Name":"tenantkit.server.duration.count","Unit":"Count"},{"Name":"tenantkit.server.duration.sum","Unit":"Seconds"},{"Name":"tenantkit.server.duration.min","Unit":"Seconds"},{"Name":"tenantkit.server.duration.max","Unit":"Seconds"},{"Name":"tenantkit.server.request.size","Unit":"Bytes"},{"Name":"tenantkit.server.response.size","Unit":"Bytes"}]}]},"outcome":"ok","tenant.tier":"pro","tenantkit.server.requests":1,"tenantkit.server.duration.count":1,"tenantkit.server.duration.sum":0.03,"tenantkit.server.duration.min":0.03,"tenantkit.server.duration.max":0.03,"tenantkit.server.request.size":0,"tenantkit.server.response.size":512,"tenant.id":"acme"}
}

func collect(r *sdkmetric.ManualReader) (rm metricdata.ResourceMetrics) {
	if err := r.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	return rm
}

package spanproc_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tenantkit/tenantkit/telemetry/spanproc"
	"github.com/tenantkit/tenantkit/tenant"
)

// Register the span processor in front of the exporting one; every span
// started under a tenant context then carries the tenant.
func ExampleNew() {
	recorder := tracetest.NewSpanRecorder() // stands in for the exporter
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(spanproc.New()),
		sdktrace.WithSpanProcessor(recorder),
	)
	defer tp.Shutdown(context.Background())

	acme, _ := tenant.New("acme", "pro")
	ctx := tenant.NewContext(context.Background(), acme)
	_, span := tp.Tracer("example").Start(ctx, "SELECT orders")
	span.End()

	for _, kv := range recorder.Ended()[0].Attributes() {
		fmt.Println(kv.Key, "=", kv.Value.AsString())
	}
	// Output:
	// tenant.id = acme
	// tenant.tier = pro
}

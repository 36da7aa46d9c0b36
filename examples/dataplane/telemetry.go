package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"

	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/telemetry/spanproc"
	"github.com/tenantkit/tenantkit/tenant"
)

// demoTelemetry wires OpenTelemetry the way a service would: a tracer
// provider with tenantkit's span processor, a meter provider sized for the
// tenant cardinality guard, per-tenant metrics and usage metering.
type demoTelemetry struct {
	tp      *sdktrace.TracerProvider
	mp      *sdkmetric.MeterProvider
	metrics *telemetry.Metrics
	usage   *telemetry.Usage
}

// newTelemetry sets up the providers; with export, spans and metrics are
// printed to out.
func newTelemetry(out io.Writer, export bool) (*demoTelemetry, error) {
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(spanproc.New())}
	var reader sdkmetric.Reader = sdkmetric.NewManualReader()
	if export {
		spans, err := stdouttrace.New(stdouttrace.WithWriter(out))
		if err != nil {
			return nil, err
		}
		tpOpts = append(tpOpts, sdktrace.WithSyncer(spans))
		metrics, err := stdoutmetric.New(stdoutmetric.WithWriter(out))
		if err != nil {
			return nil, err
		}
		reader = sdkmetric.NewPeriodicReader(metrics, sdkmetric.WithInterval(time.Hour)) // flushed at shutdown
	}
	t := &demoTelemetry{
		tp: sdktrace.NewTracerProvider(tpOpts...),
		mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
			sdkmetric.WithCardinalityLimit(telemetry.SDKCardinalityLimit(telemetry.DefaultMaxTenants))),
	}
	var err error
	if t.usage, err = telemetry.NewUsage(telemetry.WithMeterProvider(t.mp)); err != nil {
		return nil, err
	}
	if t.metrics, err = telemetry.NewMetrics(telemetry.WithMeterProvider(t.mp), telemetry.WithUsage(t.usage)); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *demoTelemetry) otelhttpOptions() []otelhttp.Option {
	return []otelhttp.Option{otelhttp.WithTracerProvider(t.tp), otelhttp.WithMeterProvider(t.mp)}
}

func (t *demoTelemetry) grpcServerOptions(opts ...grpc.ServerOption) []grpc.ServerOption {
	// The backend's own per-tenant metrics would use grpcmw's
	// UnaryServerTelemetry; the demo meters usage at the edge only, so
	// each user request counts once.
	return append(opts,
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(t.tp), otelgrpc.WithMeterProvider(t.mp),
			otelgrpc.WithPropagators(propagation.TraceContext{}))))
}

func (t *demoTelemetry) grpcClientOptions(opts ...grpc.DialOption) []grpc.DialOption {
	return append(opts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(t.tp), otelgrpc.WithMeterProvider(t.mp),
		otelgrpc.WithPropagators(propagation.TraceContext{}))))
}

// recordDecision counts every rate-limit decision per tenant.
func (t *demoTelemetry) recordDecision(r *http.Request, d ratelimit.Decision, err error) {
	tn, _ := tenant.FromContext(r.Context())
	switch {
	case err != nil:
		t.metrics.RecordRateLimitBackendError(r.Context(), tn, "error")
	case d.Allowed:
		t.metrics.RecordRateLimit(r.Context(), tn, "allowed", "")
	default:
		t.metrics.RecordRateLimit(r.Context(), tn, "denied", d.DeniedBy.String())
	}
}

// usageTable prints this period's usage per tenant and splits an example
// infrastructure bill across tenants by usage.
func (t *demoTelemetry) usageTable(out io.Writer) error {
	snap := t.usage.Current()
	report, err := telemetry.AttributeCost(snap.Tenants, telemetry.CostModel{
		Cost:    100_000, // $1,000.00 of infrastructure this period
		Weights: telemetry.Weights{Requests: 4, HandlerTime: 4, BytesIn: 1, BytesOut: 1},
		Prices:  map[string]telemetry.Cents{"free": 0, "pro": 9_900, "enterprise": 99_900},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n7. Usage and cost, %s to %s (a $1,000.00 bill split by usage)\n",
		snap.Start.Format("2006-01-02"), snap.End.Format("2006-01-02"))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tTIER\tREQUESTS\tHANDLER TIME\tBYTES OUT\tCOST\tPRICE\tMARGIN\t")
	for _, r := range report.Tenants {
		flag := ""
		if r.OverCost {
			flag = "costs more than it pays"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%d\t%v\t%v\t%v\t%s\n", r.TenantID, r.Tier, r.Requests,
			r.HandlerTime.Round(time.Microsecond), r.BytesOut, r.Cost, r.Price, r.Margin, flag)
	}
	return tw.Flush()
}

func (t *demoTelemetry) shutdown() {
	ctx := context.Background()
	_ = t.tp.Shutdown(ctx)
	_ = t.mp.Shutdown(ctx)
	_ = t.usage.Close()
}

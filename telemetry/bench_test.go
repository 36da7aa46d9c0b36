package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// BenchmarkLogHandler logs one record with a tenant context through the
// JSON handler alone and through the tenant wrapper around it. "base"
// writes the record as it is; "base-same-output" has the caller add the two
// tenant attributes by hand, so it writes what "wrapped" writes (the
// wrapper, which has them pre-formatted, should cost less than that); the
// "grouped" pair does the same with a group open. The "per-request-logger"
// pair derives a logger with With for every record, as request handlers do:
// the wrapper then never gets past its first record per handler.
func BenchmarkLogHandler(b *testing.B) {
	ctx := tenant.NewContext(context.Background(), mustTenant(b, "acme", "pro"))
	base := slog.NewJSONHandler(io.Discard, nil)
	attrs := []slog.Attr{slog.String("method", "GET"), slog.String("path", "/v1/items"), slog.Int("status", 200)}
	withTenant := append(attrs[:len(attrs):len(attrs)], slog.String("tenant.id", "acme"), slog.String("tenant.tier", "pro"))
	for _, bc := range []struct {
		name  string
		l     *slog.Logger
		attrs []slog.Attr
	}{
		{"base", slog.New(base), attrs},
		{"base-same-output", slog.New(base), withTenant},
		{"wrapped", slog.New(telemetry.NewLogHandler(base)), attrs},
		{"grouped-base-same-output", slog.New(base).WithGroup("req"), withTenant},
		{"grouped-wrapped", slog.New(telemetry.NewLogHandler(base)).WithGroup("req"), attrs},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.l.LogAttrs(ctx, slog.LevelInfo, "request served", bc.attrs...)
			}
		})
	}
	// A logger derived per request (l.With("request_id", id)) logs once and
	// is dropped: this pair measures the With plus that one record, where a
	// wrapper that did per-handler setup on the first record would lose.
	for _, bc := range []struct {
		name string
		l    *slog.Logger
	}{
		{"per-request-logger-base", slog.New(base)},
		{"per-request-logger-wrapped", slog.New(telemetry.NewLogHandler(base))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.l.With("request_id", "r1").LogAttrs(ctx, slog.LevelInfo, "request served", attrs...)
			}
		})
	}
}

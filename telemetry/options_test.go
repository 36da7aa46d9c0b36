package telemetry_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/tenantkit/tenantkit/telemetry"
)

// Every invalid option value, and every option given to the constructor it
// does not apply to, fails the constructor with an error wrapping
// ErrInvalidOption that names the option; none is ignored.
func TestInvalidOptionsFailConstruction(t *testing.T) {
	empty := func(t time.Time) (time.Time, time.Time) { return t, t }
	past := func(t time.Time) (time.Time, time.Time) { return t.Add(-2 * time.Hour), t.Add(-time.Hour) }
	var typedNilMP *noop.MeterProvider
	usage, err := telemetry.NewUsage()
	if err != nil {
		t.Fatal(err)
	}
	defer usage.Close()
	var typedNilUsage *telemetry.Usage
	newMetrics := func(o ...telemetry.Option) error { _, err := telemetry.NewMetrics(o...); return err }
	newUsage := func(o ...telemetry.Option) error {
		u, err := telemetry.NewUsage(o...)
		if u != nil {
			u.Close()
		}
		return err
	}
	both := map[string]func(...telemetry.Option) error{"NewMetrics": newMetrics, "NewUsage": newUsage}
	metricsOnly := map[string]func(...telemetry.Option) error{"NewMetrics": newMetrics}
	usageOnly := map[string]func(...telemetry.Option) error{"NewUsage": newUsage}
	for _, tc := range []struct {
		name  string
		opt   telemetry.Option
		ctors map[string]func(...telemetry.Option) error
	}{
		{"WithMeterProvider(nil)", telemetry.WithMeterProvider(nil), both},
		{"WithMeterProvider(a nil *noop.MeterProvider)", telemetry.WithMeterProvider(typedNilMP), both},
		{"WithMaxTenants(0)", telemetry.WithMaxTenants(0), both},
		{"WithMaxTenants(-1)", telemetry.WithMaxTenants(-1), both},
		{"WithUsage(nil)", telemetry.WithUsage(nil), metricsOnly},
		{"WithUsage(nil)", telemetry.WithUsage(typedNilUsage), metricsOnly},
		{"WithUsage applies to NewMetrics", telemetry.WithUsage(usage), usageOnly},
		{"WithUsagePeriod(nil)", telemetry.WithUsagePeriod(nil), usageOnly},
		{"WithUsagePeriod", telemetry.WithUsagePeriod(empty), usageOnly},
		{"WithUsagePeriod", telemetry.WithUsagePeriod(past), usageOnly},
		{"WithUsagePeriod", telemetry.WithUsagePeriod(telemetry.Every(0)), usageOnly},
		{"WithUsagePeriod applies to NewUsage", telemetry.WithUsagePeriod(telemetry.CalendarDay), metricsOnly},
		{"WithClock(nil)", telemetry.WithClock(nil), usageOnly},
		{"WithClock applies to NewUsage", telemetry.WithClock(time.Now), metricsOnly},
		{"a nil Option", nil, both},
	} {
		for ctor, build := range tc.ctors {
			err := build(tc.opt)
			if !errors.Is(err, telemetry.ErrInvalidOption) || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("%s(%s): %v, want an error wrapping ErrInvalidOption that names the option", ctor, tc.name, err)
			}
		}
	}
	// Valid values still work.
	u, err := telemetry.NewUsage(telemetry.WithMaxTenants(1), telemetry.WithUsagePeriod(telemetry.Every(time.Hour)), telemetry.WithClock(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := telemetry.NewMetrics(telemetry.WithUsage(u), telemetry.WithMaxTenants(1)); err != nil {
		t.Fatal(err)
	}
}

package telemetry_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/telemetry"
)

// Every invalid option value fails the constructor with an error wrapping
// ErrInvalidOption that names the option; none is ignored.
func TestInvalidOptionsFailConstruction(t *testing.T) {
	empty := func(t time.Time) (time.Time, time.Time) { return t, t }
	past := func(t time.Time) (time.Time, time.Time) { return t.Add(-2 * time.Hour), t.Add(-time.Hour) }
	cases := map[string]telemetry.Option{
		"WithMeterProvider(nil)": telemetry.WithMeterProvider(nil),
		"WithMaxTenants(0)":      telemetry.WithMaxTenants(0),
		"WithMaxTenants(-1)":     telemetry.WithMaxTenants(-1),
		"WithUsage(nil)":         telemetry.WithUsage(nil),
		"WithPeriod(nil)":        telemetry.WithPeriod(nil),
		"WithClock(nil)":         telemetry.WithClock(nil),
		"a nil Option":           nil,
	}
	for name, o := range cases {
		for ctor, build := range map[string]func(...telemetry.Option) error{
			"NewMetrics": func(o ...telemetry.Option) error { _, err := telemetry.NewMetrics(o...); return err },
			"NewUsage": func(o ...telemetry.Option) error {
				u, err := telemetry.NewUsage(o...)
				if u != nil {
					u.Close()
				}
				return err
			},
		} {
			err := build(o)
			if !errors.Is(err, telemetry.ErrInvalidOption) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s(%s): %v, want an error wrapping ErrInvalidOption that names the option", ctor, name, err)
			}
		}
	}
	for name, p := range map[string]telemetry.Period{"empty": empty, "not containing now": past} {
		u, err := telemetry.NewUsage(telemetry.WithPeriod(p))
		if !errors.Is(err, telemetry.ErrInvalidOption) || !strings.Contains(err.Error(), "WithPeriod") {
			t.Errorf("WithPeriod(%s): %v", name, err)
		}
		if u != nil {
			u.Close()
		}
	}
	// Valid values still work.
	u, err := telemetry.NewUsage(telemetry.WithMaxTenants(1), telemetry.WithPeriod(telemetry.Every(time.Hour)), telemetry.WithClock(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := telemetry.NewMetrics(telemetry.WithUsage(u), telemetry.WithMaxTenants(1)); err != nil {
		t.Fatal(err)
	}
}

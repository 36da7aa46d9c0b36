package redisusage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/tenantkit/tenantkit/telemetry"
)

// TestNewRejectsInvalidOptions: every invalid value is a construction
// error naming the option, wrapping this package's and telemetry's
// ErrInvalidOption.
func TestNewRejectsInvalidOptions(t *testing.T) {
	c := newClient(t, "127.0.0.1:1")
	u := newUsage(t, newClock(t0))
	for _, tc := range []struct {
		name string
		opt  Option
	}{
		{"WithPrefix", WithPrefix("svc:{a}:")},
		{"WithPrefix", WithPrefix("}x")},
		{"WithMaxTenants", WithMaxTenants(0)},
		{"WithInterval", WithInterval(0)},
		{"WithInterval", WithInterval(-time.Second)},
		{"WithInterval", WithInterval(31 * time.Minute)}, // more than half the hour
		{"WithFlushTimeout", WithFlushTimeout(0)},
		{"WithRetention", WithRetention(-time.Second)},
		{"WithMaxClosedPeriods", WithMaxClosedPeriods(-1)},
		{"WithReplicaID", WithReplicaID("")},
		{"WithReplicaID", WithReplicaID("a b")},
		{"WithReplicaID", WithReplicaID(strings.Repeat("a", 129))},
		{"WithErrorHandler", WithErrorHandler(nil)},
		{"WithMeterProvider", WithMeterProvider(nil)},
		{"nil Option", nil},
	} {
		f, err := New(c, u, tc.opt)
		if f != nil || !errors.Is(err, ErrInvalidOption) || !errors.Is(err, telemetry.ErrInvalidOption) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: %v, %v; want an error wrapping ErrInvalidOption that names it", tc.name, f, err)
		}
	}
	f, err := New(c, u, WithPrefix("svc:a:"), WithReplicaID("pod-7"), WithInterval(time.Minute))
	if err != nil || f.prefix != "svc:a:" || f.ReplicaID() != "pod-7" {
		t.Fatalf("valid options: %v", err)
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// TestNilArguments: a nil client, an interface holding a nil client, or a
// nil usage table fail at New and Read, naming what is missing.
func TestNilArguments(t *testing.T) {
	u := newUsage(t, newClock(t0))
	var typed *redis.Client
	var cluster *redis.ClusterClient
	for name, c := range map[string]redis.UniversalClient{"nil": nil, "typed nil": typed, "typed nil cluster": cluster} {
		if f, err := New(c, u); f != nil || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "client") {
			t.Errorf("New, %s client: %v, %v", name, f, err)
		}
		if _, err := Read(context.Background(), c, t0, t0.Add(time.Hour)); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "client") {
			t.Errorf("Read, %s client: %v", name, err)
		}
	}
	c := newClient(t, "127.0.0.1:1")
	if f, err := New(c, nil); f != nil || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "Usage") {
		t.Errorf("New with a nil usage table: %v, %v", f, err)
	}
}

// TestReadRejectsFlusherOptions: Read takes the prefix and the bound only;
// an empty period is an error too.
func TestReadRejectsFlusherOptions(t *testing.T) {
	c := newClient(t, "127.0.0.1:1")
	ctx := context.Background()
	for _, o := range []Option{WithInterval(time.Second), WithFlushTimeout(time.Second), WithRetention(time.Hour),
		WithMaxClosedPeriods(1), WithReplicaID("x"), WithErrorHandler(func(context.Context, error) {}),
		WithMeterProvider(noop.NewMeterProvider())} {
		if _, err := Read(ctx, c, t0, t0.Add(time.Hour), o); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "applies to New") {
			t.Errorf("Read with a Flusher option: %v", err)
		}
	}
	if _, err := Read(ctx, c, t0, t0); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("Read of an empty period: %v", err)
	}
}

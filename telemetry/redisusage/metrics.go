package redisusage

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the meter a [Flusher] creates
// its instruments with.
const ScopeName = "github.com/tenantkit/tenantkit/telemetry/redisusage"

// Instrument names: asynchronous instruments read from [Flusher.Stats] at
// each collection, without attributes.
const (
	// FlushFailuresName counts flush attempts Redis did not confirm
	// (counter, unit {attempt}).
	FlushFailuresName = "tenantkit.usage.flush.failures"
	// DroppedRequestsName counts the requests whose usage was dropped
	// past [WithMaxClosedPeriods] (counter, unit {request}).
	DroppedRequestsName = "tenantkit.usage.flush.dropped"
	// UnflushedRequestsName is the number of requests metered and not yet
	// confirmed by Redis at the end of the last flush (gauge, unit
	// {request}).
	UnflushedRequestsName = "tenantkit.usage.flush.unflushed"
)

// register creates the Flusher's instruments on mp.
func (f *Flusher) register(mp metric.MeterProvider) (metric.Registration, error) {
	meter := mp.Meter(ScopeName)
	var err, e error
	failures, e := meter.Int64ObservableCounter(FlushFailuresName, metric.WithUnit("{attempt}"),
		metric.WithDescription("Flush attempts of tenant usage that Redis did not confirm."))
	err = errors.Join(err, e)
	dropped, e := meter.Int64ObservableCounter(DroppedRequestsName, metric.WithUnit("{request}"),
		metric.WithDescription("Requests whose usage was dropped before Redis confirmed it."))
	err = errors.Join(err, e)
	unflushed, e := meter.Int64ObservableGauge(UnflushedRequestsName, metric.WithUnit("{request}"),
		metric.WithDescription("Requests metered and not yet confirmed by Redis."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := f.Stats()
		o.ObserveInt64(failures, int64(s.Failures))
		o.ObserveInt64(dropped, s.Dropped.Requests)
		o.ObserveInt64(unflushed, s.Unflushed.Requests)
		return nil
	}, failures, dropped, unflushed)
}

package httpmw_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// mustPanic runs build and returns what it panicked with, failing t when it
// returned.
func mustPanic(t *testing.T, build func()) (r any) {
	t.Helper()
	defer func() { r = recover() }()
	build()
	t.Fatal("no panic")
	return nil
}

// An invalid option value makes its constructor panic when the middleware
// is built, with an error wrapping ErrInvalidOption that names the
// constructor and the option.
func TestInvalidOptionPanics(t *testing.T) {
	f := newFixture(t)
	l, ps := tenanttest.Local(t), rlPlans(t)
	key := func(r *http.Request) string { return r.RemoteAddr }
	for _, tc := range []struct {
		want  string // in the message
		build func()
	}{
		{"Authenticate: invalid option WithPublic(nil)", func() { httpmw.Authenticate(f.v, httpmw.WithPublic(nil)) }},
		{"Authenticate: invalid option a nil AuthOption", func() { httpmw.Authenticate(f.v, nil) }},
		{"Authenticate: invalid option WithAssertion(nil)", func() { httpmw.Authenticate(f.v, httpmw.WithAssertion(nil)) }},
		{"Authenticate: invalid option WithAuthErrorHandler(nil)", func() { httpmw.Authenticate(f.v, httpmw.WithAuthErrorHandler(nil)) }},
		{`Authenticate: invalid option WithRealm("a\r\nb")`, func() { httpmw.Authenticate(f.v, httpmw.WithRealm("a\r\nb")) }},
		{`Authenticate: invalid option WithSpoofableHeaders("")`, func() { httpmw.Authenticate(f.v, httpmw.WithSpoofableHeaders("X-Org", "")) }},
		{`Authenticate: invalid option WithSpoofableHeadersOnly("")`, func() { httpmw.Authenticate(f.v, httpmw.WithSpoofableHeadersOnly("")) }},
		{"RateLimit: invalid option WithCost(nil)", func() { httpmw.RateLimit(l, ps, httpmw.WithCost(nil)) }},
		{"RateLimit: invalid option WithUntenantedKey(nil)", func() { httpmw.RateLimit(l, ps, httpmw.WithUntenantedKey(nil)) }},
		{"RateLimit: invalid option WithDecisionHook(nil)", func() { httpmw.RateLimit(l, ps, httpmw.WithDecisionHook(nil)) }},
		{"RateLimit: invalid option WithUntenantedLimiter(nil)", func() {
			httpmw.RateLimit(l, ps, httpmw.WithUntenantedKey(key), httpmw.WithUntenantedLimiter(nil))
		}},
		{"RateLimit: invalid option WithUntenantedLimiter(a nil *ratelimit.Local)", func() {
			httpmw.RateLimit(l, ps, httpmw.WithUntenantedKey(key), httpmw.WithUntenantedLimiter((*ratelimit.Local)(nil)))
		}},
		{"RateLimit: invalid option WithUntenantedLimiter without WithUntenantedKey", func() {
			httpmw.RateLimit(l, ps, httpmw.WithUntenantedLimiter(tenanttest.Local(t)))
		}},
		{"RateLimit: invalid option a nil RateLimitOption", func() { httpmw.RateLimit(l, ps, nil) }},
		{"Telemetry: invalid option WithLabeler(nil)", func() { httpmw.Telemetry(newMetrics(t), httpmw.WithLabeler(nil)) }},
		{"Telemetry: invalid option a nil TelemetryOption", func() { httpmw.Telemetry(newMetrics(t), nil) }},
		{`Transport: invalid option WithAllowedHosts("https://orders.internal")`, func() {
			httpmw.Transport(nil, tenant.Relay{}, httpmw.WithAllowedHosts("https://orders.internal"))
		}},
		{`Transport: invalid option WithAllowedHosts("")`, func() { httpmw.Transport(nil, tenant.Relay{}, httpmw.WithAllowedHosts("")) }},
		{"Transport: invalid option WithAllowedHosts(): no host", func() { httpmw.Transport(nil, tenant.Relay{}, httpmw.WithAllowedHosts()) }},
		{"Transport: invalid option WithDestinationCheck(nil)", func() { httpmw.Transport(nil, tenant.Relay{}, httpmw.WithDestinationCheck(nil)) }},
		{"Transport: invalid option a nil TransportOption", func() { httpmw.Transport(nil, tenant.Relay{}, nil) }},
	} {
		t.Run(tc.want, func(t *testing.T) {
			r := mustPanic(t, tc.build)
			err, _ := r.(error)
			if !errors.Is(err, httpmw.ErrInvalidOption) || err.Error() != "httpmw: "+tc.want && !strings.HasPrefix(err.Error(), "httpmw: "+tc.want+":") {
				t.Fatalf("panic %v, want an error wrapping ErrInvalidOption: httpmw: %s", r, tc.want)
			}
		})
	}
}

// A nil dependency, or an interface holding a typed nil, makes its
// constructor panic when the middleware is built, naming the parameter.
func TestNilDependencyPanics(t *testing.T) {
	f := newFixture(t)
	l, ps := tenanttest.Local(t), rlPlans(t)
	for _, tc := range []struct {
		want  string
		build func()
	}{
		{"Authenticate: verifier is nil and neither WithAssertion nor WithExtractor is given", func() { httpmw.Authenticate(nil) }},
		{"Authenticate: verifier is a nil *authn.Verifier", func() { httpmw.Authenticate((*authn.Verifier)(nil)) }},
		{"Authenticate: verifier is a nil *authn.Verifier", func() {
			httpmw.Authenticate((*authn.Verifier)(nil), httpmw.WithAssertion(tenanttest.Assertion(t, "orders")))
		}},
		{"RateLimit: limiter is nil", func() { httpmw.RateLimit(nil, ps) }},
		{"RateLimit: limiter is a nil *ratelimit.Local", func() { httpmw.RateLimit((*ratelimit.Local)(nil), ps) }},
		{"RateLimit: plans is a nil *ratelimit.Plans", func() { httpmw.RateLimit(l, nil) }},
		{"Telemetry: metrics is a nil *telemetry.Metrics", func() { httpmw.Telemetry(nil) }},
		{"Transport: propagator is nil", func() { httpmw.Transport(nil, nil) }},
		{"Transport: propagator is a nil *authn.Assertion", func() { httpmw.Transport(nil, (*authn.Assertion)(nil)) }},
		{"Transport: propagator is a tenant.Relay whose Verifier is a nil *authn.Verifier", func() {
			httpmw.Transport(nil, tenant.Relay{Verifier: (*authn.Verifier)(nil)})
		}},
		{"Transport: propagator is a nil *tenant.Relay", func() { httpmw.Transport(nil, (*tenant.Relay)(nil)) }},
		{"Transport: base is a nil *http.Transport", func() { httpmw.Transport((*http.Transport)(nil), tenant.Relay{Verifier: f.v}) }},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if r := mustPanic(t, tc.build); fmt.Sprint(r) != "httpmw: "+tc.want {
				t.Fatalf("panic %v, want httpmw: %s", r, tc.want)
			}
		})
	}
}

// Untyped nil base is not a mistake: it means http.DefaultTransport.
func TestTransportNilBaseIsDefault(t *testing.T) {
	if httpmw.Transport(nil, tenant.Relay{}) == nil {
		t.Fatal("nil RoundTripper")
	}
}

func newMetrics(t *testing.T) *telemetry.Metrics {
	t.Helper()
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(noop.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

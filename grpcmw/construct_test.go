package grpcmw_test

import (
	"errors"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/grpcmw"
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

// An invalid option value makes every constructor that takes it panic
// when the interceptor is built, with an error wrapping ErrInvalidOption
// that names the constructor and the option.
func TestInvalidOptionPanics(t *testing.T) {
	v := tenanttest.New(t).Verifier
	l, ps := tenanttest.Local(t), rlPlans(t)
	auth := map[string]func(...grpcmw.AuthOption){
		"UnaryServerAuthenticate":  func(o ...grpcmw.AuthOption) { grpcmw.UnaryServerAuthenticate(v, o...) },
		"StreamServerAuthenticate": func(o ...grpcmw.AuthOption) { grpcmw.StreamServerAuthenticate(v, o...) },
		"AuthFunc":                 func(o ...grpcmw.AuthOption) { grpcmw.AuthFunc(v, o...) },
	}
	rateLimit := map[string]func(...grpcmw.RateLimitOption){
		"UnaryServerRateLimit":  func(o ...grpcmw.RateLimitOption) { grpcmw.UnaryServerRateLimit(l, ps, o...) },
		"StreamServerRateLimit": func(o ...grpcmw.RateLimitOption) { grpcmw.StreamServerRateLimit(l, ps, o...) },
	}
	check := func(t *testing.T, want string, build func()) {
		t.Helper()
		r := mustPanic(t, build)
		if err, _ := r.(error); !errors.Is(err, grpcmw.ErrInvalidOption) || err.Error() != "grpcmw: "+want {
			t.Fatalf("panic %v, want an error wrapping ErrInvalidOption: grpcmw: %s", r, want)
		}
	}
	for option, opts := range map[string][]grpcmw.AuthOption{
		"WithPublic(nil)":       {grpcmw.WithPublic(nil)},
		`WithPublicMethods("")`: {grpcmw.WithPublicMethods("")},
		`WithPublicMethods("grpc.health.v1.Health/Check")`: {grpcmw.WithPublicMethods("grpc.health.v1.Health/Check")},
		`WithPublicMethods("/grpc.health.v1.Health")`:      {grpcmw.WithPublicMethods("/grpc.health.v1.Health")},
		`WithPublicMethods("/a/b/c")`:                      {grpcmw.WithPublicMethods("/a/b/c")},
		`WithSpoofableKeys("")`:                            {grpcmw.WithSpoofableKeys("x-org", "")},
		`WithSpoofableKeysOnly("")`:                        {grpcmw.WithSpoofableKeysOnly("")},
		"WithAssertion(nil)":                               {grpcmw.WithAssertion(nil)},
		"a nil AuthOption":                                 {nil},
	} {
		for ctor, build := range auth {
			t.Run(ctor+" "+option, func(t *testing.T) {
				check(t, ctor+": invalid option "+option, func() { build(opts...) })
			})
		}
	}
	for option, opts := range map[string][]grpcmw.RateLimitOption{
		"WithCost(nil)":                                   {grpcmw.WithCost(nil)},
		"WithUntenantedKey(nil)":                          {grpcmw.WithUntenantedKey(nil)},
		"WithDecisionHook(nil)":                           {grpcmw.WithDecisionHook(nil)},
		"WithUntenantedLimiter(nil)":                      {grpcmw.WithUntenantedKey(anonKey), grpcmw.WithUntenantedLimiter(nil)},
		"WithUntenantedLimiter(a nil *ratelimit.Local)":   {grpcmw.WithUntenantedKey(anonKey), grpcmw.WithUntenantedLimiter((*ratelimit.Local)(nil))},
		"WithUntenantedLimiter without WithUntenantedKey": {grpcmw.WithUntenantedLimiter(tenanttest.Local(t))},
		"a nil RateLimitOption":                           {nil},
	} {
		for ctor, build := range rateLimit {
			t.Run(ctor+" "+option, func(t *testing.T) {
				check(t, ctor+": invalid option "+option, func() { build(opts...) })
			})
		}
	}
}

// A nil dependency, or an interface holding a typed nil, makes its
// constructor panic when the interceptor is built, naming the parameter.
func TestNilDependencyPanics(t *testing.T) {
	l, ps := tenanttest.Local(t), rlPlans(t)
	nilVerifier := (*authn.Verifier)(nil)
	assertion := grpcmw.WithAssertion(tenanttest.Assertion(t, "orders"))
	for _, tc := range []struct {
		want  string
		build func()
	}{
		{"UnaryServerAuthenticate: verifier is nil and neither WithAssertion nor WithExtractor is given", func() { grpcmw.UnaryServerAuthenticate(nil) }},
		{"UnaryServerAuthenticate: verifier is a nil *authn.Verifier", func() { grpcmw.UnaryServerAuthenticate(nilVerifier) }},
		{"UnaryServerAuthenticate: verifier is a nil *authn.Verifier", func() { grpcmw.UnaryServerAuthenticate(nilVerifier, assertion) }},
		{"StreamServerAuthenticate: verifier is nil and neither WithAssertion nor WithExtractor is given", func() { grpcmw.StreamServerAuthenticate(nil) }},
		{"StreamServerAuthenticate: verifier is a nil *authn.Verifier", func() { grpcmw.StreamServerAuthenticate(nilVerifier) }},
		{"AuthFunc: verifier is nil and neither WithAssertion nor WithExtractor is given", func() { grpcmw.AuthFunc(nil) }},
		{"AuthFunc: verifier is a nil *authn.Verifier", func() { grpcmw.AuthFunc(nilVerifier) }},
		{"UnaryServerRateLimit: limiter is nil", func() { grpcmw.UnaryServerRateLimit(nil, ps) }},
		{"UnaryServerRateLimit: limiter is a nil *ratelimit.Local", func() { grpcmw.UnaryServerRateLimit((*ratelimit.Local)(nil), ps) }},
		{"UnaryServerRateLimit: plans is a nil *ratelimit.Plans", func() { grpcmw.UnaryServerRateLimit(l, nil) }},
		{"StreamServerRateLimit: limiter is nil", func() { grpcmw.StreamServerRateLimit(nil, ps) }},
		{"StreamServerRateLimit: limiter is a nil *ratelimit.Local", func() { grpcmw.StreamServerRateLimit((*ratelimit.Local)(nil), ps) }},
		{"StreamServerRateLimit: plans is a nil *ratelimit.Plans", func() { grpcmw.StreamServerRateLimit(l, nil) }},
		{"UnaryServerTelemetry: metrics is a nil *telemetry.Metrics", func() { grpcmw.UnaryServerTelemetry(nil) }},
		{"StreamServerTelemetry: metrics is a nil *telemetry.Metrics", func() { grpcmw.StreamServerTelemetry(nil) }},
		{"UnaryClientPropagate: propagator is nil", func() { grpcmw.UnaryClientPropagate(nil) }},
		{"UnaryClientPropagate: propagator is a nil *authn.Assertion", func() { grpcmw.UnaryClientPropagate((*authn.Assertion)(nil)) }},
		{"UnaryClientPropagate: propagator is a tenant.Relay whose Verifier is a nil *authn.Verifier", func() {
			grpcmw.UnaryClientPropagate(tenant.Relay{Verifier: nilVerifier})
		}},
		{"StreamClientPropagate: propagator is a tenant.Relay whose Verifier is a nil *authn.Verifier", func() {
			grpcmw.StreamClientPropagate(&tenant.Relay{Verifier: nilVerifier})
		}},
		{"StreamClientPropagate: propagator is nil", func() { grpcmw.StreamClientPropagate(nil) }},
		{"StreamClientPropagate: propagator is a nil *authn.Assertion", func() { grpcmw.StreamClientPropagate((*authn.Assertion)(nil)) }},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if r := mustPanic(t, tc.build); fmt.Sprint(r) != "grpcmw: "+tc.want {
				t.Fatalf("panic %v, want grpcmw: %s", r, tc.want)
			}
		})
	}
}

// Valid dependencies build: assertions only (a nil verifier with
// WithAssertion), and every telemetry and client interceptor.
func TestConstructorsAcceptValidDependencies(t *testing.T) {
	m, err := telemetry.NewMetrics(telemetry.WithMeterProvider(noop.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	a := tenanttest.Assertion(t, "orders")
	grpcmw.UnaryServerAuthenticate(nil, grpcmw.WithAssertion(a))
	grpcmw.StreamServerAuthenticate(nil, grpcmw.WithAssertion(a))
	grpcmw.AuthFunc(nil, grpcmw.WithAssertion(a))
	grpcmw.UnaryServerTelemetry(m)
	grpcmw.StreamServerTelemetry(m)
	grpcmw.UnaryClientPropagate(a)
	grpcmw.StreamClientPropagate(tenant.Relay{})
}

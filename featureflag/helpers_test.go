package featureflag_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/tenantkit/tenantkit/featureflag"
	"github.com/tenantkit/tenantkit/tenant"
)

// whoamiFlags holds one string flag, "whoami", whose value is the
// targeting key and tier the provider was asked to evaluate for: it shows
// which tenant an evaluation targeted.
func whoamiFlags() map[string]memprovider.InMemoryFlag {
	eval := func(_ memprovider.InMemoryFlag, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		return fmt.Sprintf("%v/%v", fc[openfeature.TargetingKey], fc[featureflag.TenantTierAttribute]),
			openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: "computed"}
	}
	return map[string]memprovider.InMemoryFlag{
		"whoami": {
			Key: "whoami", State: memprovider.Enabled, DefaultVariant: "off",
			Variants:         map[string]any{"off": "off"},
			ContextEvaluator: &eval,
		},
	}
}

// newAPI returns an OpenFeature API of its own (no global state) serving
// flags through the guard's provider wrapper; it is shut down when the test
// ends.
func newAPI(tb testing.TB, g *featureflag.Guard, flags map[string]memprovider.InMemoryFlag) *openfeature.EvaluationAPI {
	tb.Helper()
	api := isolated.NewAPI()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p := openfeature.FeatureProvider(memprovider.NewInMemoryProvider(flags))
	if g != nil {
		p = g.Provider(p)
	}
	if err := api.SetProviderAndWait(ctx, p); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := api.Shutdown(ctx); err != nil {
			tb.Error(err)
		}
	})
	return api
}

func newGuard(tb testing.TB, opts ...featureflag.Option) *featureflag.Guard {
	tb.Helper()
	g, err := featureflag.NewGuard(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func mustTenant(tb testing.TB, id, tier string) tenant.Tenant {
	tb.Helper()
	t, err := tenant.New(id, tier)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// tenantCtx is the context a handler behind Authenticate and Targeting has.
func tenantCtx(tb testing.TB, id, tier string) context.Context {
	tb.Helper()
	t := mustTenant(tb, id, tier)
	return featureflag.ContextWithTenant(tenant.NewContext(context.Background(), t), t)
}

package featureflag_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/tenantkit/tenantkit/featureflag"
	"github.com/tenantkit/tenantkit/tenant"
)

// betaSearch is a tenant-scoped rollout: on for the named beta tenants and
// for 20% of all tenants, chosen by a stable hash of the tenant ID, off
// otherwise. Its rule reads the targeting key, which the guard guarantees
// is the verified tenant.
func betaSearch(beta ...string) memprovider.InMemoryFlag {
	rule := func(f memprovider.InMemoryFlag, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		id, _ := fc[openfeature.TargetingKey].(string)
		variant := "off"
		switch {
		case slices.Contains(beta, id):
			variant = "on"
		case id != "" && featureflag.Bucket(f.Key, id) < 20:
			variant = "on"
		}
		return f.Variants[variant], openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: variant}
	}
	return memprovider.InMemoryFlag{
		Key: "beta-search", State: memprovider.Enabled, DefaultVariant: "off",
		Variants:         map[string]any{"on": true, "off": false},
		ContextEvaluator: &rule,
	}
}

// A beta for named tenants and a percentage of all tenants, evaluated
// behind Authenticate and Targeting; a client-supplied tenant attribute
// cannot switch another tenant's beta on.
func Example_rollout() {
	guard, err := featureflag.NewGuard()
	if err != nil {
		log.Fatal(err)
	}
	api := isolated.NewAPI() // or the global openfeature API
	provider := memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		"beta-search": betaSearch("acme"),
	})
	if err := api.SetProviderAndWait(context.Background(), guard.Provider(provider)); err != nil {
		log.Fatal(err)
	}
	defer api.Shutdown(context.Background())
	flags := api.NewClient()

	handler := featureflag.Targeting()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A handler that (wrongly) forwards a query parameter to the
		// evaluation context.
		ec := openfeature.NewTargetlessEvaluationContext(map[string]any{"tenantId": r.URL.Query().Get("as")})
		if r.URL.Query().Get("as") == "" {
			ec = openfeature.EvaluationContext{}
		}
		on, err := flags.BooleanValue(r.Context(), "beta-search", false, ec)
		fmt.Fprintf(w, "beta-search=%v refused=%v", on, err != nil)
	}))

	serve := func(id, query string) {
		t, err := tenant.New(id, "pro")
		if err != nil {
			log.Fatal(err)
		}
		// httpmw.Authenticate puts the verified tenant in the context.
		req := httptest.NewRequest(http.MethodGet, "/search"+query, nil)
		req = req.WithContext(tenant.NewContext(req.Context(), t))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Printf("%s%s: %s\n", id, query, rec.Body)
	}
	serve("acme", "")     // a named beta tenant
	serve("tenant-3", "") // in the 20%
	serve("tenant-1", "") // not in it
	serve("tenant-1", "?as=acme")
	fmt.Println("refused:", guard.Refused())
	// Output:
	// acme: beta-search=true refused=false
	// tenant-3: beta-search=true refused=false
	// tenant-1: beta-search=false refused=false
	// tenant-1?as=acme: beta-search=false refused=true
	// refused: 1
}

// The share of tenants a 20% rollout selects, by Bucket.
func ExampleBucket() {
	on := 0
	for i := range 10_000 {
		if featureflag.Bucket("beta-search", fmt.Sprintf("tenant-%d", i)) < 20 {
			on++
		}
	}
	fmt.Printf("%.0f%%\n", float64(on)/100)
	// Output: 20%
}

// Wiring: the guard around the service's provider, Targeting after
// Authenticate.
func ExampleGuard_Provider() {
	guard, err := featureflag.NewGuard(featureflag.WithRefusalHandler(func(ctx context.Context, flag string, err error) {
		log.Printf("flag %s: %v", flag, err) // never the supplied value
	}))
	if err != nil {
		log.Fatal(err)
	}
	var provider openfeature.FeatureProvider = memprovider.NewInMemoryProvider(nil) // flagd, go-feature-flag, AppConfig...
	api := isolated.NewAPI()
	if err := api.SetProviderAndWait(context.Background(), guard.Provider(provider)); err != nil {
		log.Fatal(err)
	}
	defer api.Shutdown(context.Background())
	fmt.Println(api.NewClient().Boolean(context.Background(), "missing", false, openfeature.EvaluationContext{}))
	// Output: false
}

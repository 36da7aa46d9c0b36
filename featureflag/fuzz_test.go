package featureflag_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/tenantkit/tenantkit/featureflag"
)

// FuzzGuard feeds the guard evaluation contexts decoded from arbitrary
// JSON (the shape of attributes copied from a request body) and checks
// that it never panics and never lets a context through that the provider
// would see with another targeting key or tenant ID.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"tenantId":"acme"}`, `{"tenantId":"victim"}`, `{"Tenant.ID":"x"}`,
		`{"user":{"tenant":{"id":"x"}}}`, `{"a":[{"targetingKey":"x"}]}`, `{"tenantTier":"pro"}`,
		`{"ｔｅｎａｎｔＩＤ":"x"}`, `{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	} {
		f.Add(s, "")
		f.Add(s, "victim")
	}
	guard, err := featureflag.NewGuard()
	if err != nil {
		f.Fatal(err)
	}
	ctx := tenantCtx(f, "acme", "pro")
	f.Fuzz(func(t *testing.T, doc, targetingKey string) {
		var attrs map[string]any
		if json.Unmarshal([]byte(doc), &attrs) != nil {
			return
		}
		var seen openfeature.FlattenedContext
		probe := probeProvider{seen: &seen}
		p := guard.Provider(probe)
		fc := openfeature.FlattenedContext{}
		for k, v := range attrs {
			fc[k] = v
		}
		if targetingKey != "" {
			fc[openfeature.TargetingKey] = targetingKey
		}
		res := p.StringEvaluation(ctx, "f", "default", fc)
		if res.Error() != nil {
			if seen != nil {
				t.Fatal("a refused evaluation reached the provider")
			}
			return
		}
		if seen[openfeature.TargetingKey] != "acme" || seen[featureflag.TenantIDAttribute] != "acme" || seen[featureflag.TenantTierAttribute] != "pro" {
			t.Fatalf("the provider saw %v", seen)
		}
		// Every top-level name that folds to a tenant name holds the
		// verified tenant's value.
		for k, v := range seen {
			l := strings.ToLower(k)
			if (l == "tenantid" || l == "tenant_id" || l == "tenant.id" || l == "targetingkey") && v != "acme" {
				t.Fatalf("%q = %v reached the provider", k, v)
			}
		}
	})
}

type probeProvider struct {
	openfeature.NoopProvider
	seen *openfeature.FlattenedContext
}

func (p probeProvider) StringEvaluation(_ context.Context, _ string, def string, fc openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	*p.seen = fc
	return openfeature.StringResolutionDetail{Value: def}
}

package featureflag_test

import (
	"context"
	"strings"
	"testing"
	"unicode"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/tenantkit/tenantkit/featureflag"
)

// FuzzGuard feeds the guard evaluation contexts built from arbitrary
// names and values, flat and nested in a map and a slice (the shapes of
// attributes copied from a request), and checks that it never panics and
// never lets a context through that the provider would see with another
// targeting key or tenant ID.
func FuzzGuard(f *testing.F) {
	for _, k := range []string{"tenantId", "Tenant.ID", "tenant_id", "targetingKey", "tenantTier", "ｔｅｎａｎｔＩＤ", "tenant\u212a", "user", "country"} {
		f.Add(k, "victim", "x", "")
		f.Add(k, "acme", k, "acme")
		f.Add("user", "pro", k, "victim")
	}
	guard, err := featureflag.NewGuard()
	if err != nil {
		f.Fatal(err)
	}
	ctx := tenantCtx(f, "acme", "pro")
	var seen openfeature.FlattenedContext
	p := guard.Provider(probeProvider{seen: &seen})
	f.Fuzz(func(t *testing.T, key, value, nestedKey, targetingKey string) {
		seen = nil
		fc := openfeature.FlattenedContext{
			key:     value,
			"outer": map[string]any{nestedKey: value, "list": []any{map[string]any{key: value}}},
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
		// Every name that reads as a tenant name in any case or separator
		// holds the verified tenant's value.
		for _, k := range []string{key, nestedKey} {
			// The guard ignores every character that is not a letter or a
			// digit ("TenAnt!ID" is tenantid).
			l := strings.Map(func(r rune) rune {
				if unicode.IsLetter(r) || unicode.IsDigit(r) {
					return unicode.ToLower(r)
				}
				return -1
			}, k)
			if (l == "tenantid" || l == "targetingkey") && value != "acme" {
				t.Fatalf("%q = %q reached the provider", k, value)
			}
			if strings.HasPrefix(l, "tenant") && l != "tenantid" && l != "tenanttier" {
				t.Fatalf("%q reached the provider", k)
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

package featureflag

import (
	"context"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/tenantkit/tenantkit/tenant"
)

// The attributes of the evaluation context that carry the verified tenant.
// The targeting key is the tenant ID too.
//
// The names have no dots: providers whose rules are JSONLogic (flagd,
// go-feature-flag) read a dotted name in a rule as a path into nested
// objects, so a flat "tenant.id" attribute could not be targeted there.
const (
	// TenantIDAttribute holds the tenant ID, as the targeting key does.
	TenantIDAttribute = "tenantId"
	// TenantTierAttribute holds the tenant's tier; it is absent when the
	// tenant has none.
	TenantTierAttribute = "tenantTier"
)

// EvaluationContext returns the evaluation context of t: targeting key
// t.ID() and the attributes [TenantIDAttribute] and, when t has a tier,
// [TenantTierAttribute]. It is empty for the zero Tenant.
func EvaluationContext(t tenant.Tenant) openfeature.EvaluationContext {
	if t.IsZero() {
		return openfeature.EvaluationContext{}
	}
	return openfeature.NewEvaluationContext(t.ID(), tenantAttributes(t))
}

func tenantAttributes(t tenant.Tenant) map[string]any {
	if t.Tier() == "" {
		return map[string]any{TenantIDAttribute: t.ID()}
	}
	return map[string]any{TenantIDAttribute: t.ID(), TenantTierAttribute: t.Tier()}
}

// ContextWithTenant returns ctx with the evaluation context of t merged
// into OpenFeature's transaction context: its targeting key and tenant
// attributes replace those of an earlier transaction context, whose other
// attributes stay. It returns ctx unchanged for the zero Tenant.
//
// [Targeting] and the gRPC interceptors call it with the verified tenant;
// call it directly where a verified tenant enters a context otherwise (a
// queue consumer that verified an assertion, for example).
func ContextWithTenant(ctx context.Context, t tenant.Tenant) context.Context {
	if t.IsZero() {
		return ctx
	}
	prev := openfeature.TransactionContext(ctx)
	attrs := prev.Attributes()
	// A tier that the earlier context named and t does not have must not
	// survive the merge.
	delete(attrs, TenantTierAttribute)
	for k, v := range tenantAttributes(t) {
		attrs[k] = v
	}
	return openfeature.WithTransactionContext(ctx, openfeature.NewEvaluationContext(t.ID(), attrs))
}

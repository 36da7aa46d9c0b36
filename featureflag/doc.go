// Package featureflag targets OpenFeature flag evaluations at the verified
// tenant, so that any provider (flagd, go-feature-flag, AWS AppConfig, the
// in-memory one) can roll features out per tenant and per tier, and no
// client-supplied value can make a flag evaluate for another tenant.
//
// Wrap the service's provider in a [Guard] and install [Targeting] after
// httpmw.Authenticate (or [UnaryServerTargeting] and
// [StreamServerTargeting] after grpcmw's authenticate interceptors):
//
//	guard, err := featureflag.NewGuard()
//	...
//	err = openfeature.SetProviderAndWait(guard.Provider(provider))
//	...
//	handler := httpmw.Authenticate(verifier)(featureflag.Targeting()(mux))
//
//	// In a handler: evaluated for the request's tenant.
//	on := flags.Boolean(r.Context(), "beta-search", false, openfeature.EvaluationContext{})
//
// Targeting puts the tenant into OpenFeature's transaction context: the
// targeting key is the tenant ID, and the attributes [TenantIDAttribute]
// and [TenantTierAttribute] hold the ID and the tier, for rules such as
// "tenantTier is enterprise" or a percentage rollout over the targeting
// key ([Bucket] is a stable one).
//
// The SDK merges the evaluation context from four levels, each overriding
// the one before: the API's, the transaction's, the client's and the
// invocation's, and then lets every Before hook (the API's, the client's,
// the invocation's, the provider's, in that order) add to it. Any of them
// could name another tenant, through the targeting key, a tenant attribute
// or a case or separator variant of one ("Tenant.ID", "tenant_id") that a
// provider rule might read. The guard runs as the provider's last hook and
// checks the provider's input again, so it sees the context every level
// and every hook left; it refuses a context that names another tenant
// (the caller gets the default value and an error wrapping [ErrOverride]),
// and counts it ([Guard.Refused], [WithRefusalHandler]).
package featureflag

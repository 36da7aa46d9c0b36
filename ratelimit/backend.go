package ratelimit

import "github.com/tenantkit/tenantkit/ratelimit/internal/backend"

// The shared backends reach what users never call through
// ratelimit/internal/backend.
func init() {
	backend.Register(backend.Funcs[Plan, Local]{
		CheckPlan:    checkPlan,
		CheckCost:    checkCost,
		QuotaKind:    func(p *Plan) string { return p.qname },
		QuotaAnchor:  func(p *Plan) (int64, bool) { return p.anchor, p.anchored },
		FallbackPlan: func(p *Plan) *Plan { return p.fallback },
		SeedQuota:    (*Local).seedQuota,
	})
}

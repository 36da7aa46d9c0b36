package tenanttest

import "fmt"

// MixTenants is the number of tenants of the benchmark token mix.
const MixTenants = 1000

// MixTiers are the tiers of the token mix, given to its tenants in turn.
func MixTiers() []string { return []string{"free", "pro", "enterprise"} }

// MixID returns the tenant ID of tenant i of the token mix.
func MixID(i int) string { return fmt.Sprintf("tenant-%04d", i) }

// Mix returns n tokens, one per tenant (MixID(i), tiers in turn from
// MixTiers), minted by token: the traffic of a server with many tenants,
// for benchmarks that rotate through it instead of repeating one token
// whose every cache entry stays hot.
func Mix(n int, token func(id, tier string) string) []string {
	tiers := MixTiers()
	out := make([]string, n)
	for i := range out {
		out[i] = token(MixID(i), tiers[i%len(tiers)])
	}
	return out
}

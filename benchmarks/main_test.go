package benchmarks

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines. Peers start background refresh
// goroutines of their own; the ones they stop only when the process exits
// are listed here by name.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/auth0/go-jwt-middleware/v2/jwks.(*CachingProvider).refreshKey.func1"),
	)
}

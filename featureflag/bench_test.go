package featureflag_test

import (
	"testing"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/tenantkit/tenantkit/featureflag"
	"github.com/tenantkit/tenantkit/internal/cputime"
)

// BenchmarkEvaluate is one boolean evaluation of an in-memory flag for the
// transaction context's tenant, without the guard, with it as the
// provider wrapper, and with an invocation context of a few unrelated
// attributes (nested) that the guard inspects.
func BenchmarkEvaluate(b *testing.B) {
	flags := whoamiFlags()
	ctx := tenantCtx(b, "acme", "pro")
	attrs := openfeature.NewTargetlessEvaluationContext(map[string]any{
		"country": "NZ", "plan": "annual", "user": map[string]any{"id": "u-1", "roles": []any{"admin", "billing"}},
	})
	for _, c := range []struct {
		name  string
		guard bool
		ec    openfeature.EvaluationContext
	}{
		{"unguarded", false, openfeature.EvaluationContext{}},
		{"guarded", true, openfeature.EvaluationContext{}},
		{"unguarded-attributes", false, attrs},
		{"guarded-attributes", true, attrs},
	} {
		b.Run(c.name, func(b *testing.B) {
			var g *featureflag.Guard
			if c.guard {
				g = newGuard(b)
			}
			client := newAPI(b, g, flags).NewClient()
			b.ReportAllocs()
			done := cputime.PerOp(b)
			for b.Loop() {
				if v, err := client.StringValue(ctx, "whoami", "default", c.ec); err != nil || v != "acme/pro" {
					b.Fatal(v, err)
				}
			}
			done()
		})
	}
}

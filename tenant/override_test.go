package tenant_test

import (
	"errors"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

func TestWithTierKeepsTheProof(t *testing.T) {
	v, err := tenant.Verified("acme", "pro", tenant.Proof{Issuer: "https://iss", Subject: "sub-1", Token: "tok",
		Claims: map[string]any{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.WithTier("free")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != "acme" || got.Tier() != "free" || got.Plan() != "free" || got.Issuer() != "https://iss" || got.Subject() != "sub-1" {
		t.Errorf("WithTier: %#v subject %q plan %q", got, got.Subject(), got.Plan())
	}
	if c, ok := got.Claim("k"); !ok || c != "v" {
		t.Error("WithTier dropped the claims")
	}
	if v.Tier() != "pro" {
		t.Error("WithTier changed the original")
	}
	none, err := v.WithTier("")
	if err != nil || none.Tier() != "" {
		t.Errorf(`WithTier(""): %v, %v`, none, err)
	}
	for _, bad := range []string{"*", "a b", "pro/../x", string(make([]byte, 65))} {
		if _, err := v.WithTier(bad); !errors.Is(err, tenant.ErrInvalidTier) {
			t.Errorf("WithTier(%q): %v, want ErrInvalidTier", bad, err)
		}
		if _, err := v.WithPlan(bad); !errors.Is(err, tenant.ErrInvalidTier) {
			t.Errorf("WithPlan(%q): %v, want ErrInvalidTier", bad, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = v.WithTier("free") }); n != 0 {
		t.Errorf("WithTier allocates %v times", n)
	}
}

func TestWithPlanOverridesOnlyThePlan(t *testing.T) {
	v, _ := tenant.New("acme", "free")
	if v.Plan() != "free" {
		t.Fatalf("Plan without override %q, want the tier", v.Plan())
	}
	p, err := v.WithPlan("pro")
	if err != nil || p.Tier() != "free" || p.Plan() != "pro" || p.String() != "acme (free)" {
		t.Fatalf("WithPlan: tier %q plan %q %v", p.Tier(), p.Plan(), err)
	}
	back, _ := p.WithPlan("")
	if back.Plan() != "free" {
		t.Errorf(`WithPlan(""): plan %q, want the tier`, back.Plan())
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = v.WithPlan("pro") }); n != 0 {
		t.Errorf("WithPlan allocates %v times", n)
	}
}

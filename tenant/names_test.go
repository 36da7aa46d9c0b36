package tenant_test

import (
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

func TestIsSpoofable(t *testing.T) {
	for _, name := range []string{
		"X-Tenant-ID", "x-tenant-id", "X-Tenant_ID", "x_tenant_id", "Tenant_ID", "TENANT-ID",
		"X-Forwarded-Tenant", "X-Tenant", "Tenant", "X-Amzn-Tenant-Id", "X-Scope-OrgID", "x-scope-orgid",
		"x-tenant-id-bin", "tenant_id_bin", "X-Tenant-Tier",
	} {
		if !tenant.IsSpoofable(name) {
			t.Errorf("IsSpoofable(%q) = false", name)
		}
	}
	for _, name := range []string{"", "Authorization", "Tenant-Assertion", "X-Tenant-IDs", "Tenants", "-bin", "X-Request-ID", "XTenantID"} {
		if tenant.IsSpoofable(name) {
			t.Errorf("IsSpoofable(%q) = true", name)
		}
	}
	s := tenant.NewNameSet("X-Org").Union("Tenant-Assertion")
	if !s.Contains("x_org") || !s.Contains("tenant_assertion") || s.Contains("X-Tenant-ID") || s.Len() != 2 {
		t.Fatal("NameSet")
	}
	if n := testing.AllocsPerRun(100, func() { tenant.IsSpoofable("Accept-Encoding"); tenant.IsSpoofable("X-Tenant_Id") }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

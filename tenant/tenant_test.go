package tenant_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

func TestValidateID(t *testing.T) {
	good := []string{"a", "acme", "Acme-Corp_01.eu", "0tenant", strings.Repeat("x", 64)}
	for _, id := range good {
		if err := tenant.ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	bad := []string{"", "*", "acme*", "ac?me", "a/b", "${aws:username}", "a{b", `a"b`, "a'b", "a b", "a\tb",
		"a\nb", "a\x00b", "-acme", "_acme", ".acme", "acmé", strings.Repeat("x", 65), "a:b", "a#b", "a\\b"}
	for _, id := range bad {
		err := tenant.ValidateID(id)
		if !errors.Is(err, tenant.ErrInvalidID) {
			t.Errorf("ValidateID(%q) = %v, want ErrInvalidID", id, err)
			continue
		}
		if id != "" && strings.Contains(err.Error(), id) {
			t.Errorf("error %q echoes the input", err)
		}
	}
}

func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"acme", "*", "a/b", "${x}", "-a", strings.Repeat("z", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if tenant.ValidateID(id) != nil {
			return
		}
		// Anything accepted must be safe to paste into a policy or key.
		if len(id) == 0 || len(id) > tenant.MaxIDLen || strings.ContainsAny(id, "*?/${}\"' \t\r\n\\:#") {
			t.Fatalf("accepted unsafe ID %q", id)
		}
		for _, r := range id {
			if r > 0x7e || r < 0x21 {
				t.Fatalf("accepted non-printable ID %q", id)
			}
		}
	})
}

func TestNewValidates(t *testing.T) {
	if _, err := tenant.New("*", "free"); !errors.Is(err, tenant.ErrInvalidID) {
		t.Fatalf("New(*) = %v", err)
	}
	if _, err := tenant.New("acme", "free tier"); !errors.Is(err, tenant.ErrInvalidID) {
		t.Fatalf("New with bad tier = %v", err)
	}
	tn, err := tenant.New("acme", "")
	if err != nil || tn.ID() != "acme" || tn.Tier() != "" || tn.IsZero() {
		t.Fatalf("New(acme) = %v, %v", tn, err)
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := tenant.FromContext(ctx); ok {
		t.Fatal("empty context has a tenant")
	}
	if _, err := tenant.Require(ctx); !errors.Is(err, tenant.ErrNoTenant) {
		t.Fatalf("Require = %v, want ErrNoTenant", err)
	}
	if got := tenant.NewContext(ctx, tenant.Tenant{}); got != ctx {
		t.Fatal("zero tenant was stored")
	}
	acme, _ := tenant.New("acme", "gold")
	ctx = tenant.NewContext(ctx, acme)
	got, err := tenant.Require(ctx)
	if err != nil || got.ID() != "acme" || got.Tier() != "gold" {
		t.Fatalf("Require = %v, %v", got, err)
	}
	// WithoutCancel keeps values, so legitimate background work keeps its
	// tenant; Background does not.
	if got, ok := tenant.FromContext(context.WithoutCancel(ctx)); !ok || got.ID() != "acme" {
		t.Fatal("WithoutCancel lost the tenant")
	}
}

func TestTenantless(t *testing.T) {
	ctx := context.Background()
	if tenant.IsTenantless(ctx) {
		t.Fatal("unmarked context is tenant-less")
	}
	marked := tenant.WithoutTenant(ctx)
	if !tenant.IsTenantless(marked) {
		t.Fatal("marked context is not tenant-less")
	}
	acme, _ := tenant.New("acme", "")
	// A mark never hides a tenant, whichever order they are applied in.
	if tenant.IsTenantless(tenant.NewContext(marked, acme)) || tenant.IsTenantless(tenant.WithoutTenant(tenant.NewContext(ctx, acme))) {
		t.Fatal("mark hides a tenant")
	}
}

// No global state: concurrent contexts of different tenants never see each
// other.
func TestContextIsolation(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "t" + strings.Repeat("x", i%10) + string(rune('a'+i%26))
			tn, _ := tenant.New(id, "")
			ctx := tenant.NewContext(context.Background(), tn)
			for range 1000 {
				if got, _ := tenant.FromContext(ctx); got.ID() != id {
					errs <- got.ID()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("saw tenant %s", e)
	}
}

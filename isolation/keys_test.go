package isolation

import (
	"context"
	"errors"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

func TestPartitionKeys(t *testing.T) {
	a := tenantCtx(t, "a", "")
	ab := tenantCtx(t, "ab", "")
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{nil, "a"}, {[]string{"order", "42"}, "a#order#42"}, {[]string{""}, "a#"}, {[]string{"x#y"}, "a#x#y"},
	} {
		k, err := PartitionKey(a, tc.parts...)
		if err != nil || k != tc.want {
			t.Errorf("PartitionKey(%q) = %q, %v; want %q", tc.parts, k, err, tc.want)
		}
		rest, err := CheckPartitionKey(a, k)
		if err != nil || k != "a" && "a#"+rest != k {
			t.Errorf("CheckPartitionKey(%q) = %q, %v", k, rest, err)
		}
		// The same key is not tenant ab's, nor is ab's key a's.
		if _, err := CheckPartitionKey(ab, k); !errors.Is(err, ErrKeyMismatch) {
			t.Errorf("tenant ab accepted %q: %v", k, err)
		}
	}
	for _, k := range []string{"ab", "ab#order", "a", "a#", "b#a", "", "#a", "A#x", "a/x", "a-x"} {
		_, errA := CheckPartitionKey(a, k)
		_, errAB := CheckPartitionKey(ab, k)
		ownA := k == "a" || len(k) >= 2 && k[:2] == "a#"
		ownAB := k == "ab" || len(k) >= 3 && k[:3] == "ab#"
		if (errA == nil) != ownA || (errAB == nil) != ownAB {
			t.Errorf("key %q: a %v, ab %v", k, errA, errAB)
		}
	}
	var ke *KeyError
	if _, err := CheckPartitionKey(a, "ab#1"); !errors.As(err, &ke) || ke.TenantID != "a" || ke.Kind != "partition key" {
		t.Errorf("error %v", err)
	}
}

func TestObjectKeys(t *testing.T) {
	a := tenantCtx(t, "a", "")
	ab := tenantCtx(t, "ab", "")
	k, err := ObjectKey(a, "invoices/2024/7.pdf")
	if err != nil || k != "a/invoices/2024/7.pdf" {
		t.Fatalf("ObjectKey = %q, %v", k, err)
	}
	if name, err := CheckObjectKey(a, k); err != nil || name != "invoices/2024/7.pdf" {
		t.Errorf("CheckObjectKey = %q, %v", name, err)
	}
	if _, err := CheckObjectKey(ab, k); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("tenant ab accepted %q", k)
	}
	for _, k := range []string{"ab/x", "a", "a/", "ax/y", "/a/x", "b/a/x", "A/x"} {
		if _, err := CheckObjectKey(a, k); !errors.Is(err, ErrKeyMismatch) {
			t.Errorf("tenant a accepted %q", k)
		}
	}
	if k, err := ObjectKey(a, "reports/"); err != nil || k != "a/reports/" {
		t.Errorf("folder marker: %q, %v", k, err)
	}
	for _, name := range []string{"", "/", "/x", "x//", "x//y", "../b/x", "x/../../b", ".", "./", "x/./y", "x/.."} {
		if k, err := ObjectKey(a, name); !errors.Is(err, ErrInvalidObjectName) {
			t.Errorf("ObjectKey(%q) = %q, %v", name, k, err)
		}
	}
}

func TestKeysNeedATenant(t *testing.T) {
	ctx := context.Background()
	if _, err := PartitionKey(ctx, "x"); !errors.Is(err, tenant.ErrNoTenant) {
		t.Error(err)
	}
	if _, err := CheckPartitionKey(ctx, "x"); !errors.Is(err, tenant.ErrNoTenant) {
		t.Error(err)
	}
	if _, err := ObjectKey(ctx, "x"); !errors.Is(err, tenant.ErrNoTenant) {
		t.Error(err)
	}
	if _, err := CheckObjectKey(ctx, "x"); !errors.Is(err, tenant.ErrNoTenant) {
		t.Error(err)
	}
}

func TestKeyChecksDoNotAllocate(t *testing.T) {
	ctx := tenantCtx(t, "acme", "basic")
	if n := testing.AllocsPerRun(100, func() {
		CheckPartitionKey(ctx, "acme#order#42")
		CheckObjectKey(ctx, "acme/x.pdf")
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

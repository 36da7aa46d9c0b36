package isolation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

const (
	poolRole   = "arn:aws:iam::111122223333:role/tenant-pool"
	siloRoleOf = "arn:aws:iam::111122223333:role/tenant-" // + tenant ID
	acmeKey    = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	bigcoRole  = "arn:aws:iam::444455556666:role/tenantkit-data"
)

// testConfig places basic tenants in the pool, premium ones in silos, plus
// ones in a bridge (pooled table, siloed bucket and key); tenant acme has
// its own KMS key in the pool, tenant bigco a silo in its own account.
func testConfig() Config {
	return Config{
		Region: "us-east-1",
		Pool: Resources{
			RoleARN: poolRole,
			Table:   "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
			Bucket:  "example-pool-data",
		},
		Silo: Resources{
			RoleARN:   "arn:aws:iam::111122223333:role/tenant-${tenant.id}",
			Table:     "arn:aws:dynamodb:us-east-1:111122223333:table/orders-${tenant.id}",
			Bucket:    "example-silo-${tenant.id}",
			KMSKeyARN: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000",
		},
		Tiers: map[string]Deployment{
			"basic":   {Model: Pool},
			"premium": {Model: Silo},
			"plus":    {Model: Bridge, Table: Pool, Bucket: Silo, KMSKey: Silo},
		},
		Tenants: map[string]Override{
			"acme": {Pool: Resources{KMSKeyARN: acmeKey}},
			"bigco": {
				Deployment: &Deployment{Model: Silo},
				Silo: Resources{RoleARN: bigcoRole, Region: "eu-west-1",
					Table: "arn:aws:dynamodb:eu-west-1:444455556666:table/orders", Bucket: "bigco-data",
					KMSKeyARN: "arn:aws:kms:eu-west-1:444455556666:key/11111111-1111-1111-1111-111111111111"},
			},
		},
	}
}

const testConfigJSON = `{
  "region": "us-east-1",
  "pool": {
    "roleArn": "arn:aws:iam::111122223333:role/tenant-pool",
    "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
    "bucket": "example-pool-data"
  },
  "silo": {
    "roleArn": "arn:aws:iam::111122223333:role/tenant-${tenant.id}",
    "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders-${tenant.id}",
    "bucket": "example-silo-${tenant.id}",
    "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"
  },
  "tiers": {
    "basic": {"model": "pool"},
    "premium": {"model": "silo"},
    "plus": {"model": "bridge", "table": "pool", "bucket": "silo", "kmsKey": "silo"}
  },
  "tenants": {
    "acme": {"pool": {"kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
    "bigco": {
      "deployment": {"model": "silo"},
      "silo": {
        "roleArn": "arn:aws:iam::444455556666:role/tenantkit-data",
        "region": "eu-west-1",
        "table": "arn:aws:dynamodb:eu-west-1:444455556666:table/orders",
        "bucket": "bigco-data",
        "kmsKeyArn": "arn:aws:kms:eu-west-1:444455556666:key/11111111-1111-1111-1111-111111111111"
      }
    }
  }
}`

func mustTenant(t testing.TB, id, tier string) tenant.Tenant {
	t.Helper()
	tn, err := tenant.New(id, tier)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func tenantCtx(t testing.TB, id, tier string) context.Context {
	return tenant.NewContext(context.Background(), mustTenant(t, id, tier))
}

func mustResolver(t testing.TB, c Config) *ConfigResolver {
	t.Helper()
	r, err := NewConfigResolver(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolvePlacements(t *testing.T) {
	r := mustResolver(t, testConfig())
	siloTable := func(id string) string { return "arn:aws:dynamodb:us-east-1:111122223333:table/orders-" + id }
	for _, tc := range []struct {
		id, tier string
		want     Placement
	}{
		{"t1", "basic", Placement{TenantID: "t1", Tier: "basic", Model: Pool,
			Table:  Binding{Pool, poolRole, "us-east-1", testTable},
			Bucket: Binding{Pool, poolRole, "us-east-1", testBucket}}},
		{"acme", "basic", Placement{TenantID: "acme", Tier: "basic", Model: Pool,
			Table:  Binding{Pool, poolRole, "us-east-1", testTable},
			Bucket: Binding{Pool, poolRole, "us-east-1", testBucket},
			KMSKey: Binding{Pool, poolRole, "us-east-1", acmeKey}}},
		{"t2", "premium", Placement{TenantID: "t2", Tier: "premium", Model: Silo,
			Table:  Binding{Silo, siloRoleOf + "t2", "us-east-1", siloTable("t2")},
			Bucket: Binding{Silo, siloRoleOf + "t2", "us-east-1", "example-silo-t2"},
			KMSKey: Binding{Silo, siloRoleOf + "t2", "us-east-1", "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"}}},
		{"t3", "plus", Placement{TenantID: "t3", Tier: "plus", Model: Bridge,
			Table:  Binding{Pool, poolRole, "us-east-1", testTable},
			Bucket: Binding{Silo, siloRoleOf + "t3", "us-east-1", "example-silo-t3"},
			KMSKey: Binding{Silo, siloRoleOf + "t3", "us-east-1", "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"}}},
		// bigco's override applies whatever tier its token says.
		{"bigco", "basic", Placement{TenantID: "bigco", Tier: "basic", Model: Silo,
			Table:  Binding{Silo, bigcoRole, "eu-west-1", "arn:aws:dynamodb:eu-west-1:444455556666:table/orders"},
			Bucket: Binding{Silo, bigcoRole, "eu-west-1", "bigco-data"},
			KMSKey: Binding{Silo, bigcoRole, "eu-west-1", "arn:aws:kms:eu-west-1:444455556666:key/11111111-1111-1111-1111-111111111111"}}},
	} {
		got, err := r.Resolve(context.Background(), mustTenant(t, tc.id, tc.tier))
		if err != nil {
			t.Errorf("%s/%s: %v", tc.id, tc.tier, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s/%s:\n got %+v\nwant %+v", tc.id, tc.tier, got, tc.want)
		}
	}
}

func TestDecodeConfigMatchesGoValues(t *testing.T) {
	c, err := DecodeConfig(strings.NewReader(testConfigJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, testConfig()) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", c, testConfig())
	}
	path := filepath.Join(t.TempDir(), "placement.json")
	if err := os.WriteFile(path, []byte(testConfigJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	fromGo := mustResolver(t, testConfig())
	for _, tn := range []tenant.Tenant{mustTenant(t, "x", "basic"), mustTenant(t, "acme", "plus"), mustTenant(t, "bigco", "")} {
		a, errA := fromFile.Resolve(context.Background(), tn)
		b, errB := fromGo.Resolve(context.Background(), tn)
		if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%v: file %+v %v, Go %+v %v", tn, a, errA, b, errB)
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestDecodeConfigIsStrict(t *testing.T) {
	for name, src := range map[string]string{
		"unknown top-level":  `{"regoin":"us-east-1"}`,
		"unknown nested":     `{"pool":{"roleArn":"` + poolRole + `","tabel":"x"}}`,
		"unknown deployment": `{"tiers":{"basic":{"model":"pool","extra":1}}}`,
		"trailing":           `{} {}`,
		"garbage":            `{"region":`,
		"wrong type":         `{"tiers":[]}`,
	} {
		_, err := DecodeConfig(strings.NewReader(src))
		var pe *PlacementError
		if !errors.Is(err, ErrInvalidPlacement) || !errors.As(err, &pe) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNewConfigResolverRefusesBadValues(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"wildcard table":      func(c *Config) { c.Pool.Table = "arn:aws:dynamodb:us-east-1:111122223333:table/*" },
		"wildcard role":       func(c *Config) { c.Pool.RoleARN = "arn:aws:iam::111122223333:role/*" },
		"user not role":       func(c *Config) { c.Pool.RoleARN = "arn:aws:iam::111122223333:user/x" },
		"bucket upper":        func(c *Config) { c.Pool.Bucket = "Example" },
		"bucket wildcard":     func(c *Config) { c.Pool.Bucket = "ex?mple" },
		"key alias":           func(c *Config) { c.Silo.KMSKeyARN = "arn:aws:kms:us-east-1:111122223333:alias/tenant" },
		"region":              func(c *Config) { c.Region = "us east" },
		"other placeholder":   func(c *Config) { c.Silo.Bucket = "b-${bucket}" },
		"iam variable":        func(c *Config) { c.Silo.Bucket = "b-${aws:username}" },
		"unknown model":       func(c *Config) { c.Tiers["x"] = Deployment{Model: "hybrid"} },
		"bridge missing":      func(c *Config) { c.Tiers["x"] = Deployment{Model: Bridge, Table: Pool} },
		"pool with per-model": func(c *Config) { c.Tiers["x"] = Deployment{Model: Pool, Bucket: Silo} },
		"tier name":           func(c *Config) { c.Tiers["a*"] = Deployment{Model: Pool} },
		"tenant id":           func(c *Config) { c.Tenants["a/b"] = Override{} },
		"tenant override":     func(c *Config) { c.Tenants["x"] = Override{Pool: Resources{Table: "table/*"}} },
		"tenant deployment":   func(c *Config) { c.Tenants["x"] = Override{Deployment: &Deployment{Model: "x"}} },
	} {
		c := testConfig()
		mutate(&c)
		_, err := NewConfigResolver(c)
		var pe *PlacementError
		if !errors.Is(err, ErrInvalidPlacement) || !errors.As(err, &pe) || pe.Field == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	c := testConfig()
	c.DefaultTier = "gold"
	if _, err := NewConfigResolver(c); !errors.Is(err, ErrUnknownTier) {
		t.Errorf("default tier not in tiers: %v", err)
	}
}

func TestResolveErrors(t *testing.T) {
	ctx := context.Background()
	r := mustResolver(t, testConfig())

	_, err := r.Resolve(ctx, mustTenant(t, "t1", "gold"))
	var pe *PlacementError
	if !errors.Is(err, ErrUnknownTier) || !errors.As(err, &pe) || pe.TenantID != "t1" {
		t.Errorf("unknown tier: %v", err)
	}
	if _, err := r.Resolve(ctx, mustTenant(t, "t1", "")); !errors.Is(err, ErrUnknownTier) {
		t.Errorf("no tier: %v", err)
	}
	if _, err := r.Resolve(ctx, tenant.Tenant{}); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("zero tenant: %v", err)
	}

	c := testConfig()
	c.DefaultTier = "basic"
	c.RequireListed = true
	r = mustResolver(t, c)
	if _, err := r.Resolve(ctx, mustTenant(t, "t1", "basic")); !errors.Is(err, ErrUnknownTenant) {
		t.Errorf("unlisted: %v", err)
	}
	if p, err := r.Resolve(ctx, mustTenant(t, "acme", "gold")); err != nil || p.Model != Pool {
		t.Errorf("default tier: %+v %v", p, err)
	}

	// A pooled table without a pool role is incomplete.
	c = testConfig()
	c.Pool.RoleARN = ""
	r = mustResolver(t, c)
	_, err = r.Resolve(ctx, mustTenant(t, "t1", "basic"))
	if !errors.Is(err, ErrIncompletePlacement) || !errors.As(err, &pe) || !strings.Contains(pe.Field, "pool.roleArn") {
		t.Errorf("no pool role: %v", err)
	}
	// No resource at all is incomplete.
	c = testConfig()
	c.Pool = Resources{RoleARN: poolRole}
	r = mustResolver(t, c)
	if _, err := r.Resolve(ctx, mustTenant(t, "t1", "basic")); !errors.Is(err, ErrIncompletePlacement) {
		t.Errorf("nothing placed: %v", err)
	}
	// No region.
	c = testConfig()
	c.Region = ""
	r = mustResolver(t, c)
	if _, err := r.Resolve(ctx, mustTenant(t, "t1", "basic")); !errors.Is(err, ErrIncompletePlacement) {
		t.Errorf("no region: %v", err)
	}
	// A silo name built from the tier needs a tier.
	c = testConfig()
	c.Silo.Bucket = "example-${tenant.tier}-${tenant.id}"
	c.DefaultTier = "premium"
	r = mustResolver(t, c)
	if _, err := r.Resolve(ctx, mustTenant(t, "t1", "")); !errors.Is(err, ErrIncompletePlacement) {
		t.Errorf("tier placeholder without tier: %v", err)
	}
	if p, err := r.Resolve(ctx, mustTenant(t, "t1", "premium")); err != nil || p.Bucket.Name != "example-premium-t1" {
		t.Errorf("tier placeholder: %+v %v", p.Bucket, err)
	}
	// A substituted name that breaks the field's rules is refused.
	if _, err := r.Resolve(ctx, mustTenant(t, "Upper_Case", "premium")); !errors.Is(err, ErrInvalidPlacement) {
		t.Errorf("bucket from an upper-case ID: %v", err)
	}
}

// TestReservedIDsNeverResolve: a pooled bucket's top-level prefixes are
// tenant IDs, so a tenant named like a shared prefix would be granted it.
func TestReservedIDsNeverResolve(t *testing.T) {
	ctx := context.Background()
	c := testConfig()
	c.ReservedIDs = []string{"shared", "public"}
	r := mustResolver(t, c)
	for _, id := range []string{"shared", "Shared", "SHARED", "public"} {
		_, err := r.Resolve(ctx, mustTenant(t, id, "basic"))
		var pe *PlacementError
		if !errors.Is(err, ErrReservedTenant) || !errors.As(err, &pe) || pe.TenantID != id {
			t.Errorf("%s: %v", id, err)
		}
	}
	if _, err := r.Resolve(ctx, mustTenant(t, "shared-co", "basic")); err != nil {
		t.Errorf("an ID that only starts like a reserved one: %v", err)
	}

	c.Tenants = map[string]Override{"Shared": {}}
	if _, err := NewConfigResolver(c); !errors.Is(err, ErrReservedTenant) || !errors.Is(err, ErrInvalidPlacement) {
		t.Errorf("an override for a reserved ID: %v", err)
	}
	c.Tenants = nil
	c.ReservedIDs = []string{"a*"}
	if _, err := NewConfigResolver(c); !errors.Is(err, ErrInvalidPlacement) {
		t.Errorf("an invalid reserved ID: %v", err)
	}
}

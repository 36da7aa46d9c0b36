package vending

import (
	"context"
	"testing"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/tenant"
)

// The fixture of package isolation's tests, which the vendor's tests share.

const (
	testTable  = "arn:aws:dynamodb:us-east-1:111122223333:table/orders"
	testBucket = "example-pool-data"
	poolRole   = "arn:aws:iam::111122223333:role/tenant-pool"
	siloRoleOf = "arn:aws:iam::111122223333:role/tenant-" // + tenant ID
	acmeKey    = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	bigcoRole  = "arn:aws:iam::444455556666:role/tenantkit-data"
)

// testConfig places basic tenants in the pool, premium ones in silos, plus
// ones in a bridge (pooled table, siloed bucket and key); tenant acme has
// its own KMS key in the pool, tenant bigco a silo in its own account.
func testConfig() isolation.Config {
	return isolation.Config{
		Region: "us-east-1",
		Pool: isolation.Resources{
			RoleARN: poolRole,
			Table:   "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
			Bucket:  "example-pool-data",
		},
		Silo: isolation.Resources{
			RoleARN:   "arn:aws:iam::111122223333:role/tenant-${tenant.id}",
			Table:     "arn:aws:dynamodb:us-east-1:111122223333:table/orders-${tenant.id}",
			Bucket:    "example-silo-${tenant.id}",
			KMSKeyARN: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000",
		},
		Tiers: map[string]isolation.Deployment{
			"basic":   {Model: isolation.Pool},
			"premium": {Model: isolation.Silo},
			"plus":    {Model: isolation.Bridge, Table: isolation.Pool, Bucket: isolation.Silo, KMSKey: isolation.Silo},
		},
		Tenants: map[string]isolation.Override{
			"acme": {Pool: isolation.Resources{KMSKeyARN: acmeKey}},
			"bigco": {
				Deployment: &isolation.Deployment{Model: isolation.Silo},
				Silo: isolation.Resources{RoleARN: bigcoRole, Region: "eu-west-1",
					Table: "arn:aws:dynamodb:eu-west-1:444455556666:table/orders", Bucket: "bigco-data",
					KMSKeyARN: "arn:aws:kms:eu-west-1:444455556666:key/11111111-1111-1111-1111-111111111111"},
			},
		},
	}
}

func mustTenant(t testing.TB, id, tier string) tenant.Tenant {
	t.Helper()
	tn, err := tenant.New(id, tier)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func mustResolver(t testing.TB, c isolation.Config) *isolation.ConfigResolver {
	t.Helper()
	r, err := isolation.NewConfigResolver(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func tenantCtx(t testing.TB, id, tier string) context.Context {
	return tenant.NewContext(context.Background(), mustTenant(t, id, tier))
}

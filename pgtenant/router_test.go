package pgtenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/pgtenant"
	"github.com/tenantkit/tenantkit/tenant"
)

const bridgeConfig = `{
  "region": "us-east-1",
  "pool": {
    "roleArn": "arn:aws:iam::111122223333:role/tenant-pool",
    "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders"
  },
  "silo": {
    "roleArn": "arn:aws:iam::111122223333:role/tenant-${tenant.id}",
    "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders-${tenant.id}"
  },
  "tiers": {
    "basic": {"model": "pool"},
    "premium": {"model": "silo"},
    "plus": {"model": "bridge", "table": "silo", "bucket": "pool", "kmsKey": "pool"}
  }
}`

// A Router sends pooled tenants to the shared database and siloed ones
// (by model or by a bridge that silos their table) to their own, never
// falling back to the pool when a route fails.
func TestRouterByPlacement(t *testing.T) {
	cfg, err := isolation.DecodeConfig(strings.NewReader(bridgeConfig))
	if err != nil {
		t.Fatal(err)
	}
	res, err := isolation.NewConfigResolver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	appURL := env(t, "TENANTKIT_POSTGRES_APP_URL")
	named := func(name string) *pgtenant.DB {
		pool, _ := newPool(t, appURL+"&application_name="+name, pgx.QueryExecModeCacheStatement, 1)
		return newDB(t, pool)
	}
	pooled := named("pooled")
	silos := map[string]*pgtenant.DB{"globex": named("silo-globex"), "initech": named("silo-initech")}
	router, err := pgtenant.NewRouter(pgtenant.PlacementRoute(res, pooled, func(_ context.Context, p isolation.Placement) (*pgtenant.DB, error) {
		return silos[p.TenantID], nil // nil for an unknown silo: ErrRoute
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, tier, want string }{
		{"acme", "basic", "pooled"},
		{"globex", "premium", "silo-globex"},
		{"initech", "plus", "silo-initech"},
	} {
		tn, err := tenant.New(c.id, c.tier)
		if err != nil {
			t.Fatal(err)
		}
		ctx := tenant.NewContext(context.Background(), tn)
		var app, setting string
		err = router.BeginFunc(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "select current_setting('application_name'), current_setting('app.tenant_id')").Scan(&app, &setting)
		})
		if err != nil || app != c.want || setting != c.id {
			t.Errorf("%s (%s): database %q, tenant %q, %v; want %q", c.id, c.tier, app, setting, err, c.want)
		}
	}

	// A silo tenant without a database is refused, not pooled.
	hooli, _ := tenant.New("hooli", "premium")
	err = router.BeginFunc(tenant.NewContext(context.Background(), hooli), func(pgx.Tx) error {
		t.Error("a silo tenant without a database ran a transaction")
		return nil
	})
	if !errors.Is(err, pgtenant.ErrRoute) {
		t.Errorf("silo tenant without a database: %v, want ErrRoute", err)
	}
	// An unknown tier fails in the resolver: refused too.
	odd, _ := tenant.New("odd", "no-such-tier")
	if _, err := router.BeginTx(tenant.NewContext(context.Background(), odd), pgx.TxOptions{}); !errors.Is(err, pgtenant.ErrRoute) {
		t.Errorf("unresolvable tenant: %v, want ErrRoute", err)
	}
	if err := router.BeginFunc(context.Background(), func(pgx.Tx) error { return nil }); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("no tenant: %v", err)
	}
	if _, err := pgtenant.NewRouter(nil); !errors.Is(err, pgtenant.ErrInvalidOption) {
		t.Errorf("NewRouter(nil): %v", err)
	}
}

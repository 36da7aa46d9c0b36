package pgtenant_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/pgtenant"
	"github.com/tenantkit/tenantkit/tenant"
)

// A tenant transaction on a pool. In a service the context comes from the
// authentication middleware; here a tenant is put into it by hand. (The
// example needs a server, so it is compiled, not run.)
func ExampleDB_BeginFunc() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("TENANTKIT_POSTGRES_APP_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	db, err := pgtenant.New(pool)
	if err != nil {
		log.Fatal(err)
	}

	acme, _ := tenant.New("acme", "pro")
	ctx = tenant.NewContext(ctx, acme)
	var orders int
	err = db.BeginFunc(ctx, func(tx pgx.Tx) error {
		// No tenant filter: the table's policy adds it.
		return tx.QueryRow(ctx, "select count(*) from orders").Scan(&orders)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(orders)
}

// Behind PgBouncer in transaction mode (before 1.21), pgx must not use
// named prepared statements.
func ExampleNew_pgBouncer() {
	cfg, err := pgxpool.ParseConfig(os.Getenv("TENANTKIT_PGBOUNCER_APP_URL"))
	if err != nil {
		log.Fatal(err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	db, err := pgtenant.New(pool, pgtenant.WithSetting("myapp.tenant"))
	if err != nil {
		log.Fatal(err)
	}
	_ = db
}

// The migration that puts a table under tenant row-level security.
func ExampleRLSMigration() {
	sql, err := pgtenant.RLSMigration(pgx.Identifier{"public", "orders"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(sql)
	// Output:
	// ALTER TABLE "public"."orders" ENABLE ROW LEVEL SECURITY;
	// ALTER TABLE "public"."orders" FORCE ROW LEVEL SECURITY;
	// DROP POLICY IF EXISTS "tenant_isolation" ON "public"."orders";
	// CREATE POLICY "tenant_isolation" ON "public"."orders" AS PERMISSIVE FOR ALL TO PUBLIC
	//     USING ("tenant_id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')))
	//     WITH CHECK ("tenant_id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')));
}

// A service that refuses to start on a database where row-level security
// would not hold, as its application role sees it.
func ExampleCheck() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("TENANTKIT_POSTGRES_APP_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	err = pgtenant.Check(ctx, pool, pgtenant.WithSchemas("public"))
	var audit *pgtenant.AuditError
	if errors.As(err, &audit) {
		for _, f := range audit.Findings {
			log.Print(f) // for example: rls-not-forced "public"."orders": ...
		}
		log.Fatal("refusing to start")
	} else if err != nil {
		log.Fatal(err)
	}
}

// The bridge model: pooled tenants share one database, siloed tenants
// (by their placement's table) have their own, each with its own pool.
func ExampleRouter() {
	ctx := context.Background()
	placements, err := isolation.LoadConfig("placement.json")
	if err != nil {
		log.Fatal(err)
	}
	shared, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	pooled, err := pgtenant.New(shared)
	if err != nil {
		log.Fatal(err)
	}
	silos := map[string]*pgtenant.DB{} // filled at startup, one per silo tenant
	router, err := pgtenant.NewRouter(pgtenant.PlacementRoute(placements, pooled,
		func(_ context.Context, p isolation.Placement) (*pgtenant.DB, error) {
			return silos[p.TenantID], nil // none: the transaction is refused (ErrRoute)
		}))
	if err != nil {
		log.Fatal(err)
	}

	globex, _ := tenant.New("globex", "premium")
	ctx = tenant.NewContext(ctx, globex)
	err = router.BeginFunc(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "update orders set status = 'shipped' where id = $1", 42)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
}

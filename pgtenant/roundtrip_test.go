package pgtenant_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantkit/tenantkit/pgtenant"
)

// modesFor returns the query exec modes to measure on a target: every
// mode directly, and behind PgBouncer 1.18 (transaction mode) those that
// use no named prepared statement.
func modesFor(tg target) []pgx.QueryExecMode {
	modes := []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeDescribeExec, pgx.QueryExecModeSimpleProtocol}
	if tg.name == "direct" {
		modes = append([]pgx.QueryExecMode{pgx.QueryExecModeCacheStatement}, modes...)
	}
	return modes
}

// roundTrips returns the round trips of one bare pgx transaction and of
// one tenant transaction running the same statement (BEGIN, one query,
// COMMIT), on a warm one-connection pool.
func roundTrips(tb testing.TB, pool *pgxpool.Pool, count *counter, db *pgtenant.DB, stmt string) (bare, tenantTx int64) {
	tb.Helper()
	ctx := as(tb, context.Background(), "acme")
	var n int
	bareTx := func() {
		tx, err := pool.Begin(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tx.QueryRow(ctx, stmt).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	tenantTxn := func() {
		if err := db.BeginFunc(ctx, func(tx pgx.Tx) error { return tx.QueryRow(ctx, stmt).Scan(&n) }); err != nil {
			tb.Fatal(err)
		}
	}
	// Warm up: the connection is open and the statement caches hold
	// every statement.
	for range 2 {
		bareTx()
		tenantTxn()
	}
	measure := func(fn func()) int64 {
		before := count.roundTrips.Load()
		fn()
		return count.roundTrips.Load() - before
	}
	return measure(bareTx), measure(tenantTxn)
}

// A tenant transaction costs the round trips of a bare pgx transaction
// running the same statement, in every query exec mode but DescribeExec
// (which describes the BEGIN and the set_config before executing them:
// one more), directly and through PgBouncer.
func TestRoundTrips(t *testing.T) {
	for _, tg := range targets(t) {
		schema := itemsSchema(t, []string{"acme"}, 2)
		stmt := "select count(*) from " + pgx.Identifier{schema, "items"}.Sanitize()
		for _, mode := range modesFor(tg) {
			t.Run(tg.name+"/"+mode.String(), func(t *testing.T) {
				pool, count := newPool(t, tg.url, mode, 1)
				db := newDB(t, pool)
				bare, tenantTx := roundTrips(t, pool, count, db, stmt)
				want := bare
				if mode == pgx.QueryExecModeDescribeExec {
					want = bare + 1
				}
				t.Logf("round trips per transaction: bare %d, tenant %d", bare, tenantTx)
				if tenantTx != want {
					t.Errorf("tenant transaction: %d round trips, bare: %d; want %d", tenantTx, bare, want)
				}
			})
		}
	}
}

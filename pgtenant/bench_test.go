package pgtenant_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BenchmarkTx compares a tenant transaction with a bare pgx transaction
// running the same statement (BEGIN, a count under row-level security,
// COMMIT) on a one-connection pool, directly (pgx's default mode) and
// through PgBouncer in transaction mode (QueryExecModeExec), and reports
// the round trips of each.
func BenchmarkTx(b *testing.B) {
	for _, tg := range targets(b) {
		benchTx(b, tg)
	}
}

// benchTx runs the sub-benchmarks of tg: bare, tenant and interleaved,
// which alternates the two inside one loop, so that both see the same
// load of a shared machine, and reports their ratio as tenant/bare.
func benchTx(b *testing.B, tg target) {
	{
		schema := itemsSchema(b, []string{"acme", "globex"}, 3)
		stmt := "select count(*) from " + pgx.Identifier{schema, "items"}.Sanitize()
		pool, count := newPool(b, tg.url, tg.mode, 1)
		db := newDB(b, pool)
		ctx := as(b, context.Background(), "acme")
		var n int
		bare := func() error {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx)
			if err := tx.QueryRow(ctx, stmt).Scan(&n); err != nil {
				return err
			}
			return tx.Commit(ctx)
		}
		tenantTx := func() error {
			return db.BeginFunc(ctx, func(tx pgx.Tx) error { return tx.QueryRow(ctx, stmt).Scan(&n) })
		}
		// floor is the least that pgx and PostgreSQL allow for a
		// transaction-local tenant in no extra round trip, written by hand:
		// the set_config in BEGIN's batch, and no context, no check of its
		// answer, no cleanup context.
		floor := func() error {
			batch := &pgx.Batch{}
			batch.BeginTx(pgx.TxOptions{})
			batch.Queue("select set_config('app.tenant_id', $1, true)", "acme")
			br := pool.SendBatch(ctx, batch)
			tx := br.Tx()
			if err := br.Close(); err != nil {
				return err
			}
			defer tx.Rollback(ctx)
			if err := tx.QueryRow(ctx, stmt).Scan(&n); err != nil {
				return err
			}
			return tx.Commit(ctx)
		}
		for _, c := range []struct {
			name string
			fn   func() error
		}{{"bare", bare}, {"tenant", tenantTx}} {
			b.Run(tg.name+"/"+c.name, func(b *testing.B) {
				for range 3 { // warm the statement caches
					if err := c.fn(); err != nil {
						b.Fatal(err)
					}
				}
				before := count.roundTrips.Load()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := c.fn(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(count.roundTrips.Load()-before)/float64(b.N), "roundtrips/op")
			})
		}
		b.Run(tg.name+"/interleaved", func(b *testing.B) {
			var bareTime, tenantTime, floorTime time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := bare(); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := tenantTx(); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				if err := floor(); err != nil {
					b.Fatal(err)
				}
				bareTime += t1.Sub(t0)
				tenantTime += t2.Sub(t1)
				floorTime += time.Since(t2)
			}
			b.ReportMetric(float64(bareTime.Nanoseconds())/float64(b.N), "bare-ns/op")
			b.ReportMetric(float64(tenantTime.Nanoseconds())/float64(b.N), "tenant-ns/op")
			b.ReportMetric(float64(floorTime.Nanoseconds())/float64(b.N), "floor-ns/op")
			b.ReportMetric(float64(tenantTime)/float64(bareTime), "tenant/bare")
			b.ReportMetric(float64(floorTime)/float64(bareTime), "floor/bare")
			b.ReportMetric(float64(tenantTime)/float64(floorTime), "tenant/floor")
		})
	}
}

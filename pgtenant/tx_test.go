package pgtenant_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The leak proof: 200 tenants, 20,000 tenant transactions from 40
// goroutines on a pool of 10 connections (through PgBouncer, 10 clients on
// 4 server connections), each running a query without any tenant filter
// and checking that it sees exactly its own rows. Some transactions fail
// on purpose (an error, a refused write) so that the failing paths
// interleave with the others. Afterwards every pooled connection carries
// no tenant and sees no row.
func TestLeakProof(t *testing.T) {
	const (
		tenants  = 200
		rowsPer  = 3
		total    = 20000
		workers  = 40
		maxConns = 10
	)
	ids := tenantIDs(tenants)
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			schema := itemsSchema(t, ids, rowsPer)
			items := pgx.Identifier{schema, "items"}.Sanitize()
			// The query a buggy handler runs: no WHERE tenant_id = ...
			buggy := "select tenant_id, payload from " + items + " order by tenant_id, id"
			pool, _ := newPool(t, tg.url, tg.mode, maxConns)
			db := newDB(t, pool)

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			ctxs := make(map[string]context.Context, tenants)
			for _, id := range ids {
				ctxs[id] = as(t, ctx, id)
			}
			var (
				next, done, cross, failedOnPurpose atomic.Int64
				wg                                 sync.WaitGroup
				firstErr                           error
				errOnce                            sync.Once
			)
			fail := func(err error) {
				errOnce.Do(func() { firstErr = err; cancel() })
			}
			start := time.Now()
			for w := range workers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for {
						n := next.Add(1)
						if n > total || ctx.Err() != nil {
							return
						}
						id := ids[rng.IntN(tenants)]
						err := db.BeginFunc(ctxs[id], func(tx pgx.Tx) error {
							rows, err := tx.Query(ctx, buggy)
							if err != nil {
								return err
							}
							seen := 0
							var owner, payload string
							for rows.Next() {
								if err := rows.Scan(&owner, &payload); err != nil {
									return err
								}
								seen++
								if owner != id || !strings.HasPrefix(payload, id+"-") {
									cross.Add(1)
								}
							}
							if err := rows.Err(); err != nil {
								return err
							}
							if seen != rowsPer {
								return fmt.Errorf("tenant %s saw %d rows, want %d", id, seen, rowsPer)
							}
							switch n % 97 {
							case 0: // an error inside the transaction
								_, err := tx.Exec(ctx, "select 1/0")
								return errOnPurpose{err}
							case 1: // a write naming another tenant
								_, err := tx.Exec(ctx, "insert into "+items+" values ($1, 99, 'x')", ids[(rng.IntN(tenants-1)+1+indexOf(ids, id))%tenants])
								return errOnPurpose{err}
							}
							return nil
						})
						var purpose errOnPurpose
						if errors.As(err, &purpose) {
							if purpose.err == nil {
								fail(fmt.Errorf("transaction %d: the statement that must fail succeeded", n))
								return
							}
							failedOnPurpose.Add(1)
						} else if err != nil {
							fail(fmt.Errorf("transaction %d as %s: %w", n, id, err))
							return
						}
						done.Add(1)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			if firstErr != nil {
				t.Fatal(firstErr)
			}
			if got := done.Load(); got != total {
				t.Fatalf("%d transactions done, want %d", got, total)
			}
			if c := cross.Load(); c != 0 {
				t.Fatalf("%d cross-tenant rows seen", c)
			}
			t.Logf("%d tenant transactions (%d failed on purpose) in %v, 0 cross-tenant rows", total, failedOnPurpose.Load(), elapsed.Round(time.Millisecond))

			// No pooled connection keeps a tenant.
			onEveryConn(t, pool, maxConns, func(c *pgxpool.Conn) {
				if v := look(t, context.Background(), c, schema); v.setting != "" || v.rows != 0 {
					t.Errorf("a pooled connection after the run: setting %q, %d rows visible", v.setting, v.rows)
				}
			})
		})
	}
}

type errOnPurpose struct{ err error }

func (e errOnPurpose) Error() string { return fmt.Sprintf("failed on purpose: %v", e.err) }

func indexOf(ids []string, id string) int {
	for i, v := range ids {
		if v == id {
			return i
		}
	}
	return -1
}

// A write that names another tenant is refused by the policy's WITH
// CHECK with SQLSTATE 42501; rows of another tenant cannot be updated,
// deleted or moved to it.
func TestWithCheckRefusesOtherTenant(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			schema := itemsSchema(t, []string{"acme", "globex"}, 2)
			items := pgx.Identifier{schema, "items"}.Sanitize()
			pool, _ := newPool(t, tg.url, tg.mode, 2)
			db := newDB(t, pool)
			ctx := as(t, context.Background(), "acme")

			refused := func(what, sql string, args ...any) {
				t.Helper()
				err := db.BeginFunc(ctx, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, sql, args...)
					return err
				})
				var pgErr *pgconn.PgError
				if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
					t.Errorf("%s: got %v, want SQLSTATE 42501 (row-level security)", what, err)
				}
			}
			refused("insert naming another tenant", "insert into "+items+" values ($1, 7, 'x')", "globex")
			refused("update moving a row to another tenant", "update "+items+" set tenant_id = $1 where id = 0", "globex")
			// COPY FROM into a table under row-level security is refused
			// outright (feature_not_supported), whichever tenant it names.
			err := db.BeginFunc(ctx, func(tx pgx.Tx) error {
				_, err := tx.CopyFrom(ctx, pgx.Identifier{schema, "items"}, []string{"tenant_id", "id", "payload"},
					pgx.CopyFromRows([][]any{{"globex", int32(8), "x"}}))
				return err
			})
			if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "0A000" {
				t.Errorf("copy naming another tenant: got %v, want SQLSTATE 0A000", err)
			}

			// Statements on another tenant's rows find none.
			err = db.BeginFunc(ctx, func(tx pgx.Tx) error {
				for _, sql := range []string{
					"update " + items + " set payload = 'stolen' where tenant_id = 'globex'",
					"delete from " + items + " where tenant_id = 'globex'",
				} {
					tag, err := tx.Exec(ctx, sql)
					if err != nil {
						return err
					}
					if tag.RowsAffected() != 0 {
						t.Errorf("%s: %d rows affected", sql, tag.RowsAffected())
					}
				}
				// The caller's own rows are writable.
				tag, err := tx.Exec(ctx, "insert into "+items+" values ('acme', 7, 'mine')")
				if err != nil || tag.RowsAffected() != 1 {
					return fmt.Errorf("own insert: %v, %v", tag, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// globex still has its two rows, untouched.
			var n int
			var payloads string
			err = db.BeginFunc(as(t, context.Background(), "globex"), func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, "select count(*), string_agg(payload, ',' order by id) from "+items).Scan(&n, &payloads)
			})
			if err != nil || n != 2 || strings.Contains(payloads, "stolen") {
				t.Fatalf("globex's rows: %d %q %v", n, payloads, err)
			}
		})
	}
}

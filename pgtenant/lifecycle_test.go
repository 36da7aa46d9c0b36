package pgtenant_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantkit/tenantkit/pgtenant"
	"github.com/tenantkit/tenantkit/tenant"
)

// Each way a tenant transaction can end (commit, rollback, an error, a
// panic in the callback, a context canceled during a statement or before
// the commit, a begin the server refuses) leaves the connection it ran on
// with no tenant: a plain query on that same connection (one-connection
// pool; direct, the same backend) sees the setting empty and no row.
func TestEveryEndLeavesNoTenant(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			schema := itemsSchema(t, []string{"acme"}, 2)
			items := pgx.Identifier{schema, "items"}.Sanitize()
			pool, _ := newPool(t, tg.url, tg.mode, 1)
			db := newDB(t, pool)
			bg := context.Background()
			before := look(t, bg, pool, schema)
			if before.setting != "" || before.rows != 0 {
				t.Fatalf("a plain query before any tenant transaction: %+v", before)
			}
			sees := func(ctx context.Context, tx pgx.Tx) error {
				var n int
				if err := tx.QueryRow(ctx, "select count(*) from "+items).Scan(&n); err != nil {
					return err
				}
				if n != 2 {
					t.Errorf("inside the tenant transaction: %d rows, want 2", n)
				}
				return nil
			}

			cases := []struct {
				name string
				run  func(t *testing.T) error
				want func(error) bool
			}{
				{"commit", func(t *testing.T) error {
					ctx := as(t, bg, "acme")
					return db.BeginFunc(ctx, func(tx pgx.Tx) error { return sees(ctx, tx) })
				}, func(err error) bool { return err == nil }},
				{"error", func(t *testing.T) error {
					ctx := as(t, bg, "acme")
					return db.BeginFunc(ctx, func(tx pgx.Tx) error {
						if err := sees(ctx, tx); err != nil {
							return err
						}
						return errBoom
					})
				}, func(err error) bool { return errors.Is(err, errBoom) }},
				{"failed statement", func(t *testing.T) error {
					ctx := as(t, bg, "acme")
					return db.BeginFunc(ctx, func(tx pgx.Tx) error {
						_, err := tx.Exec(ctx, "select 1/0")
						return err
					})
				}, func(err error) bool { var pe *pgconn.PgError; return errors.As(err, &pe) && pe.Code == "22012" }},
				{"panic", func(t *testing.T) (err error) {
					ctx := as(t, bg, "acme")
					defer func() {
						if r := recover(); r != errBoom {
							t.Errorf("recovered %v, want the callback's panic", r)
						}
						err = errBoom
					}()
					return db.BeginFunc(ctx, func(tx pgx.Tx) error {
						if err := sees(ctx, tx); err != nil {
							return err
						}
						panic(errBoom)
					})
				}, func(err error) bool { return errors.Is(err, errBoom) }},
				{"caller's rollback", func(t *testing.T) error {
					ctx := as(t, bg, "acme")
					tx, err := db.Begin(ctx)
					if err != nil {
						return err
					}
					if err := sees(ctx, tx); err != nil {
						return err
					}
					return tx.Rollback(ctx)
				}, func(err error) bool { return err == nil }},
				{"canceled during a statement", func(t *testing.T) error {
					ctx, cancel := context.WithCancel(as(t, bg, "acme"))
					defer cancel()
					return db.BeginFunc(ctx, func(tx pgx.Tx) error {
						if err := sees(ctx, tx); err != nil {
							return err
						}
						time.AfterFunc(50*time.Millisecond, cancel)
						_, err := tx.Exec(ctx, "select pg_sleep(10)")
						return err
					})
				}, func(err error) bool { return err != nil }},
				{"canceled before the commit", func(t *testing.T) error {
					ctx, cancel := context.WithCancel(as(t, bg, "acme"))
					defer cancel()
					return db.BeginFunc(ctx, func(tx pgx.Tx) error {
						if err := sees(ctx, tx); err != nil {
							return err
						}
						cancel()
						return nil
					})
				}, func(err error) bool { return errors.Is(err, context.Canceled) }},
				{"canceled before the begin", func(t *testing.T) error {
					ctx, cancel := context.WithCancel(as(t, bg, "acme"))
					cancel()
					return db.BeginFunc(ctx, func(tx pgx.Tx) error {
						t.Error("the callback ran on a canceled context")
						return nil
					})
				}, func(err error) bool { return errors.Is(err, context.Canceled) }},
				{"begin refused", func(t *testing.T) error {
					ctx := as(t, bg, "acme")
					return db.BeginTxFunc(ctx, pgx.TxOptions{BeginQuery: "begin isolation level no_such_level"}, func(tx pgx.Tx) error {
						t.Error("the callback ran after a failed begin")
						return nil
					})
				}, func(err error) bool {
					var pe *pgconn.PgError
					return errors.Is(err, pgtenant.ErrSetTenant) && errors.As(err, &pe)
				}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					if err := c.run(t); !c.want(err) {
						t.Fatalf("unexpected result: %v", err)
					}
					after := look(t, bg, pool, schema)
					if after.setting != "" || after.rows != 0 {
						t.Fatalf("a plain query on the connection afterwards: setting %q, %d rows visible", after.setting, after.rows)
					}
					if tg.name == "direct" && after.pid != before.pid && c.name != "canceled during a statement" {
						// Not a leak, but the connection should have been
						// kept: the rollback ran on a context of its own.
						t.Errorf("the connection was replaced (backend %d, then %d)", before.pid, after.pid)
					}
					before = after
				})
			}
		})
	}
}

var errBoom = errors.New("boom")

// Without a tenant in the context nothing is sent, not even a connection
// opened: the error wraps tenant.ErrNoTenant, and a context marked as
// deliberately tenant-less gets the same.
func TestNoTenantSendsNothing(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			pool, count := newPool(t, tg.url, tg.mode, 2)
			db := newDB(t, pool)
			for _, ctx := range []context.Context{context.Background(), tenant.WithoutTenant(context.Background())} {
				err := db.BeginFunc(ctx, func(pgx.Tx) error {
					t.Error("the callback ran without a tenant")
					return nil
				})
				if !errors.Is(err, tenant.ErrNoTenant) {
					t.Errorf("BeginFunc: %v, want tenant.ErrNoTenant", err)
				}
				if tx, err := db.Begin(ctx); tx != nil || !errors.Is(err, tenant.ErrNoTenant) {
					t.Errorf("Begin: %v, %v, want tenant.ErrNoTenant", tx, err)
				}
			}
			if d, w := count.dials.Load(), count.written.Load(); d != 0 || w != 0 {
				t.Fatalf("without a tenant: %d connections opened, %d bytes sent", d, w)
			}
			// And on a pool that holds an open connection: not a byte.
			if err := pool.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			w := count.written.Load()
			if _, err := db.Begin(context.Background()); !errors.Is(err, tenant.ErrNoTenant) {
				t.Fatal(err)
			}
			if got := count.written.Load(); got != w {
				t.Fatalf("without a tenant: %d bytes sent", got-w)
			}
		})
	}
}

// A setting name that is not a plain custom setting (prefix.name, lower
// case) is refused when the DB is built, so it can never be a built-in
// setting (role, search_path, session_authorization) or carry SQL.
func TestHostileSettingNames(t *testing.T) {
	for _, name := range []string{
		"", "app", "app.", ".tenant", "app..tenant", "a.b.c", "role", "search_path",
		"session_authorization", "App.Tenant_ID", "app.tenant id", "app.tenant-id",
		"app.tenant_id'", "app.tenant_id', true); drop table x; --", "app.\"x\"",
		"app.tenant_id\x00", "app.t\u00e9nant", "1app.tenant", "app.1tenant",
		"app." + string(make([]byte, 64)), "app.abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd",
	} {
		if err := pgtenant.ValidateSetting(name); err == nil {
			t.Errorf("ValidateSetting(%q) accepted", name)
		}
		if _, err := pgtenant.New(fakeConn{}, pgtenant.WithSetting(name)); !errors.Is(err, pgtenant.ErrInvalidOption) {
			t.Errorf("New(WithSetting(%q)): %v, want ErrInvalidOption", name, err)
		}
		if _, err := pgtenant.RLSMigration(pgx.Identifier{"t"}, pgtenant.WithSetting(name)); !errors.Is(err, pgtenant.ErrInvalidOption) {
			t.Errorf("RLSMigration(WithSetting(%q)): %v, want ErrInvalidOption", name, err)
		}
	}
	for _, name := range []string{"app.tenant_id", "myapp.current_tenant", "_x._y", "a1.b2"} {
		if err := pgtenant.ValidateSetting(name); err != nil {
			t.Errorf("ValidateSetting(%q): %v", name, err)
		}
	}
}

// fakeConn is a Conn that must never be used.
type fakeConn struct{}

func (fakeConn) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults {
	panic("fakeConn used")
}

// A tenant transaction is never nested: a transaction is refused as the
// Conn of New, and a connection already inside a transaction is refused
// at begin, before anything is sent.
func TestNoNesting(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, env(t, "TENANTKIT_POSTGRES_APP_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := pgtenant.New(tx); !errors.Is(err, pgtenant.ErrInvalidOption) {
		t.Errorf("New(a pgx.Tx): %v, want ErrInvalidOption", err)
	}
	db, err := pgtenant.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Begin(as(t, ctx, "acme")); !errors.Is(err, pgtenant.ErrInTransaction) {
		t.Errorf("Begin on a connection inside a transaction: %v, want ErrInTransaction", err)
	}
	var setting string
	if err := tx.QueryRow(ctx, "select coalesce(current_setting('app.tenant_id', true), '')").Scan(&setting); err != nil || setting != "" {
		t.Errorf("the outer transaction: setting %q, %v", setting, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Outside a transaction the same connection works.
	err = db.BeginFunc(as(t, ctx, "acme"), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "select current_setting('app.tenant_id')").Scan(&setting)
	})
	if err != nil || setting != "acme" {
		t.Fatalf("tenant transaction on a *pgx.Conn: %q, %v", setting, err)
	}
	if _, err := pgtenant.New(nil); !errors.Is(err, pgtenant.ErrInvalidOption) {
		t.Errorf("New(nil): %v", err)
	}
}

// Every statement path of the transaction (Exec, Query, QueryRow,
// SendBatch, Prepare, the *pgx.Conn under it, a savepoint) sees the
// tenant: it is set at BEGIN, before the caller holds the transaction.
func TestEveryPathSeesTheTenant(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			schema := itemsSchema(t, []string{"acme", "globex"}, 2)
			items := pgx.Identifier{schema, "items"}.Sanitize()
			count := "select count(*) from " + items
			pool, _ := newPool(t, tg.url, tg.mode, 2)
			db := newDB(t, pool)
			ctx := as(t, context.Background(), "acme")
			err := db.BeginFunc(ctx, func(tx pgx.Tx) error {
				check := func(path string, n int, err error) {
					if err != nil || n != 2 {
						t.Errorf("%s: %d rows, %v; want 2", path, n, err)
					}
				}
				var n int
				err := tx.QueryRow(ctx, count).Scan(&n)
				check("QueryRow", n, err)
				rows, err := tx.Query(ctx, "select * from "+items)
				if err == nil {
					_, err = pgx.CollectRows(rows, pgx.RowToMap)
					n = int(rows.CommandTag().RowsAffected())
				}
				check("Query", n, err)
				tag, err := tx.Exec(ctx, "update "+items+" set payload = payload")
				check("Exec", int(tag.RowsAffected()), err)
				b := &pgx.Batch{}
				b.Queue(count).QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
				err = tx.SendBatch(ctx, b).Close()
				check("SendBatch", n, err)
				err = tx.Conn().QueryRow(ctx, count).Scan(&n)
				check("Conn()", n, err)
				if tg.name == "direct" {
					// Named prepared statements: not behind PgBouncer 1.18.
					if _, err := tx.Prepare(ctx, "count_items", count); err != nil {
						return err
					}
					err = tx.QueryRow(ctx, "count_items").Scan(&n)
					check("Prepare", n, err)
				}
				sp, err := tx.Begin(ctx)
				if err != nil {
					return err
				}
				err = sp.QueryRow(ctx, count).Scan(&n)
				check("savepoint", n, err)
				return sp.Rollback(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Package pgtenant carries the request's tenant into PostgreSQL, where
// row-level security (RLS) policies enforce it: a query that forgets its
// WHERE tenant_id = ... still sees and writes only the caller's rows. It
// is a module of its own, on github.com/jackc/pgx/v5 and pgxpool, so that
// pgx enters only the module graph of a service that imports it.
//
// The common case, with a pool for the application's role:
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	if err != nil { ... }
//	db, err := pgtenant.New(pool)
//	if err != nil { ... }
//
//	// In a handler, whose context carries the verified tenant:
//	ctx := r.Context()
//	err = db.BeginFunc(ctx, func(tx pgx.Tx) error {
//		rows, err := tx.Query(ctx, "select id, total from orders") // only this tenant's orders
//		...
//	})
//
// # Tenant transactions
//
// [DB.BeginFunc] and [DB.BeginTx] take the tenant from the context
// ([tenant.FromContext]) and nowhere else; without one they fail with
// [tenant.ErrNoTenant] before anything is sent. They begin the transaction
// and set the tenant with
//
//	select set_config('app.tenant_id', $1, true)
//
// (the setting's name and value are bound parameters; the name is set with
// [WithSetting]) in the same batch as the BEGIN ([pgx.Batch.BeginTx]), so
// a tenant transaction costs the round trips of a bare one. The third
// argument, true, makes the setting transaction-local: PostgreSQL drops it
// at COMMIT or ROLLBACK, however the transaction ends (BeginFunc rolls
// back on an error or a panic of its callback, and on a canceled context,
// on a context of its own), so a pooled connection never keeps a tenant.
// Every statement of the transaction sees the tenant, whichever method
// sends it (Exec, Query, SendBatch, Prepare, Conn, a savepoint), since it
// is set before the caller holds the transaction. COPY FROM into a table
// under row-level security is refused by PostgreSQL; insert instead.
//
// # Schema
//
// [RLSMigration] writes the migration that enables and forces row-level
// security on a table and creates its policy, for both reading (USING) and
// writing (WITH CHECK):
//
//	tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), ''))
//
// Outside a tenant transaction the setting is missing or empty, so no row
// is visible and none can be written: the policy fails closed. FORCE makes
// the policy bind the table's owner too; still, the application should
// connect as a role that owns nothing, is not a superuser and lacks
// BYPASSRLS, and views over tenant tables need security_invoker
// (PostgreSQL 15). [Audit] checks all of this from the application's
// connection and [Check] turns its findings into an error, for a service's
// startup or a CI test.
//
// The setting is not a secret: SQL that the application builds from
// untrusted input can call set_config itself. Row-level security here
// turns a forgotten filter into an empty result; it does not make SQL
// injection harmless. Never set the tenant at session level (set_config
// with false, or SET without LOCAL): that value outlives the transaction,
// and although the next tenant transaction on the connection replaces it,
// a plain query there would see that tenant's rows.
//
// # Poolers
//
// Only transaction-local state is used, so a tenant transaction is safe
// behind PgBouncer in transaction mode and behind RDS Proxy, which hand a
// server connection to a client for one transaction at a time. What the
// application must configure there is pgx's, not this package's:
// PgBouncer before 1.21 does not support named prepared statements, which
// pgx's default query exec mode (QueryExecModeCacheStatement) uses, so
// set pgx.ConnConfig.DefaultQueryExecMode to QueryExecModeExec or
// QueryExecModeCacheDescribe (one round trip, as directly; with
// QueryExecModeDescribeExec a tenant transaction costs one more), or
// QueryExecModeSimpleProtocol. RDS Proxy pins a client to its server
// connection on session state (a session-level SET, named prepared
// statements, temporary tables, advisory locks, LISTEN); a tenant
// transaction sets none of these, and with one of the modes above no
// prepared statement either. The batch that begins a tenant transaction
// uses the connection's mode, so it follows the same rule.
//
// # Bridge: a database per silo tenant
//
// A [Router] begins each tenant transaction on the DB of the context's
// tenant: [PlacementRoute] sends tenants whose placement silos their table
// ([isolation.Placement]) to a DB of their own and the others to the
// pooled one, and refuses ([ErrRoute]) rather than pool a tenant it cannot
// place.
//
// # Errors
//
// No tenant: [tenant.ErrNoTenant]. A Conn already inside a transaction:
// [ErrInTransaction]. A transaction that could not be begun with the
// tenant set: [ErrSetTenant], with the driver's error (errors.As to
// *pgconn.PgError) or the context's. A write that names another tenant is
// refused by the server with SQLSTATE 42501 (insufficient_privilege). An
// invalid option: [ErrInvalidOption]. An audit with findings, from Check:
// an [*AuditError] wrapping [ErrAuditFailed].
package pgtenant

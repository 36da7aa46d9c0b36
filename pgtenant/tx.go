package pgtenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/tenant"
)

// Conn is what tenant transactions are begun on: a *pgxpool.Pool, a
// *pgxpool.Conn or a *pgx.Conn. Its SendBatch must support
// [pgx.Batch.BeginTx], as pgx's own types do. A [pgx.Tx] is not a Conn
// for [New]: a tenant transaction is never nested in another transaction.
type Conn interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// DB begins tenant transactions on a [Conn]: transactions that carry the
// tenant of their context to PostgreSQL in a transaction-local setting,
// which row-level security policies read (see [RLSMigration]). It is safe
// for concurrent use as far as its Conn is (a pool is; a single
// connection serves one transaction at a time).
type DB struct {
	conn    Conn
	setting string
	cleanup time.Duration
}

// New returns a DB that begins tenant transactions on conn. Options:
// [WithSetting], [WithCleanupTimeout].
func New(conn Conn, opts ...Option) (*DB, error) {
	c, err := newConfig(kindDB, opts)
	if err != nil {
		return nil, err
	}
	if d := nilarg.Describe(conn); d != "" {
		return nil, fmt.Errorf("%w: New: the Conn is %s", ErrInvalidOption, d)
	}
	if _, isTx := conn.(interface{ Rollback(context.Context) error }); isTx {
		return nil, fmt.Errorf("%w: New: the Conn is a transaction (%T); give the pool or connection it came from", ErrInvalidOption, conn)
	}
	return &DB{conn: conn, setting: c.setting, cleanup: c.cleanup}, nil
}

// Setting returns the name of the setting the DB sets.
func (d *DB) Setting() string { return d.setting }

// setSQL sets the tenant for the rest of the transaction only (is_local
// true): the server drops it at COMMIT or ROLLBACK, so no pooled
// connection keeps it. Both values are bound parameters.
const setSQL = "select set_config($1, $2, true)"

// Begin is BeginTx with the default transaction options.
func (d *DB) Begin(ctx context.Context) (pgx.Tx, error) {
	return d.BeginTx(ctx, pgx.TxOptions{})
}

// BeginTx begins a transaction with txOptions and sets the tenant of ctx
// in it, in one round trip (two in pgx.QueryExecModeDescribeExec): the
// BEGIN and the set_config travel in one batch ([pgx.Batch.BeginTx]). The
// caller commits or rolls back the returned transaction as any other; the
// setting ends with it.
//
// Without a tenant in ctx it returns an error wrapping
// [tenant.ErrNoTenant] and sends nothing. If the transaction cannot be
// begun with the tenant set, it is rolled back and the error wraps
// [ErrSetTenant] (or is the context's error).
func (d *DB) BeginTx(ctx context.Context, txOptions pgx.TxOptions) (pgx.Tx, error) {
	t, ok := tenant.FromContext(ctx)
	if !ok || t.IsZero() {
		return nil, fmt.Errorf("pgtenant: %w", tenant.ErrNoTenant)
	}
	if inTransaction(d.conn) {
		return nil, ErrInTransaction
	}
	id := t.ID()

	b := &pgx.Batch{}
	b.BeginTx(txOptions)
	var got string
	b.Queue(setSQL, d.setting, id).QueryRow(func(row pgx.Row) error {
		return row.Scan(&got)
	})
	br := d.conn.SendBatch(ctx, b)
	tx := br.Tx()
	err := br.Close()
	if tx == nil {
		// A Conn whose SendBatch ignored BeginTx ran the set_config
		// outside any transaction, where is_local has no effect beyond
		// that one statement; nothing is left to undo, but nothing can
		// be used either.
		return nil, fmt.Errorf("%w: %T does not begin transactions in batches (pgx.Batch.BeginTx)", ErrSetTenant, d.conn)
	}
	if err == nil && got != id {
		err = errors.New("set_config answered another value")
	}
	if err != nil {
		d.rollback(ctx, tx)
		return nil, d.beginError(ctx, err)
	}
	return tx, nil
}

// BeginFunc is BeginTxFunc with the default transaction options.
func (d *DB) BeginFunc(ctx context.Context, fn func(pgx.Tx) error) error {
	return d.BeginTxFunc(ctx, pgx.TxOptions{}, fn)
}

// BeginTxFunc begins a tenant transaction as [DB.BeginTx] does, calls fn
// with it and commits it if fn returns nil. If fn returns an error, the
// transaction is rolled back and fn's error returned; if fn panics, it is
// rolled back and the panic goes on. The rollback runs even when ctx is
// done (bounded by [WithCleanupTimeout]), so the connection goes back
// outside any transaction and with no tenant.
func (d *DB) BeginTxFunc(ctx context.Context, txOptions pgx.TxOptions, fn func(pgx.Tx) error) (err error) {
	tx, err := d.BeginTx(ctx, txOptions)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			d.rollback(ctx, tx)
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		// pgx would fail the COMMIT before sending it and close the
		// connection; a rollback on a context of its own keeps it.
		return err
	}
	committed = true
	return tx.Commit(ctx)
}

// rollback ends tx on a context that outlives ctx's cancellation, bounded
// by the cleanup timeout. A rollback that fails makes pgx close the
// connection, which no pool then hands out again.
func (d *DB) rollback(ctx context.Context, tx pgx.Tx) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cleanup)
	defer cancel()
	_ = tx.Rollback(rctx)
}

func (d *DB) beginError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("pgtenant: begin: %w", ctxErr)
	}
	return &setError{err: err}
}

type setError struct{ err error }

func (e *setError) Error() string { return ErrSetTenant.Error() + ": " + e.err.Error() }

func (e *setError) Unwrap() []error { return []error{ErrSetTenant, e.err} }

// inTransaction reports whether conn is a single connection that is inside
// a transaction now. A pool hands out connections outside any.
func inTransaction(conn Conn) bool {
	var pc *pgconn.PgConn
	switch c := conn.(type) {
	case interface{ PgConn() *pgconn.PgConn }:
		pc = c.PgConn()
	case interface{ Conn() *pgx.Conn }:
		if cc := c.Conn(); cc != nil {
			pc = cc.PgConn()
		}
	}
	return pc != nil && !pc.IsClosed() && pc.TxStatus() != 'I'
}

package pgtenant_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/tenantkit/tenantkit/pgtenant"
	"github.com/tenantkit/tenantkit/tenant"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env returns the variable scripts/with-postgres.sh exports. Without it
// the test skips, except under CI=true, where it fails: no PostgreSQL test
// may silently skip in CI.
func env(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		why := name + " is not set (run the tests through scripts/with-postgres.sh)"
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s; CI=true, so PostgreSQL tests may not skip", why)
		}
		tb.Skip(why)
	}
	return v
}

// target is a way to reach the database as the application role.
type target struct {
	name string
	url  string
	// mode is the query exec mode the application must use there: behind
	// PgBouncer 1.18 in transaction mode, no named prepared statements.
	mode pgx.QueryExecMode
}

// targets returns the application role direct (pgx's default mode) and
// through PgBouncer in transaction mode (unnamed statements).
func targets(tb testing.TB) []target {
	return []target{
		{"direct", env(tb, "TENANTKIT_POSTGRES_APP_URL"), pgx.QueryExecModeCacheStatement},
		{"pgbouncer", env(tb, "TENANTKIT_PGBOUNCER_APP_URL"), pgx.QueryExecModeExec},
	}
}

// counter counts what the connections of one pool send and receive. A
// round trip is a read that follows a write: pgx writes a whole request
// (or pipeline) before it reads the answer.
type counter struct {
	dials      atomic.Int64
	roundTrips atomic.Int64
	written    atomic.Int64
}

func (c *counter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.dials.Add(1)
	return &countingConn{Conn: conn, c: c}, nil
}

type countingConn struct {
	net.Conn
	c     *counter
	wrote atomic.Bool
}

func (cc *countingConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	if n > 0 {
		cc.wrote.Store(true)
		cc.c.written.Add(int64(n))
	}
	return n, err
}

func (cc *countingConn) Read(p []byte) (int, error) {
	if cc.wrote.Swap(false) {
		cc.c.roundTrips.Add(1)
	}
	return cc.Conn.Read(p)
}

// newPool returns a pool of at most maxConns connections to url that
// counts its traffic; it is closed when the test ends.
func newPool(tb testing.TB, url string, mode pgx.QueryExecMode, maxConns int32) (*pgxpool.Pool, *counter) {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = maxConns
	cfg.MinConns = 0
	cfg.HealthCheckPeriod = time.Minute
	// No liveness ping on acquire: it would add round trips to the counts.
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	cfg.ConnConfig.DefaultQueryExecMode = mode
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	c := &counter{}
	cfg.ConnConfig.DialFunc = c.dial
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool, c
}

// newDB returns a tenant DB on pool.
func newDB(tb testing.TB, pool *pgxpool.Pool, opts ...pgtenant.Option) *pgtenant.DB {
	tb.Helper()
	db, err := pgtenant.New(pool, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

var schemaSeq atomic.Int64

// schemaName returns a schema name of its own for tb.
func schemaName(tb testing.TB) string {
	name := strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' || 'a' <= r && r <= 'z' {
			return r
		}
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, tb.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("%s_%d_%d", name, os.Getpid(), schemaSeq.Add(1))
}

// ownerExec runs statements as the owner role, the one that runs
// migrations.
func ownerExec(tb testing.TB, sql ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, env(tb, "TENANTKIT_POSTGRES_URL"))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
}

// itemsSchema creates a schema of its own with table items (tenant_id,
// id, payload) holding rowsPer rows for each tenant of ids, puts it under
// row-level security with RLSMigration and returns the schema's name. The
// schema is dropped when the test ends.
func itemsSchema(tb testing.TB, ids []string, rowsPer int) string {
	tb.Helper()
	schema := schemaName(tb)
	table := pgx.Identifier{schema, "items"}
	migration, err := pgtenant.RLSMigration(table)
	if err != nil {
		tb.Fatal(err)
	}
	var values strings.Builder
	for i, id := range ids {
		for j := range rowsPer {
			if i+j > 0 {
				values.WriteString(",")
			}
			fmt.Fprintf(&values, "('%s', %d, '%s-row-%d')", id, j, id, j)
		}
	}
	stmts := []string{
		"CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize(),
		"CREATE TABLE " + table.Sanitize() + " (tenant_id text NOT NULL, id int NOT NULL, payload text NOT NULL, PRIMARY KEY (tenant_id, id))",
	}
	if len(ids) > 0 {
		stmts = append(stmts, "INSERT INTO "+table.Sanitize()+" VALUES "+values.String())
	}
	stmts = append(stmts, migration)
	ownerExec(tb, stmts...)
	tb.Cleanup(func() { ownerExec(tb, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	return schema
}

// tenantIDs returns n tenant IDs t000, t001, ...
func tenantIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%03d", i)
	}
	return ids
}

// as returns a context carrying tenant id.
func as(tb testing.TB, ctx context.Context, id string) context.Context {
	tb.Helper()
	t, err := tenant.New(id, "")
	if err != nil {
		tb.Fatal(err)
	}
	return tenant.NewContext(ctx, t)
}

// plainView is what a plain query, outside any tenant transaction, sees on
// one connection: the tenant setting and the number of visible rows.
type plainView struct {
	setting string
	rows    int
	pid     uint32
}

func look(tb testing.TB, ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, schema string) plainView {
	tb.Helper()
	var v plainView
	err := q.QueryRow(ctx, "select coalesce(current_setting('app.tenant_id', true), ''), (select count(*) from "+
		pgx.Identifier{schema, "items"}.Sanitize()+"), pg_backend_pid()").Scan(&v.setting, &v.rows, &v.pid)
	if err != nil {
		// Errorf, not Fatal: look also runs on goroutines of its own.
		tb.Errorf("plain query: %v", err)
		v.rows = -1
	}
	return v
}

// onEveryConn runs fn on each of the pool's maxConns connections at once,
// so that every connection the pool holds is looked at.
func onEveryConn(tb testing.TB, pool *pgxpool.Pool, maxConns int, fn func(*pgxpool.Conn)) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conns := make([]*pgxpool.Conn, 0, maxConns)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range maxConns {
		c, err := pool.Acquire(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { fn(c) })
	}
	wg.Wait()
}

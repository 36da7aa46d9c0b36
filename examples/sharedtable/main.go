// Command sharedtable shows the pool model's data tier: two tenants share
// one PostgreSQL table under row-level security, a buggy query without any
// tenant filter still returns only the caller's rows, a write naming the
// other tenant is refused, and each tenant's secret column is encrypted
// under the tenant's own KMS key, so that disabling the key (shredding)
// leaves that tenant's secrets unreadable while the other's stay readable.
//
//	scripts/with-postgres.sh scripts/with-local-kms.sh go run ./examples/sharedtable
//
// It needs a PostgreSQL server with an owner role (migrations) and an
// application role (the service), and a KMS endpoint, given as
//
//	TENANTKIT_POSTGRES_URL      the owner: creates the schema, then drops it
//	TENANTKIT_POSTGRES_APP_URL  the application role (no superuser, no BYPASSRLS, owns nothing)
//	TENANTKIT_KMS_ENDPOINT      a KMS-compatible endpoint (local-kms); TENANTKIT_KMS_REGION optional
//
// which the repository's scripts export for servers on 127.0.0.1.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantkit/tenantkit/kmsenvelope"
	"github.com/tenantkit/tenantkit/pgtenant"
	"github.com/tenantkit/tenantkit/tenant"
)

// shredLag is the longest this process may still read a tenant's secrets
// after its key is disabled: the data-key cache's age bound. A real
// service picks minutes; the demo waits it out.
const shredLag = 300 * time.Millisecond

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := config{
		ownerURL:    os.Getenv("TENANTKIT_POSTGRES_URL"),
		appURL:      os.Getenv("TENANTKIT_POSTGRES_APP_URL"),
		kmsEndpoint: os.Getenv("TENANTKIT_KMS_ENDPOINT"),
		kmsRegion:   os.Getenv("TENANTKIT_KMS_REGION"),
		schema:      fmt.Sprintf("sharedtable_%d", os.Getpid()),
	}
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sharedtable:", err)
		os.Exit(1)
	}
}

type config struct {
	ownerURL, appURL       string
	kmsEndpoint, kmsRegion string
	schema                 string // created, used and dropped
}

type note struct {
	tenant string
	id     int32
	title  string
	secret []byte
}

func run(ctx context.Context, out io.Writer, cfg config) (err error) {
	if cfg.ownerURL == "" || cfg.appURL == "" || cfg.kmsEndpoint == "" {
		return errors.New("set TENANTKIT_POSTGRES_URL, TENANTKIT_POSTGRES_APP_URL and TENANTKIT_KMS_ENDPOINT (scripts/with-postgres.sh and scripts/with-local-kms.sh do)")
	}
	if cfg.kmsRegion == "" {
		cfg.kmsRegion = "us-east-1"
	}
	table := pgx.Identifier{cfg.schema, "notes"}
	notes := table.Sanitize()

	// The migration, as the owner role: one table for every tenant, under
	// row-level security.
	migration, err := pgtenant.RLSMigration(table)
	if err != nil {
		return err
	}
	owner, err := pgx.Connect(ctx, cfg.ownerURL)
	if err != nil {
		return err
	}
	defer owner.Close(context.WithoutCancel(ctx))
	_, err = owner.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{cfg.schema}.Sanitize()+";\n"+
		"CREATE TABLE "+notes+" (tenant_id text NOT NULL, id int NOT NULL, title text NOT NULL, secret bytea NOT NULL, PRIMARY KEY (tenant_id, id));\n"+
		migration)
	if err != nil {
		return fmt.Errorf("migration: %w", err)
	}
	defer func() {
		_, dropErr := owner.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+pgx.Identifier{cfg.schema}.Sanitize()+" CASCADE")
		err = errors.Join(err, dropErr)
	}()
	fmt.Fprintf(out, "migration:\n%s\n", migration)

	// The service: a pool for the application role, and tenant
	// transactions on it.
	pool, err := pgxpool.New(ctx, cfg.appURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgtenant.Check(ctx, pool, pgtenant.WithSchemas(cfg.schema)); err != nil {
		return err
	}
	fmt.Fprintf(out, "audit of schema %s as the application role: no finding\n", cfg.schema)
	db, err := pgtenant.New(pool)
	if err != nil {
		return err
	}

	// Each tenant's KMS key; a real service takes it from the tenant's
	// placement (kmsenvelope.PlacementKeys).
	// A transport of its own, whose idle connections go when run returns.
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	client := kms.New(kms.Options{
		Region:       cfg.kmsRegion,
		BaseEndpoint: aws.String(cfg.kmsEndpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "example", Source: "sharedtable"}, nil
		}),
		HTTPClient:       &http.Client{Transport: tr, Timeout: 10 * time.Second},
		RetryMaxAttempts: 1,
	})
	keys := map[string]string{}
	for _, id := range []string{"acme", "globex"} {
		k, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("sharedtable " + id)})
		if err != nil {
			return fmt.Errorf("CreateKey: %w", err)
		}
		keys[id] = *k.KeyMetadata.Arn
	}
	env, err := kmsenvelope.New(client, kmsenvelope.KeyResolverFunc(func(_ context.Context, t tenant.Tenant) (string, error) {
		return keys[t.ID()], nil
	}), kmsenvelope.WithMaxAge(shredLag))
	if err != nil {
		return err
	}

	acme, globex := as(ctx, "acme"), as(ctx, "globex")

	// Both tenants write their notes; the secret column is sealed under
	// the writer's key, bound to the row (tenant, id) as associated data.
	for _, n := range []struct {
		ctx    context.Context
		id     int
		title  string
		secret string
	}{
		{acme, 1, "acme: launch plan", "launch on the 14th"},
		{acme, 2, "acme: supplier", "supplier is Initech"},
		{globex, 1, "globex: merger", "merger with Umbrella"},
	} {
		t, _ := tenant.FromContext(n.ctx)
		sealed, err := env.Encrypt(n.ctx, []byte(n.secret), rowAAD(t.ID(), n.id))
		if err != nil {
			return err
		}
		err = db.BeginFunc(n.ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(n.ctx, "insert into "+notes+" values ($1, $2, $3, $4)", t.ID(), n.id, n.title, sealed)
			return err
		})
		if err != nil {
			return fmt.Errorf("insert as %s: %w", t.ID(), err)
		}
	}
	fmt.Fprintln(out, "acme wrote 2 notes, globex 1, into the same table")

	// The buggy query: no WHERE tenant_id = ... The policy adds it.
	buggy := "select tenant_id, id, title, secret from " + notes + " order by tenant_id, id"
	read := func(ctx context.Context) ([]note, error) {
		var got []note
		err := db.BeginFunc(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, buggy)
			if err != nil {
				return err
			}
			got, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (note, error) {
				var n note
				err := r.Scan(&n.tenant, &n.id, &n.title, &n.secret)
				return n, err
			})
			return err
		})
		return got, err
	}
	for _, ctx := range []context.Context{acme, globex} {
		t, _ := tenant.FromContext(ctx)
		got, err := read(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s runs %q and sees %d row(s):\n", t.ID(), "select ... from notes", len(got))
		for _, n := range got {
			plain, err := env.Decrypt(ctx, n.secret, rowAAD(n.tenant, int(n.id)))
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "  %s | %s | secret: %s\n", n.tenant, n.title, plain)
		}
	}

	// A write naming the other tenant is refused by the policy's WITH CHECK.
	err = db.BeginFunc(acme, func(tx pgx.Tx) error {
		_, err := tx.Exec(acme, "insert into "+notes+" values ('globex', 9, 'planted by acme', '\\x00')")
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		return fmt.Errorf("acme's insert for globex: want SQLSTATE 42501, got %v", err)
	}
	fmt.Fprintf(out, "acme inserts a row for globex: refused (SQLSTATE %s: %s)\n", pgErr.Code, pgErr.Message)

	// Without a tenant nothing reaches the database; a plain query on the
	// pool, outside any tenant transaction, sees no row.
	_, err = read(ctx)
	fmt.Fprintf(out, "a read without a tenant: %v (ErrNoTenant: %t)\n", err, errors.Is(err, tenant.ErrNoTenant))
	var plainRows int
	if err := pool.QueryRow(ctx, "select count(*) from "+notes).Scan(&plainRows); err != nil {
		return err
	}
	fmt.Fprintf(out, "a plain query on the pool sees %d row(s)\n", plainRows)

	// Shredding globex: disable its key. Once the data-key cache's age
	// passes, its secrets cannot be decrypted any more; acme's still can.
	if _, err := client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keys["globex"])}); err != nil {
		return err
	}
	disabled := time.Now()
	fmt.Fprintf(out, "globex's key disabled (shredding; this process's cache bound: %v)\n", shredLag)
	time.Sleep(shredLag)
	for _, ctx := range []context.Context{globex, acme} {
		got, err := read(ctx)
		if err != nil {
			return err
		}
		for _, n := range got {
			plain, err := env.Decrypt(ctx, n.secret, rowAAD(n.tenant, int(n.id)))
			switch {
			case errors.Is(err, kmsenvelope.ErrShredded):
				fmt.Fprintf(out, "  %s | %s | secret: unreadable, %v after the key was disabled (ErrShredded: true)\n",
					n.tenant, n.title, time.Since(disabled).Round(100*time.Millisecond))
			case err != nil:
				return err
			default:
				fmt.Fprintf(out, "  %s | %s | secret: %s\n", n.tenant, n.title, plain)
			}
		}
	}
	return nil
}

// as returns ctx carrying tenant id, as the authentication middleware
// would after verifying the tenant's token.
func as(ctx context.Context, id string) context.Context {
	t, err := tenant.New(id, "")
	if err != nil {
		panic(err)
	}
	return tenant.NewContext(ctx, t)
}

// rowAAD binds a sealed secret to its row, so that a ciphertext moved to
// another row does not decrypt.
func rowAAD(tenantID string, id int) []byte {
	return fmt.Appendf(nil, "notes/%s/%d/secret", tenantID, id)
}

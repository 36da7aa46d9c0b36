package pgtenant_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantkit/tenantkit/pgtenant"
)

func TestRLSMigrationSQL(t *testing.T) {
	got, err := pgtenant.RLSMigration(pgx.Identifier{"public", "orders"})
	if err != nil {
		t.Fatal(err)
	}
	want := `ALTER TABLE "public"."orders" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "public"."orders" FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "tenant_isolation" ON "public"."orders";
CREATE POLICY "tenant_isolation" ON "public"."orders" AS PERMISSIVE FOR ALL TO PUBLIC
    USING ("tenant_id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')))
    WITH CHECK ("tenant_id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')));
`
	if got != want {
		t.Errorf("RLSMigration:\n%s\nwant:\n%s", got, want)
	}

	got, err = pgtenant.RLSMigration(pgx.Identifier{`we"ird`, "ta ble"},
		pgtenant.WithTenantColumn(`ten"ant`), pgtenant.WithPolicyName("p; drop"),
		pgtenant.WithColumnType("uuid"), pgtenant.WithSetting("myapp.tenant"),
		pgtenant.WithPolicyRoles("app", `o"dd`))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{`"we""ird"."ta ble"`, `"ten""ant" = (SELECT NULLIF(current_setting('myapp.tenant', true), '')::uuid)`,
		`POLICY "p; drop"`, `TO "app", "o""dd"`} {
		if !strings.Contains(got, part) {
			t.Errorf("RLSMigration with odd names lacks %s:\n%s", part, got)
		}
	}
}

func TestRLSMigrationRefusesBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		table pgx.Identifier
		opts  []pgtenant.Option
	}{
		"nil table":          {nil, nil},
		"empty part":         {pgx.Identifier{"s", ""}, nil},
		"four parts":         {pgx.Identifier{"a", "b", "c", "d"}, nil},
		"NUL":                {pgx.Identifier{"t\x00"}, nil},
		"long":               {pgx.Identifier{strings.Repeat("x", 64)}, nil},
		"column NUL":         {pgx.Identifier{"t"}, []pgtenant.Option{pgtenant.WithTenantColumn("a\x00")}},
		"empty column":       {pgx.Identifier{"t"}, []pgtenant.Option{pgtenant.WithTenantColumn("")}},
		"type with SQL":      {pgx.Identifier{"t"}, []pgtenant.Option{pgtenant.WithColumnType("uuid); drop table t; --")}},
		"type upper":         {pgx.Identifier{"t"}, []pgtenant.Option{pgtenant.WithColumnType("UUID")}},
		"no roles":           {pgx.Identifier{"t"}, []pgtenant.Option{pgtenant.WithPolicyRoles()}},
		"audit option":       {pgx.Identifier{"t"}, []pgtenant.Option{pgtenant.WithSchemas("public")}},
		"New option":         {pgx.Identifier{"t"}, []pgtenant.Option{pgtenant.WithCleanupTimeout(1)}},
		"nil option":         {pgx.Identifier{"t"}, []pgtenant.Option{nil}},
		"empty policy name":  {pgx.Identifier{"t"}, []pgtenant.Option{pgtenant.WithPolicyName("")}},
		"role with NUL byte": {pgx.Identifier{"t"}, []pgtenant.Option{pgtenant.WithPolicyRoles("a\x00")}},
	} {
		if sql, err := pgtenant.RLSMigration(c.table, c.opts...); !errors.Is(err, pgtenant.ErrInvalidOption) {
			t.Errorf("%s: %q, %v; want ErrInvalidOption", name, sql, err)
		}
	}
	for name, opt := range map[string]pgtenant.Option{
		"column type": pgtenant.WithColumnType("uuid"), "schemas": pgtenant.WithSchemas("s"),
		"zero timeout": pgtenant.WithCleanupTimeout(0),
	} {
		if _, err := pgtenant.New(fakeConn{}, opt); !errors.Is(err, pgtenant.ErrInvalidOption) {
			t.Errorf("New with %s: %v; want ErrInvalidOption", name, err)
		}
	}
	if _, err := pgtenant.Audit(context.Background(), nil); !errors.Is(err, pgtenant.ErrInvalidOption) {
		t.Errorf("Audit(nil): %v", err)
	}
	if _, err := pgtenant.Audit(context.Background(), nil, pgtenant.WithCleanupTimeout(1)); !errors.Is(err, pgtenant.ErrInvalidOption) {
		t.Errorf("Audit with a New option: %v", err)
	}
}

// The migration, with odd identifiers, a uuid column and another setting
// name, runs on the server and isolates tenants.
func TestRLSMigrationOnServer(t *testing.T) {
	schema := schemaName(t)
	table := pgx.Identifier{schema, `Odd "table"`}
	opts := []pgtenant.Option{pgtenant.WithTenantColumn("Tenant Key"), pgtenant.WithColumnType("uuid"),
		pgtenant.WithSetting("myapp.tenant"), pgtenant.WithPolicyName("only mine")}
	migration, err := pgtenant.RLSMigration(table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	a, b := "6f1c2a4e-0000-4000-8000-000000000001", "6f1c2a4e-0000-4000-8000-000000000002"
	ownerExec(t,
		"CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize(),
		"CREATE TABLE "+table.Sanitize()+` ("Tenant Key" uuid NOT NULL, v int)`,
		fmt.Sprintf("INSERT INTO %s VALUES ('%s', 1), ('%s', 2)", table.Sanitize(), a, b),
		migration, migration, // idempotent
	)
	t.Cleanup(func() { ownerExec(t, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })

	pool, _ := newPool(t, env(t, "TENANTKIT_POSTGRES_APP_URL"), pgx.QueryExecModeCacheStatement, 2)
	db := newDB(t, pool, pgtenant.WithSetting("myapp.tenant"))
	ctx := as(t, context.Background(), a)
	var vs []int32
	err = db.BeginFunc(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, "select v from "+table.Sanitize())
		vs, err = pgx.CollectRows(rows, pgx.RowTo[int32])
		return err
	})
	if err != nil || len(vs) != 1 || vs[0] != 1 {
		t.Fatalf("tenant %s sees %v, %v; want [1]", a, vs, err)
	}
	var n int
	if err := pool.QueryRow(ctx, "select count(*) from "+table.Sanitize()).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a plain query sees %d rows, %v", n, err)
	}
	if findings, err := pgtenant.Audit(ctx, pool, pgtenant.WithSchemas(schema), pgtenant.WithTenantColumn("Tenant Key"),
		pgtenant.WithSetting("myapp.tenant")); err != nil || len(findings) != 0 {
		t.Fatalf("Audit of the migrated table: %v, %v", findings, err)
	}
}

// FuzzValidateSetting: a name ValidateSetting accepts is always
// prefix.name of lower-case identifiers, so it can be pasted into a
// policy's string literal and never names a built-in setting.
func FuzzValidateSetting(f *testing.F) {
	for _, s := range []string{"app.tenant_id", "role", "a.b.c", "app.x'", "app.\x00", "_._"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if pgtenant.ValidateSetting(s) != nil {
			return
		}
		prefix, name, ok := strings.Cut(s, ".")
		if !ok || prefix == "" || name == "" || strings.Contains(name, ".") || len(prefix) > 63 || len(name) > 63 {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range prefix + name {
			if !(r == '_' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
				t.Fatalf("accepted %q", s)
			}
		}
		if '0' <= prefix[0] && prefix[0] <= '9' || '0' <= name[0] && name[0] <= '9' {
			t.Fatalf("accepted %q", s)
		}
	})
}

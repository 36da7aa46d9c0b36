package pgtenant_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantkit/tenantkit/pgtenant"
)

type kindName struct {
	kind pgtenant.Kind
	name string
}

func kindsAndNames(fs []pgtenant.Finding) []kindName {
	out := make([]kindName, len(fs))
	for i, f := range fs {
		out[i] = kindName{f.Kind, f.Name}
	}
	return out
}

// auditSchemas creates a deliberately broken schema and a correct one and
// returns their names.
func auditSchemas(t *testing.T) (broken, good string) {
	broken, good = schemaName(t), schemaName(t)
	q := func(s, name string) string { return pgx.Identifier{s, name}.Sanitize() }
	mig := func(s, name string) string {
		m, err := pgtenant.RLSMigration(pgx.Identifier{s, name})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ownerExec(t,
		"CREATE SCHEMA "+pgx.Identifier{broken}.Sanitize(),
		// No row-level security at all.
		"CREATE TABLE "+q(broken, "no_rls")+" (tenant_id text, v int)",
		// Enabled with a policy, but not forced.
		"CREATE TABLE "+q(broken, "not_forced")+" (tenant_id text, v int)",
		"ALTER TABLE "+q(broken, "not_forced")+" ENABLE ROW LEVEL SECURITY",
		"CREATE POLICY p ON "+q(broken, "not_forced")+" USING (tenant_id = current_setting('app.tenant_id', true))",
		// Enabled and forced, no policy.
		"CREATE TABLE "+q(broken, "no_policy")+" (tenant_id text, v int)",
		"ALTER TABLE "+q(broken, "no_policy")+" ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE "+q(broken, "no_policy")+" FORCE ROW LEVEL SECURITY",
		// The tenant policy plus a permissive one that opens everything.
		"CREATE TABLE "+q(broken, "open_policy")+" (tenant_id text, v int)",
		mig(broken, "open_policy"),
		"CREATE POLICY everyone ON "+q(broken, "open_policy")+" FOR SELECT USING (true)",
		// A view with its owner's rights over a protected table.
		"CREATE VIEW "+q(broken, "owner_view")+" AS SELECT * FROM "+q(broken, "open_policy"),
		// Not flagged: no tenant column; an invoker's-rights view.
		"CREATE TABLE "+q(broken, "lookup")+" (code text)",
		"CREATE VIEW "+q(broken, "invoker_view")+" WITH (security_invoker = on) AS SELECT * FROM "+q(broken, "no_policy"),

		"CREATE SCHEMA "+pgx.Identifier{good}.Sanitize(),
		"CREATE TABLE "+q(good, "orders")+" (tenant_id text NOT NULL, v int)",
		mig(good, "orders"),
		"CREATE TABLE "+q(good, "parts")+" (tenant_id text NOT NULL, v int) PARTITION BY LIST (tenant_id)",
		mig(good, "parts"),
		"CREATE VIEW "+q(good, "orders_view")+" WITH (security_invoker) AS SELECT * FROM "+q(good, "orders"),
		"CREATE TABLE "+q(good, "lookup")+" (code text)",
	)
	t.Cleanup(func() {
		ownerExec(t, "DROP SCHEMA "+pgx.Identifier{broken}.Sanitize()+" CASCADE",
			"DROP SCHEMA "+pgx.Identifier{good}.Sanitize()+" CASCADE")
	})
	return broken, good
}

// The audit flags each misconfiguration of the broken schema, as the
// application role (direct and through PgBouncer), and passes on the
// correct one.
func TestAuditSchemas(t *testing.T) {
	broken, good := auditSchemas(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			pool, _ := newPool(t, tg.url, tg.mode, 2)
			got, err := pgtenant.Audit(ctx, pool, pgtenant.WithSchemas(broken))
			if err != nil {
				t.Fatal(err)
			}
			want := []kindName{
				{pgtenant.NoPolicy, "no_policy"},
				{pgtenant.NoPolicy, "no_rls"},
				{pgtenant.PolicyNotTenantScoped, "open_policy"},
				{pgtenant.RLSNotEnabled, "no_rls"},
				{pgtenant.RLSNotForced, "no_rls"},
				{pgtenant.RLSNotForced, "not_forced"},
				{pgtenant.ViewNotSecurityInvoker, "owner_view"},
			}
			if g := kindsAndNames(got); !slices.Equal(g, want) {
				t.Errorf("findings on the broken schema:\n%v\nwant:\n%v", got, want)
			}
			for _, f := range got {
				if f.Schema != broken || f.Detail == "" || !strings.Contains(f.String(), string(f.Kind)) {
					t.Errorf("finding %+v", f)
				}
			}
			err = pgtenant.Check(ctx, pool, pgtenant.WithSchemas(broken))
			var ae *pgtenant.AuditError
			if !errors.Is(err, pgtenant.ErrAuditFailed) || !errors.As(err, &ae) || len(ae.Findings) != len(want) {
				t.Errorf("Check on the broken schema: %v", err)
			}

			if err := pgtenant.Check(ctx, pool, pgtenant.WithSchemas(good)); err != nil {
				t.Errorf("Check on the correct schema: %v", err)
			}
			// The whole database: nothing of PostgreSQL's own schemas.
			all, err := pgtenant.Audit(ctx, pool)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range all {
				if f.Schema == "pg_catalog" || f.Schema == "information_schema" {
					t.Errorf("a finding in a system schema: %v", f)
				}
			}
		})
	}
}

// withUser returns rawURL with another user name.
func withUser(t *testing.T, rawURL, user string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

// The audit flags a connected role that owns the tables, is a superuser,
// has BYPASSRLS or can become a role that has.
func TestAuditRoles(t *testing.T) {
	_, good := auditSchemas(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	audit := func(t *testing.T, rawURL string) []pgtenant.Finding {
		t.Helper()
		conn, err := pgx.Connect(ctx, rawURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		got, err := pgtenant.Audit(ctx, conn, pgtenant.WithSchemas(good))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	has := func(t *testing.T, got []pgtenant.Finding, want ...kindName) {
		t.Helper()
		g := kindsAndNames(got)
		for _, w := range want {
			if !slices.Contains(g, w) {
				t.Errorf("findings %v lack %v", got, w)
			}
		}
	}

	t.Run("owner", func(t *testing.T) {
		got := audit(t, env(t, "TENANTKIT_POSTGRES_URL"))
		has(t, got, kindName{pgtenant.RoleOwnsTable, "orders"}, kindName{pgtenant.RoleOwnsTable, "parts"})
		if len(got) != 2 {
			t.Errorf("owner: %v", got)
		}
	})
	super := env(t, "TENANTKIT_POSTGRES_SUPERUSER_URL")
	t.Run("superuser", func(t *testing.T) {
		has(t, audit(t, super), kindName{pgtenant.RoleSuperuser, "tenantkit_admin"})
	})
	t.Run("bypassrls", func(t *testing.T) {
		bypass := fmt.Sprintf("tk_bypass_%d", os.Getpid())
		member := fmt.Sprintf("tk_member_%d", os.Getpid())
		admin, err := pgx.Connect(ctx, super)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		for _, s := range []string{
			"CREATE ROLE " + bypass + " LOGIN BYPASSRLS",
			"CREATE ROLE " + member + " LOGIN",
			"GRANT " + bypass + " TO " + member,
			"GRANT USAGE ON SCHEMA " + pgx.Identifier{good}.Sanitize() + " TO " + bypass + ", " + member,
		} {
			if _, err := admin.Exec(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		defer func() {
			for _, s := range []string{"DROP OWNED BY " + member + ", " + bypass, "DROP ROLE " + member, "DROP ROLE " + bypass} {
				if _, err := admin.Exec(ctx, s); err != nil {
					t.Error(err)
				}
			}
		}()
		got := audit(t, withUser(t, super, bypass))
		has(t, got, kindName{pgtenant.RoleBypassRLS, bypass})
		if len(got) != 1 {
			t.Errorf("a BYPASSRLS role: %v", got)
		}
		got = audit(t, withUser(t, super, member))
		has(t, got, kindName{pgtenant.RoleBypassRLS, bypass})
		if len(got) != 1 || !strings.Contains(got[0].Detail, "member") {
			t.Errorf("a member of a BYPASSRLS role: %v", got)
		}
	})
	t.Run("application", func(t *testing.T) {
		if got := audit(t, env(t, "TENANTKIT_POSTGRES_APP_URL")); len(got) != 0 {
			t.Errorf("the application role: %v", got)
		}
	})
}

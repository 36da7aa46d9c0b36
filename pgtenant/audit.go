package pgtenant

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantkit/tenantkit/internal/nilarg"
)

// Querier runs a query: a *pgxpool.Pool, a *pgx.Conn or a [pgx.Tx].
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Kind is the kind of a [Finding].
type Kind string

// Kinds of findings.
const (
	// RLSNotEnabled: a table with the tenant column does not have row-level
	// security enabled; every role that can read it reads every tenant.
	RLSNotEnabled Kind = "rls-not-enabled"
	// RLSNotForced: row-level security is enabled but not forced, so the
	// table's owner (and roles that act as it) bypass it.
	RLSNotForced Kind = "rls-not-forced"
	// NoPolicy: row-level security is on but the table has no policy, so
	// it denies everything (or, with RLS off, nothing guards it).
	NoPolicy Kind = "no-policy"
	// PolicyNotTenantScoped: a permissive policy of the table does not
	// read the tenant setting in its USING or WITH CHECK expression; being
	// permissive, it opens what the tenant policy closes.
	PolicyNotTenantScoped Kind = "policy-not-tenant-scoped"
	// RoleSuperuser: the connected role is a superuser, or a member of one
	// (it can SET ROLE to it); superusers bypass row-level security.
	RoleSuperuser Kind = "role-superuser"
	// RoleBypassRLS: the connected role has BYPASSRLS, or is a member of a
	// role that has it.
	RoleBypassRLS Kind = "role-bypassrls"
	// RoleOwnsTable: the connected role owns a table with the tenant
	// column, or is a member of its owner: it can disable row-level
	// security or drop the policy.
	RoleOwnsTable Kind = "role-owns-table"
	// ViewNotSecurityInvoker: a view runs with its owner's rights
	// (security_invoker is off, the default, or the server predates
	// PostgreSQL 15), so a table it reads applies the owner's policies,
	// not the caller's; an owner that bypasses RLS shows every tenant.
	ViewNotSecurityInvoker Kind = "view-not-security-invoker"
)

// Finding is one thing [Audit] found.
type Finding struct {
	Kind   Kind
	Schema string // the schema of the table or view; "" for a role
	Name   string // the table, view or role
	Detail string // what was seen, in words
}

// String returns "kind schema.name: detail".
func (f Finding) String() string {
	obj := pgx.Identifier{f.Name}.Sanitize()
	if f.Schema != "" {
		obj = pgx.Identifier{f.Schema, f.Name}.Sanitize()
	}
	return string(f.Kind) + " " + obj + ": " + f.Detail
}

// The audit's queries take no parameters and are sent with the simple
// protocol: no prepared statement, safe behind any pooler.
const (
	auditTablesSQL = `select n.nspname, c.relname, a.attname, c.relrowsecurity, c.relforcerowsecurity,
	pg_get_userbyid(c.relowner), pg_has_role(current_user, c.relowner, 'MEMBER'),
	(select count(*) from pg_policy p where p.polrelid = c.oid)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where c.relkind in ('r', 'p')`

	auditPoliciesSQL = `select n.nspname, c.relname, p.polname, p.polpermissive,
	coalesce(pg_get_expr(p.polqual, p.polrelid), ''),
	coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
from pg_policy p
join pg_class c on c.oid = p.polrelid
join pg_namespace n on n.oid = c.relnamespace`

	auditRoleSQL = `select r.rolname, r.rolsuper, r.rolbypassrls, r.rolname = current_user
from pg_roles r
where r.rolname = current_user
   or ((r.rolsuper or r.rolbypassrls) and pg_has_role(current_user, r.oid, 'MEMBER'))`

	auditViewsSQL = `select n.nspname, c.relname,
	coalesce((select o.option_value from pg_options_to_table(c.reloptions) o
	          where o.option_name = 'security_invoker'), ''),
	current_setting('server_version_num')::int
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'v'`
)

// Audit inspects the database q is connected to, as the role q runs as,
// for what would let a tenant's rows reach another tenant despite
// row-level security: tables that have the tenant column but lack ENABLE
// or FORCE ROW LEVEL SECURITY or a policy, or have a permissive policy
// that does not read the tenant setting; a connected role that is a
// superuser, has BYPASSRLS or owns such a table (directly or through
// membership); and views without security_invoker. It returns the
// findings sorted by kind, schema and name; none means the audit passed.
//
// Run it as the application's role, at startup or in CI. Options:
// [WithSetting], [WithTenantColumn], [WithSchemas].
func Audit(ctx context.Context, q Querier, opts ...Option) ([]Finding, error) {
	c, err := newConfig(kindAudit, opts)
	if err != nil {
		return nil, err
	}
	if d := nilarg.Describe(q); d != "" {
		return nil, fmt.Errorf("%w: Audit: the Querier is %s", ErrInvalidOption, d)
	}
	inScope := func(schema string) bool {
		if c.schemas != nil {
			return slices.Contains(c.schemas, schema)
		}
		return !systemSchema(schema)
	}
	var out []Finding
	add := func(k Kind, schema, name, format string, args ...any) {
		out = append(out, Finding{Kind: k, Schema: schema, Name: name, Detail: fmt.Sprintf(format, args...)})
	}

	// Tables with the tenant column.
	type tableKey struct{ schema, name string }
	tenantTables := map[tableKey]bool{}
	err = each(ctx, q, auditTablesSQL, func(rows pgx.Rows) error {
		var (
			schema, name, col, owner string
			enabled, forced, member  bool
			policies                 int64
		)
		if err := rows.Scan(&schema, &name, &col, &enabled, &forced, &owner, &member, &policies); err != nil {
			return err
		}
		if col != c.column || !inScope(schema) {
			return nil
		}
		tenantTables[tableKey{schema, name}] = true
		if !enabled {
			add(RLSNotEnabled, schema, name, "row-level security is not enabled (ALTER TABLE ... ENABLE ROW LEVEL SECURITY)")
		}
		if !forced {
			add(RLSNotForced, schema, name, "row-level security is not forced, its owner %s bypasses it (ALTER TABLE ... FORCE ROW LEVEL SECURITY)", owner)
		}
		if policies == 0 {
			add(NoPolicy, schema, name, "the table has no policy")
		}
		if member {
			add(RoleOwnsTable, schema, name, "the connected role is or acts as the owner %s, which can turn row-level security off", owner)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Permissive policies on those tables that do not read the setting.
	needle := "current_setting('" + c.setting + "'"
	err = each(ctx, q, auditPoliciesSQL, func(rows pgx.Rows) error {
		var (
			schema, name, policy, using, check string
			permissive                         bool
		)
		if err := rows.Scan(&schema, &name, &policy, &permissive, &using, &check); err != nil {
			return err
		}
		if !permissive || !tenantTables[tableKey{schema, name}] {
			return nil
		}
		for _, e := range []struct{ clause, expr string }{{"USING", using}, {"WITH CHECK", check}} {
			if e.expr != "" && !strings.Contains(e.expr, needle) {
				add(PolicyNotTenantScoped, schema, name, "permissive policy %s has a %s expression that does not read %s: %s",
					pgx.Identifier{policy}.Sanitize(), e.clause, c.setting, shorten(e.expr))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// The connected role and the roles it can become.
	err = each(ctx, q, auditRoleSQL, func(rows pgx.Rows) error {
		var (
			role                  string
			super, bypass, itself bool
		)
		if err := rows.Scan(&role, &super, &bypass, &itself); err != nil {
			return err
		}
		how := "the connected role"
		if !itself {
			how = "the connected role is a member of " + pgx.Identifier{role}.Sanitize() + ", which"
		}
		if super {
			add(RoleSuperuser, "", role, "%s is a superuser, which bypasses row-level security", how)
		}
		if bypass {
			add(RoleBypassRLS, "", role, "%s has BYPASSRLS", how)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Views.
	err = each(ctx, q, auditViewsSQL, func(rows pgx.Rows) error {
		var (
			schema, name, invoker string
			version               int32
		)
		if err := rows.Scan(&schema, &name, &invoker, &version); err != nil {
			return err
		}
		if !inScope(schema) || parseBool(invoker) {
			return nil
		}
		if version < 150000 {
			add(ViewNotSecurityInvoker, schema, name, "the view runs with its owner's rights (security_invoker needs PostgreSQL 15)")
		} else {
			add(ViewNotSecurityInvoker, schema, name, "the view runs with its owner's rights (ALTER VIEW ... SET (security_invoker = true))")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Schema, b.Schema),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Detail, b.Detail))
	})
	return out, nil
}

// Check runs [Audit] and returns an *[AuditError] (wrapping
// [ErrAuditFailed]) listing the findings if there are any: for a test in
// CI or a service's startup that refuses to run on a misconfigured
// database.
func Check(ctx context.Context, q Querier, opts ...Option) error {
	findings, err := Audit(ctx, q, opts...)
	if err != nil {
		return err
	}
	if len(findings) > 0 {
		return &AuditError{Findings: findings}
	}
	return nil
}

// each runs sql (no parameters) and calls fn for each row.
func each(ctx context.Context, q Querier, sql string, fn func(pgx.Rows) error) error {
	rows, err := q.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return fmt.Errorf("pgtenant: audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("pgtenant: audit: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgtenant: audit: %w", err)
	}
	return nil
}

// systemSchema reports whether schema is PostgreSQL's own.
func systemSchema(schema string) bool {
	switch schema {
	case "pg_catalog", "information_schema", "pg_toast":
		return true
	}
	return strings.HasPrefix(schema, "pg_temp_") || strings.HasPrefix(schema, "pg_toast_temp_")
}

// parseBool reads a boolean reloption value as PostgreSQL does: a prefix
// of true, false, yes, no, or on, off, 1, 0, in any case. Anything else
// (including "", the option unset) is false.
func parseBool(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	switch {
	case v == "":
		return false
	case v == "1" || v == "on":
		return true
	case strings.HasPrefix("true", v) || strings.HasPrefix("yes", v):
		return true
	}
	return false
}

func shorten(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

package pgtenant

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// RLSMigration returns the SQL that puts table under tenant row-level
// security, for a migration: it enables and forces row-level security (so
// that the table's owner is subject to it too) and (re)creates one policy
// that lets a statement see and write only the rows whose tenant column
// equals the tenant setting:
//
//	ALTER TABLE "public"."orders" ENABLE ROW LEVEL SECURITY;
//	ALTER TABLE "public"."orders" FORCE ROW LEVEL SECURITY;
//	DROP POLICY IF EXISTS "tenant_isolation" ON "public"."orders";
//	CREATE POLICY "tenant_isolation" ON "public"."orders" AS PERMISSIVE FOR ALL TO PUBLIC
//	    USING ("tenant_id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')))
//	    WITH CHECK ("tenant_id" = (SELECT NULLIF(current_setting('app.tenant_id', true), '')));
//
// Without the setting (outside a tenant transaction) current_setting gives
// NULL or "", NULLIF makes both NULL, and the comparison is never true: no
// row is visible and no row can be written. The sub-select makes the value
// an init plan, evaluated once per statement instead of once per row.
//
// Identifiers are quoted ([pgx.Identifier.Sanitize]); table may be
// schema-qualified. The script is idempotent and can run inside the
// migration's transaction; Exec it with no arguments (pgx then sends it
// as one simple query) or paste it into a migration file. Options:
// [WithSetting], [WithTenantColumn], [WithColumnType], [WithPolicyName],
// [WithPolicyRoles].
func RLSMigration(table pgx.Identifier, opts ...Option) (string, error) {
	c, err := newConfig(kindMigration, opts)
	if err != nil {
		return "", err
	}
	if err := checkIdentifier(table); err != nil {
		return "", fmt.Errorf("%w: RLSMigration: table %v", ErrInvalidOption, err)
	}
	if strings.ContainsRune(c.column, 0) || strings.ContainsRune(c.policy, 0) {
		return "", fmt.Errorf("%w: RLSMigration: a name with a NUL byte", ErrInvalidOption)
	}
	tbl := table.Sanitize()
	col := pgx.Identifier{c.column}.Sanitize()
	pol := pgx.Identifier{c.policy}.Sanitize()
	roles := "PUBLIC"
	if len(c.roles) > 0 {
		q := make([]string, len(c.roles))
		for i, r := range c.roles {
			if strings.ContainsRune(r, 0) {
				return "", fmt.Errorf("%w: RLSMigration: a role name with a NUL byte", ErrInvalidOption)
			}
			q[i] = pgx.Identifier{r}.Sanitize()
		}
		roles = strings.Join(q, ", ")
	}
	value := currentTenantExpr(c.setting)
	if c.columnType != "" {
		value += "::" + c.columnType
	}
	cond := col + " = (SELECT " + value + ")"

	var b strings.Builder
	fmt.Fprintf(&b, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", tbl)
	fmt.Fprintf(&b, "ALTER TABLE %s FORCE ROW LEVEL SECURITY;\n", tbl)
	fmt.Fprintf(&b, "DROP POLICY IF EXISTS %s ON %s;\n", pol, tbl)
	fmt.Fprintf(&b, "CREATE POLICY %s ON %s AS PERMISSIVE FOR ALL TO %s\n", pol, tbl, roles)
	fmt.Fprintf(&b, "    USING (%s)\n", cond)
	fmt.Fprintf(&b, "    WITH CHECK (%s);\n", cond)
	return b.String(), nil
}

// currentTenantExpr is the SQL expression of the current tenant ID, NULL
// when none is set. setting passed ValidateSetting, so it needs no
// escaping inside the literal.
func currentTenantExpr(setting string) string {
	return "NULLIF(current_setting('" + setting + "', true), '')"
}

// checkIdentifier accepts a table name of one to three parts
// (table, schema.table, database.schema.table), none empty, too long or
// holding a NUL byte.
func checkIdentifier(id pgx.Identifier) error {
	if len(id) == 0 || len(id) > 3 {
		return fmt.Errorf("%q: one to three parts", []string(id))
	}
	for _, p := range id {
		if p == "" || len(p) > maxNameLen || strings.ContainsRune(p, 0) {
			return fmt.Errorf("%q: an empty, too long or NUL-holding part", []string(id))
		}
	}
	return nil
}

package pgtenant

import (
	"fmt"
	"strings"
	"time"
)

// Defaults of the options.
const (
	// DefaultSetting is the setting a tenant transaction sets and the
	// policies read.
	DefaultSetting = "app.tenant_id"
	// DefaultTenantColumn is the column that holds a row's tenant ID.
	DefaultTenantColumn = "tenant_id"
	// DefaultPolicyName is the name of the policy [RLSMigration] creates.
	DefaultPolicyName = "tenant_isolation"
	// DefaultCleanupTimeout bounds the rollback that ends a failed tenant
	// transaction once the caller's context is done.
	DefaultCleanupTimeout = 5 * time.Second
)

// maxNameLen is PostgreSQL's identifier limit (NAMEDATALEN - 1).
const maxNameLen = 63

// Option configures [New], [RLSMigration] or [Audit]. [WithSetting]
// applies to all three; the others say which they configure, and given to
// another they are an error wrapping [ErrInvalidOption].
type Option func(*config)

type kind int

const (
	kindDB kind = iota + 1
	kindMigration
	kindAudit
)

func (k kind) String() string {
	switch k {
	case kindDB:
		return "New"
	case kindMigration:
		return "RLSMigration"
	default:
		return "Audit"
	}
}

type config struct {
	kind    kind
	setting string
	cleanup time.Duration

	column     string
	columnType string
	policy     string
	roles      []string
	schemas    []string

	err error // the first invalid option
}

func newConfig(k kind, opts []Option) (config, error) {
	c := config{
		kind:    k,
		setting: DefaultSetting,
		cleanup: DefaultCleanupTimeout,
		column:  DefaultTenantColumn,
		policy:  DefaultPolicyName,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	return c, c.err
}

// fail records the first invalid option; the constructor returns it.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// only fails unless the option applies to one of ks.
func (c *config) only(name string, ks ...kind) bool {
	for _, k := range ks {
		if c.kind == k {
			return true
		}
	}
	c.fail("%s is not an option of %v", name, c.kind)
	return false
}

// WithSetting names the setting that carries the tenant ID: the one a
// tenant transaction sets with set_config and the policies read with
// current_setting. Default "app.tenant_id". The name must be a custom
// setting of two lower-case identifiers joined by a dot (prefix.name), so
// that it can never name a built-in setting such as role or search_path.
func WithSetting(name string) Option {
	return func(c *config) {
		if err := ValidateSetting(name); err != nil {
			c.fail("WithSetting: %v", err)
			return
		}
		c.setting = name
	}
}

// ValidateSetting reports whether name is a setting name [WithSetting]
// accepts: prefix.name, each part a lower-case identifier ([a-z_][a-z0-9_]*)
// of at most 63 bytes.
func ValidateSetting(name string) error {
	prefix, rest, ok := strings.Cut(name, ".")
	if !ok {
		return fmt.Errorf("setting %s: not of the form prefix.name", quoteBounded(name))
	}
	if !isIdent(prefix) || !isIdent(rest) {
		return fmt.Errorf("setting %s: each part must match [a-z_][a-z0-9_]* (at most %d bytes)", quoteBounded(name), maxNameLen)
	}
	return nil
}

// isIdent reports whether s is a lower-case SQL identifier that needs no
// quoting: [a-z_][a-z0-9_]*, 1 to 63 bytes.
func isIdent(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b == '_' || 'a' <= b && b <= 'z':
		case '0' <= b && b <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// quoteBounded quotes s for an error message, shortened and escaped.
func quoteBounded(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// WithCleanupTimeout bounds the rollback that ends a tenant transaction
// which failed or whose callback panicked, when the caller's context is
// already done (the rollback then runs on a context of its own, so that
// the connection goes back to the pool outside any transaction instead of
// being closed). Default 5 s. Option of [New].
func WithCleanupTimeout(d time.Duration) Option {
	return func(c *config) {
		if !c.only("WithCleanupTimeout", kindDB) {
			return
		}
		if d <= 0 {
			c.fail("WithCleanupTimeout(%v): must be positive", d)
			return
		}
		c.cleanup = d
	}
}

// WithTenantColumn names the column that holds a row's tenant ID. Default
// "tenant_id". Option of [RLSMigration] and [Audit].
func WithTenantColumn(name string) Option {
	return func(c *config) {
		if !c.only("WithTenantColumn", kindMigration, kindAudit) {
			return
		}
		if name == "" || len(name) > maxNameLen {
			c.fail("WithTenantColumn(%s): an empty or too long name", quoteBounded(name))
			return
		}
		c.column = name
	}
}

// WithColumnType makes the policy of [RLSMigration] cast the setting to
// the tenant column's type (for example "uuid"), since a text value does
// not compare with every type. Default: no cast (a text column). The type
// is a lower-case name, optionally schema-qualified. Option of
// [RLSMigration].
func WithColumnType(typ string) Option {
	return func(c *config) {
		if !c.only("WithColumnType", kindMigration) {
			return
		}
		ok := typ != ""
		for _, part := range strings.Split(typ, ".") {
			ok = ok && isIdent(part)
		}
		if !ok || strings.Count(typ, ".") > 1 {
			c.fail("WithColumnType(%s): not a type name", quoteBounded(typ))
			return
		}
		c.columnType = typ
	}
}

// WithPolicyName names the policy [RLSMigration] creates. Default
// "tenant_isolation". Option of [RLSMigration].
func WithPolicyName(name string) Option {
	return func(c *config) {
		if !c.only("WithPolicyName", kindMigration) {
			return
		}
		if name == "" || len(name) > maxNameLen {
			c.fail("WithPolicyName(%s): an empty or too long name", quoteBounded(name))
			return
		}
		c.policy = name
	}
}

// WithPolicyRoles limits the policy of [RLSMigration] to the given roles
// (TO role, ...). Default PUBLIC: every role. Option of [RLSMigration].
func WithPolicyRoles(roles ...string) Option {
	return func(c *config) {
		if !c.only("WithPolicyRoles", kindMigration) {
			return
		}
		if len(roles) == 0 {
			c.fail("WithPolicyRoles: no role")
			return
		}
		for _, r := range roles {
			if r == "" || len(r) > maxNameLen {
				c.fail("WithPolicyRoles(%s): an empty or too long name", quoteBounded(r))
				return
			}
		}
		c.roles = append([]string(nil), roles...)
	}
}

// WithSchemas limits [Audit] to the given schemas. Default: every schema
// but pg_catalog, information_schema and PostgreSQL's own (pg_toast,
// pg_temp_*). Option of [Audit].
func WithSchemas(names ...string) Option {
	return func(c *config) {
		if !c.only("WithSchemas", kindAudit) {
			return
		}
		if len(names) == 0 {
			c.fail("WithSchemas: no schema")
			return
		}
		for _, n := range names {
			if n == "" || len(n) > maxNameLen {
				c.fail("WithSchemas(%s): an empty or too long name", quoteBounded(n))
				return
			}
		}
		c.schemas = append([]string(nil), names...)
	}
}

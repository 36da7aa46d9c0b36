package pgtenant

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalidOption is wrapped by the error [New], [RLSMigration] and
// [Audit] return for an invalid option, an option that does not apply to
// them, or an invalid argument; the message names it.
var ErrInvalidOption = errors.New("pgtenant: invalid option")

// ErrSetTenant is wrapped by the error a tenant transaction's begin
// returns when the transaction could not be begun with the tenant set:
// the server refused the begin or the set_config, or answered something
// else than the tenant ID. The transaction is then rolled back, and the
// driver's error (a *pgconn.PgError, a network error) is wrapped too; a
// context that ended is reported as the context's error.
var ErrSetTenant = errors.New("pgtenant: cannot begin the tenant transaction")

// ErrInTransaction is returned when the connection given to [New] is
// already inside a transaction: a tenant transaction is always a
// transaction of its own, since a setting made inside another one would
// outlive it.
var ErrInTransaction = errors.New("pgtenant: the connection is already in a transaction")

// ErrAuditFailed is wrapped by the *AuditError that [Check] returns when
// [Audit] found something.
var ErrAuditFailed = errors.New("pgtenant: row-level security audit failed")

// AuditError is what [Check] returns when the audit has findings.
type AuditError struct {
	Findings []Finding
}

// Error lists the findings, one per line after the first.
func (e *AuditError) Error() string {
	var b strings.Builder
	b.WriteString(ErrAuditFailed.Error())
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(len(e.Findings)))
	b.WriteString(" finding(s)")
	for _, f := range e.Findings {
		b.WriteString("\n\t")
		b.WriteString(f.String())
	}
	return b.String()
}

// Unwrap returns [ErrAuditFailed].
func (e *AuditError) Unwrap() error { return ErrAuditFailed }

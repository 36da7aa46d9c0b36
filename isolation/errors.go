package isolation

import (
	"errors"
	"fmt"
)

// Errors of placement resolution. Resolution errors are *[PlacementError]
// values that wrap one of these.
var (
	// ErrUnknownTenant reports a tenant the configuration does not list
	// while [Config.RequireListed] is set.
	ErrUnknownTenant = errors.New("isolation: unknown tenant")
	// ErrReservedTenant reports a tenant whose ID [Config.ReservedIDs]
	// keeps for something else, such as a shared prefix of a pooled bucket.
	ErrReservedTenant = errors.New("isolation: reserved tenant ID")
	// ErrUnknownTier reports a tier that has no deployment, with no default
	// tier configured.
	ErrUnknownTier = errors.New("isolation: unknown tier")
	// ErrIncompletePlacement reports a placement that lacks something a
	// caller needs: a role for a placed resource, the resource a credential
	// was asked for, or a value a policy template refers to.
	ErrIncompletePlacement = errors.New("isolation: incomplete placement")
	// ErrInvalidPlacement reports a configuration value that is malformed or
	// would widen access: an ARN with a wildcard, a bad bucket name, an
	// unknown model.
	ErrInvalidPlacement = errors.New("isolation: invalid placement")
)

// Errors of policy templates.
var (
	// ErrInvalidTemplate reports a policy template that is not a JSON object
	// with a Statement, has duplicate keys or Sids, or uses an unknown
	// ${...} placeholder.
	ErrInvalidTemplate = errors.New("isolation: invalid policy template")
	// ErrInvalidValue reports a value refused before rendering: a tenant ID
	// or tier that fails tenant.ValidateID, or a resource value with
	// characters that could widen a policy ('*', '?', '$', '{', '}',
	// quotes, backslashes, whitespace or control characters).
	ErrInvalidValue = errors.New("isolation: invalid template value")
	// ErrPolicyTooLarge reports a session policy over the STS limit: either
	// found locally before any call ([PolicySizeError]) or reported by STS
	// as PackedPolicyTooLarge ([STSError]).
	ErrPolicyTooLarge = errors.New("isolation: session policy too large")
)

// Errors of the key helpers.
var (
	// ErrKeyMismatch reports a DynamoDB or S3 key that does not belong to
	// the tenant in the context. Mismatches are *[KeyError] values.
	ErrKeyMismatch = errors.New("isolation: key belongs to another tenant")
	// ErrInvalidObjectName reports an object name that [ObjectKey] refuses.
	ErrInvalidObjectName = errors.New("isolation: invalid object name")
)

// PlacementError is the error of resolving a tenant's placement or building
// a resolver.
type PlacementError struct {
	TenantID string // "" for configuration errors not tied to a tenant
	Field    string // the configuration field or resource concerned, if any
	Err      error  // one of the Err* values of this package, possibly wrapped
}

// Error names the error, the field and the tenant.
func (e *PlacementError) Error() string {
	s := e.Err.Error()
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.TenantID != "" {
		s += " (tenant " + e.TenantID + ")"
	}
	return s
}

// Unwrap returns e.Err.
func (e *PlacementError) Unwrap() error { return e.Err }

// PolicySizeError reports a rendered session policy longer than the STS
// limit. It matches [ErrPolicyTooLarge].
type PolicySizeError struct {
	Len   int // characters of the minified policy
	Limit int // MaxSessionPolicyLen
}

// Error gives the length and the limit.
func (e *PolicySizeError) Error() string {
	return fmt.Sprintf("isolation: session policy of %d characters exceeds the %d-character limit", e.Len, e.Limit)
}

// Is reports whether target is [ErrPolicyTooLarge].
func (e *PolicySizeError) Is(target error) bool { return target == ErrPolicyTooLarge }

// KeyError reports a key that does not belong to the tenant in the context.
// It matches [ErrKeyMismatch]. It never echoes the key, which is data read
// back from storage.
type KeyError struct {
	TenantID string // the tenant in the context
	Kind     string // "partition key" or "object key"
}

// Error names the kind of key and the tenant, not the key.
func (e *KeyError) Error() string {
	return "isolation: " + e.Kind + " does not belong to tenant " + e.TenantID
}

// Is reports whether target is [ErrKeyMismatch].
func (e *KeyError) Is(target error) bool { return target == ErrKeyMismatch }

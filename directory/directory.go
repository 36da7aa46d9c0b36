package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/tenantkit/tenantkit/tenant"
)

// Status is a tenant's lifecycle state.
type Status uint8

// Statuses. The zero Status is not valid: a directory answers one of these.
const (
	Active     Status = iota + 1 // the tenant is served
	Suspended                    // refused for now; may become Active again
	Offboarded                   // refused for good
)

var statusNames = [...]string{Active: "active", Suspended: "suspended", Offboarded: "offboarded"}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return s >= Active && s <= Offboarded }

// String returns "active", "suspended" or "offboarded".
func (s Status) String() string {
	if s.Valid() {
		return statusNames[s]
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("directory: invalid status %d", uint8(s))
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts the names
// String returns.
func (s *Status) UnmarshalText(b []byte) error {
	for v := Active; v <= Offboarded; v++ {
		if string(b) == statusNames[v] {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("directory: unknown status %s (want active, suspended or offboarded)", strconv.QuoteToASCII(string(b[:min(len(b), 32)])))
}

// Entry is what a directory knows of a tenant.
type Entry struct {
	Status Status
	// Tier is the tenant's current tier. It overrides the credential's tier
	// claim everywhere (limits, telemetry, credentials); "" keeps the
	// credential's tier.
	Tier string
	// Plan is an optional plan override: a tier name whose rate-limit plan
	// applies instead of the tier's own, without changing the tier; "" for
	// none. See [tenant.Tenant.WithPlan].
	Plan string
}

// Validate reports whether e has a defined status and valid tier and plan
// names.
func (e Entry) Validate() error {
	if !e.Status.Valid() {
		return fmt.Errorf("directory: invalid entry: %v", e.Status)
	}
	if e.Tier != "" {
		if err := tenant.ValidateTier(e.Tier); err != nil {
			return fmt.Errorf("directory: invalid entry tier: %w", err)
		}
	}
	if e.Plan != "" {
		if err := tenant.ValidateTier(e.Plan); err != nil {
			return fmt.Errorf("directory: invalid entry plan: %w", err)
		}
	}
	return nil
}

// Directory answers what is known of a tenant. Lookup returns an error
// wrapping [ErrNotFound] when the tenant is unknown; any other error means
// the directory cannot answer now. Implementations are safe for concurrent
// use.
type Directory interface {
	Lookup(ctx context.Context, tenantID string) (Entry, error)
}

// ErrNotFound reports that the directory does not know the tenant.
var ErrNotFound = errors.New("directory: tenant not found")

// Refusals of [Cache.Admit]. Each wraps [tenant.ErrForbidden], so the
// transports answer 403 / PermissionDenied.
var (
	ErrSuspended     error = &tenant.Refusal{Reason: "tenant-suspended", Message: "the tenant is suspended"}
	ErrOffboarded    error = &tenant.Refusal{Reason: "tenant-offboarded", Message: "the tenant is offboarded"}
	ErrUnknownTenant error = &tenant.Refusal{Reason: "tenant-unknown", Message: "the tenant is not known to the tenant directory"}
)

// ErrUnavailable reports that the directory cannot answer and nothing
// usable is cached for the tenant. It wraps [tenant.ErrUnavailable], so the
// transports answer 503 / Unavailable.
var ErrUnavailable = fmt.Errorf("%w: the tenant directory cannot answer", tenant.ErrUnavailable)

// ErrInvalidOption is wrapped by the error of a constructor given an invalid
// option or dependency.
var ErrInvalidOption = errors.New("directory: invalid option")

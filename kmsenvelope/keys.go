package kmsenvelope

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/tenant"
)

// KeyResolver returns the KMS key of a tenant: a key ARN or a key ID, never
// an alias (an alias can be repointed). Implementations must be safe for
// concurrent use. An [Envelope] calls it only when it needs KMS (a cache
// miss), so a change of a tenant's key takes effect within the cache's
// maximum age.
type KeyResolver interface {
	TenantKey(ctx context.Context, t tenant.Tenant) (string, error)
}

// KeyResolverFunc adapts a function to [KeyResolver].
type KeyResolverFunc func(ctx context.Context, t tenant.Tenant) (string, error)

// TenantKey calls f.
func (f KeyResolverFunc) TenantKey(ctx context.Context, t tenant.Tenant) (string, error) {
	return f(ctx, t)
}

// PlacementKeys returns a [KeyResolver] that takes the tenant's key from the
// KMSKey binding of its [isolation.Placement]: a pooled tenant's own key or
// the pool's key, a siloed tenant's key in its own account. A placement of
// another tenant, or one without a KMS key, is an error wrapping [ErrNoKey].
func PlacementKeys(r isolation.Resolver) KeyResolver {
	return placementKeys{r}
}

type placementKeys struct{ r isolation.Resolver }

func (p placementKeys) TenantKey(ctx context.Context, t tenant.Tenant) (string, error) {
	if p.r == nil {
		return "", fmt.Errorf("%w: a nil placement resolver", ErrNoKey)
	}
	pl, err := p.r.Resolve(ctx, t)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoKey, err)
	}
	if pl.TenantID != t.ID() {
		return "", fmt.Errorf("%w: the placement resolver returned another tenant's placement", ErrNoKey)
	}
	if !pl.KMSKey.Placed() {
		return "", fmt.Errorf("%w: the tenant's placement has no KMS key", ErrNoKey)
	}
	return pl.KMSKey.Name, nil
}

// StaticKey returns a [KeyResolver] that gives every tenant the same key: a
// pooled key, whose tenants are kept apart by the encryption context alone.
// Per-tenant keys (PlacementKeys) are what makes crypto-shredding of one
// tenant possible.
func StaticKey(keyID string) KeyResolver {
	return KeyResolverFunc(func(context.Context, tenant.Tenant) (string, error) { return keyID, nil })
}

// keyIDPattern admits a key ARN or a bare key ID (a UUID, or mrk-... for a
// multi-Region key); like isolation's key ARN check, it admits no alias and
// no wildcard.
var keyIDPattern = regexp.MustCompile(`^(?:arn:aws[a-z-]*:kms:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:key/)?[a-zA-Z0-9-]{1,128}$`)

// resolveKey asks the resolver for t's key and checks its shape.
func (e *Envelope) resolveKey(ctx context.Context, t tenant.Tenant) (string, error) {
	id, err := e.keys.TenantKey(ctx, t)
	if err != nil {
		return "", fmt.Errorf("kmsenvelope: tenant %s: %w", t.ID(), wrapNoKey(err))
	}
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("kmsenvelope: tenant %s: %w: the resolver returned a value that is not a key ARN or key ID", t.ID(), ErrNoKey)
	}
	return id, nil
}

func wrapNoKey(err error) error {
	if isNoKey(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrNoKey, err)
}

func isNoKey(err error) bool { return errors.Is(err, ErrNoKey) }

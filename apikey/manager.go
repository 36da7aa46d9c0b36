package apikey

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tenantkit/tenantkit/tenant"
)

// Manager creates, lists, rotates and revokes the keys of a Store. It is
// safe for concurrent use.
type Manager struct {
	store    Store
	cfg      config
	onChange func(keyID string)
}

// NewManager returns a Manager of the keys in s. It returns an error
// wrapping ErrInvalidOption for an invalid option; the cache options are
// ignored.
func NewManager(s Store, opts ...Option) (*Manager, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrInvalidOption)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Manager{store: s, cfg: cfg}, nil
}

// OnChange sets a function called with the key ID after every Rotate and
// Revoke has been stored: a Verifier's Invalidate, or the publisher of a
// fleet-wide invalidation feed (redisfeed.Publish on its APIKeyChannel,
// with a timeout of its own). If f cannot deliver, the change still
// reaches every Verifier within its TTL. It must be called before m is
// used.
func (m *Manager) OnChange(f func(keyID string)) { m.onChange = f }

// CreateOptions are the optional attributes of a new key.
type CreateOptions struct {
	Tier      string    // tier override; "" uses the tenant's tier
	Scopes    []string  // scopes, reported in the Tenant's "scope" claim
	ExpiresAt time.Time // zero: the key does not expire
}

// Create issues a key for tenantID and stores its record. The returned key
// is the only copy of its secret: the store keeps a digest.
func (m *Manager) Create(ctx context.Context, tenantID string, o CreateOptions) (key string, r Record, err error) {
	if err := tenant.ValidateID(tenantID); err != nil {
		return "", Record{}, err
	}
	if o.Tier != "" {
		if err := tenant.ValidateTier(o.Tier); err != nil {
			return "", Record{}, err
		}
	}
	for range 3 { // a key ID collision is all but impossible; retry it
		id, secret := randomBase62(IDLen), randomBase62(SecretLen)
		d := digest(m.cfg.pepper, id, secret)
		r = Record{
			KeyID:     id,
			TenantID:  tenantID,
			Tier:      o.Tier,
			Scopes:    slices.Clone(o.Scopes),
			Hash:      d[:],
			CreatedAt: m.cfg.now().UTC(),
			ExpiresAt: o.ExpiresAt,
		}
		err = m.store.Put(ctx, r)
		if errors.Is(err, ErrExists) {
			continue
		}
		if err != nil {
			return "", Record{}, fmt.Errorf("apikey: create: %w", err)
		}
		return format(m.cfg.prefix, id, secret), r, nil
	}
	return "", Record{}, fmt.Errorf("apikey: create: %w", err)
}

// List returns the records of tenantID's keys, oldest first, without
// their digests.
func (m *Manager) List(ctx context.Context, tenantID string) ([]Record, error) {
	rs, err := m.store.List(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("apikey: list: %w", err)
	}
	for i := range rs {
		rs[i].Hash = nil
	}
	slices.SortFunc(rs, func(a, b Record) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.KeyID, b.KeyID))
	})
	return rs, nil
}

// Rotate issues a successor of keyID, with its tenant, tier and scopes (and
// as long a lifetime, if it had one), and makes keyID expire after overlap,
// during which both keys work. It refuses a key that is revoked or has
// expired (ErrRevoked, ErrExpired).
func (m *Manager) Rotate(ctx context.Context, keyID string, overlap time.Duration) (key string, r Record, err error) {
	if overlap < 0 {
		return "", Record{}, fmt.Errorf("apikey: rotate: negative overlap %v", overlap)
	}
	old, err := m.store.Get(ctx, keyID)
	if err != nil {
		return "", Record{}, fmt.Errorf("apikey: rotate: %w", err)
	}
	now := m.cfg.now()
	if err := usable(old, now); err != nil {
		return "", Record{}, fmt.Errorf("apikey: rotate: %w", err)
	}
	o := CreateOptions{Tier: old.Tier, Scopes: old.Scopes}
	if !old.ExpiresAt.IsZero() {
		o.ExpiresAt = now.Add(old.ExpiresAt.Sub(old.CreatedAt))
	}
	key, r, err = m.Create(ctx, old.TenantID, o)
	if err != nil {
		return "", Record{}, err
	}
	end := now.Add(overlap)
	_, err = m.store.Update(ctx, keyID, func(old *Record) error {
		if err := usable(*old, now); err != nil {
			return err
		}
		if old.ExpiresAt.IsZero() || end.Before(old.ExpiresAt) {
			old.ExpiresAt = end
		}
		old.Successor = r.KeyID
		return nil
	})
	if err != nil {
		// The successor works; the old key was not shortened. Revoke
		// the successor, so that a failed rotation leaves one key.
		_ = m.Revoke(context.WithoutCancel(ctx), r.KeyID)
		return "", Record{}, fmt.Errorf("apikey: rotate: %w", err)
	}
	m.changed(keyID)
	return key, r, nil
}

// usable refuses a revoked or expired record.
func usable(r Record, now time.Time) error {
	if !r.RevokedAt.IsZero() && !now.Before(r.RevokedAt) {
		return ErrRevoked
	}
	if !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt) {
		return ErrExpired
	}
	return nil
}

// Revoke revokes keyID now; revoking a revoked key changes nothing.
func (m *Manager) Revoke(ctx context.Context, keyID string) error {
	now := m.cfg.now().UTC()
	_, err := m.store.Update(ctx, keyID, func(r *Record) error {
		if r.RevokedAt.IsZero() || now.Before(r.RevokedAt) {
			r.RevokedAt = now
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apikey: revoke: %w", err)
	}
	m.changed(keyID)
	return nil
}

func (m *Manager) changed(keyID string) {
	if m.onChange != nil {
		m.onChange(keyID)
	}
}

package apikey

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// ErrNotFound is returned by a Store's Get and Update for a key ID it does
// not hold.
var ErrNotFound = errors.New("apikey: key not found")

// ErrExists is returned by a Store's Put for a key ID it already holds.
var ErrExists = errors.New("apikey: key ID already exists")

// Record is what a Store keeps of one API key. It never holds the secret:
// Hash is SHA-256 of the secret, or HMAC-SHA-256 under the Verifier's pepper.
type Record struct {
	KeyID     string    // public ID, the Store's key; see Parse
	TenantID  string    // the tenant the key acts for
	Tier      string    // tier override; "" uses the tenant's tier
	Scopes    []string  // free-form scopes, reported in the Tenant's claims
	Hash      []byte    // 32 bytes: digest of the secret
	CreatedAt time.Time // when the key was created
	ExpiresAt time.Time // zero: never expires
	RevokedAt time.Time // zero: not revoked
	Successor string    // key ID of the key that replaced it, if rotated
}

// Store holds key records. Implementations must be safe for concurrent use.
// Errors other than ErrNotFound (and ErrExists from Put) mean the store could
// not answer; the Verifier reports them as tenant.ErrUnavailable.
type Store interface {
	// Get returns the record of keyID, or an error wrapping ErrNotFound.
	Get(ctx context.Context, keyID string) (Record, error)
	// Put adds r, or returns an error wrapping ErrExists if r.KeyID is taken.
	Put(ctx context.Context, r Record) error
	// Update applies f to the record of keyID and stores the result
	// atomically (f may run more than once under optimistic concurrency
	// and must not change KeyID). It returns ErrNotFound for an unknown ID.
	Update(ctx context.Context, keyID string, f func(*Record) error) (Record, error)
	// List returns the records of tenantID, in any order.
	List(ctx context.Context, tenantID string) ([]Record, error)
}

// Memory is a Store in memory, for tests and single-process services. The
// zero Memory is ready to use.
type Memory struct {
	mu   sync.RWMutex
	keys map[string]Record
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory { return &Memory{} }

// Get implements Store.
func (m *Memory) Get(ctx context.Context, keyID string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.RLock()
	r, ok := m.keys[keyID]
	m.mu.RUnlock()
	if !ok {
		return Record{}, ErrNotFound
	}
	return r.clone(), nil
}

// Put implements Store.
func (m *Memory) Put(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[r.KeyID]; ok {
		return ErrExists
	}
	if m.keys == nil {
		m.keys = make(map[string]Record)
	}
	m.keys[r.KeyID] = r.clone()
	return nil
}

// Update implements Store.
func (m *Memory) Update(ctx context.Context, keyID string, f func(*Record) error) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.keys[keyID]
	if !ok {
		return Record{}, ErrNotFound
	}
	r = r.clone()
	if err := f(&r); err != nil {
		return Record{}, err
	}
	r.KeyID = keyID
	m.keys[keyID] = r.clone()
	return r, nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context, tenantID string) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Record
	for _, r := range m.keys {
		if r.TenantID == tenantID {
			out = append(out, r.clone())
		}
	}
	return out, nil
}

// clone returns r with its slices copied, so that a caller cannot change
// what a store holds.
func (r Record) clone() Record {
	r.Scopes = slices.Clone(r.Scopes)
	r.Hash = slices.Clone(r.Hash)
	return r
}

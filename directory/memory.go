package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"sync"

	"github.com/tenantkit/tenantkit/tenant"
)

// Memory is a [Directory] held in memory, from Go values or a JSON file.
// It is safe for concurrent use; Set and Delete take effect for the next
// Lookup (a [Cache] in front of it still serves its copy until the TTL or
// an invalidation).
type Memory struct {
	mu sync.RWMutex
	m  map[string]Entry
}

// NewMemory returns a Memory holding a copy of entries (nil for none).
func NewMemory(entries map[string]Entry) *Memory {
	m := maps.Clone(entries)
	if m == nil {
		m = make(map[string]Entry)
	}
	return &Memory{m: m}
}

// LoadFile returns a Memory holding the tenants of the JSON file at path:
// an object from tenant ID to entry, such as
//
//	{"acme": {"status": "active", "tier": "pro"},
//	 "initech": {"status": "suspended"},
//	 "globex": {"status": "active", "tier": "free", "plan": "pro"}}
//
// Unknown fields, invalid tenant IDs and invalid entries are errors.
func LoadFile(path string) (*Memory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	var raw map[string]struct {
		Status Status `json:"status"`
		Tier   string `json:"tier"`
		Plan   string `json:"plan"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("directory: %s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("directory: %s: data after the JSON object", path)
	}
	m := make(map[string]Entry, len(raw))
	for id, r := range raw {
		if err := tenant.ValidateID(id); err != nil {
			return nil, fmt.Errorf("directory: %s: %w", path, err)
		}
		e := Entry(r)
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("directory: %s: tenant %s: %w", path, id, err)
		}
		m[id] = e
	}
	return &Memory{m: m}, nil
}

// Lookup returns the entry of tenantID, or [ErrNotFound].
func (m *Memory) Lookup(ctx context.Context, tenantID string) (Entry, error) {
	m.mu.RLock()
	e, ok := m.m[tenantID]
	m.mu.RUnlock()
	if !ok {
		return Entry{}, ErrNotFound
	}
	return e, nil
}

// Set sets the entry of id.
func (m *Memory) Set(id string, e Entry) {
	m.mu.Lock()
	m.m[id] = e
	m.mu.Unlock()
}

// Delete forgets id: it becomes unknown.
func (m *Memory) Delete(id string) {
	m.mu.Lock()
	delete(m.m, id)
	m.mu.Unlock()
}

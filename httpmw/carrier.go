package httpmw

import (
	"net/http"
	"strings"

	"github.com/tenantkit/tenantkit/tenant"
)

// headerCarrier is a tenant.ValuesCarrier over an http.Header that sees a
// key in every letter case, not only the canonical one: a caller can write
// req.Header["authorization"] directly, and net/http sends that key as it
// is. Set replaces every case variant with the canonical key, so that no
// stale copy of a credential stays beside the injected one.
type headerCarrier http.Header

var _ tenant.ValuesCarrier = headerCarrier(nil)

// Get returns the first value of key, the canonical key first.
func (h headerCarrier) Get(key string) string {
	if vs := h[http.CanonicalHeaderKey(key)]; len(vs) > 0 {
		return vs[0]
	}
	for k, vs := range h {
		if len(vs) > 0 && len(k) == len(key) && strings.EqualFold(k, key) {
			return vs[0]
		}
	}
	return ""
}

// Values returns the values of key under every letter case. It allocates
// only when more than one case of key is present.
func (h headerCarrier) Values(key string) []string {
	var out []string
	shared := true // out aliases a slice of h
	for k, vs := range h {
		if len(k) != len(key) || !strings.EqualFold(k, key) || len(vs) == 0 {
			continue
		}
		if out == nil {
			out = vs
			continue
		}
		if shared {
			out = append(make([]string, 0, len(out)+len(vs)), out...)
			shared = false
		}
		out = append(out, vs...)
	}
	return out
}

// Set replaces the values of key, in every letter case, with value under
// the canonical key.
func (h headerCarrier) Set(key, value string) {
	deleteFold(http.Header(h), key)
	h[http.CanonicalHeaderKey(key)] = []string{value}
}

// Keys returns the keys present, as stored.
func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// deleteFold removes key from h in every letter case.
func deleteFold(h http.Header, key string) {
	for k := range h {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			delete(h, k)
		}
	}
}

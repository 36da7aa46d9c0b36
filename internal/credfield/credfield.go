// Package credfield holds the rules both adapters apply to the credential
// fields of extractors (httpmw.WithExtractor, grpcmw.WithExtractor): which
// variants of a field name are scrubbed, and which credential nobody
// verifies is removed before the handler runs.
package credfield

import (
	"strings"

	"github.com/tenantkit/tenantkit/tenant"
)

// Set holds the fields of extractors: their variants other than a
// change of letter case (X_API_Key, X-API-Key-Bin) go, as those of the
// built-in credential fields do.
type Set struct {
	names tenant.NameSet
	exact []string
}

// New returns the fields of props other than the built-in ones.
func New(props []tenant.Propagator) Set {
	var c Set
	for _, p := range props {
		for _, f := range p.Fields() {
			if !strings.EqualFold(f, tenant.AuthorizationKey) && !strings.EqualFold(f, tenant.AssertionKey) {
				c.exact = append(c.exact, f)
			}
		}
	}
	c.names = tenant.NewNameSet(c.exact...)
	return c
}

// Variant reports whether k folds to a field of c without being one in
// any letter case.
func (c *Set) Variant(k string) bool {
	if !c.names.Contains(k) {
		return false
	}
	for _, f := range c.exact {
		if strings.EqualFold(k, f) {
			return false
		}
	}
	return true
}

// Unclaimed returns tenant.APIKeyKey unless a field of props is it:
// an API key nobody here verifies is removed before the handler runs.
func Unclaimed(props []tenant.Propagator) []string {
	for _, p := range props {
		for _, f := range p.Fields() {
			if strings.EqualFold(f, tenant.APIKeyKey) {
				return nil
			}
		}
	}
	return []string{tenant.APIKeyKey}
}

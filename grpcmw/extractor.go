package grpcmw

import (
	"strings"

	"github.com/tenantkit/tenantkit/tenant"
)

// WithExtractor also accepts the credentials that p extracts from its own
// metadata keys (p.Fields), such as the x-api-key of an apikey.Header.
// Each of them, like the bearer token and the assertion, must verify and
// name the one tenant of the call, and must not be repeated. Only
// p.Extract is used; an extractor of API keys fails Inject, so that a key
// is never sent on. To accept such credentials only, pass a nil verifier
// to [UnaryServerAuthenticate] or [StreamServerAuthenticate].
//
// An x-api-key is removed from the metadata of every call whose
// interceptor has no extractor for it, as a tenant-assertion is without
// [WithAssertion].
func WithExtractor(p tenant.Propagator) AuthOption {
	return func(c *authConfig) {
		if p == nil {
			c.fail("WithExtractor(nil)")
			return
		}
		for _, f := range p.Fields() {
			if f == "" {
				c.fail(`WithExtractor: a propagator with an empty field name`)
				return
			}
		}
		c.extract = append(c.extract, p)
	}
}

// credentials are the fields of extractors: their variants other than a
// change of letter case (x_api_key, x-api-key-bin) go, as those of the
// built-in credential keys do.
type credentials struct {
	names tenant.NameSet
	exact []string
}

// credentialSet returns the fields of props other than the built-in ones.
func credentialSet(props []tenant.Propagator) credentials {
	var c credentials
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

// variant reports whether k folds to a field of c without being one in
// any letter case.
func (c *credentials) variant(k string) bool {
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

// unclaimedKeys returns tenant.APIKeyKey unless a field of props is it:
// an API key nobody here verifies is removed before the handler runs.
func unclaimedKeys(props []tenant.Propagator) []string {
	for _, p := range props {
		for _, f := range p.Fields() {
			if strings.EqualFold(f, tenant.APIKeyKey) {
				return nil
			}
		}
	}
	return []string{tenant.APIKeyKey}
}

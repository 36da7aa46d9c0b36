package grpcmw

import "github.com/tenantkit/tenantkit/tenant"

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

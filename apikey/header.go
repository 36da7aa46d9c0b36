package apikey

import (
	"context"
	"fmt"
	"strings"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/tenant"
)

// HeaderKey is the header (and, in lower case, the gRPC metadata key) that
// carries an API key by default.
const HeaderKey = "X-API-Key"

// Header is a tenant.Propagator that reads an API key from a header or
// metadata key of its own, for the adapters' WithExtractor options. It only
// extracts: Inject always fails with tenant.ErrNoCredential, since a key is
// never sent on (the next hop gets a signed assertion instead).
type Header struct {
	// Verifier verifies the key: a *Verifier, possibly wrapped (by a
	// tenant directory, for one).
	Verifier tenant.TokenVerifier
	// Name is the header or metadata key; "" means HeaderKey.
	Name string
}

func (h Header) name() string {
	if h.Name == "" {
		return HeaderKey
	}
	return h.Name
}

// Extract verifies the key in c. It returns an error wrapping
// tenant.ErrAbsent when c holds none, and one wrapping tenant.ErrConfig
// when h has no Verifier.
func (h Header) Extract(ctx context.Context, c tenant.Carrier) (tenant.Tenant, error) {
	v := c.Get(h.name())
	if v == "" {
		return tenant.Tenant{}, errNoKey
	}
	if h.Verifier == nil {
		return tenant.Tenant{}, fmt.Errorf("%w: apikey.Header has no Verifier", tenant.ErrConfig)
	}
	return h.Verifier.Verify(ctx, strings.TrimSpace(v))
}

var errNoKey = fmt.Errorf("%w: no API key", tenant.ErrAbsent)

// Inject fails with tenant.ErrNoCredential: API keys are not propagated.
func (Header) Inject(context.Context, tenant.Carrier) error { return tenant.ErrNoCredential }

// Fields returns the header name.
func (h Header) Fields() []string { return []string{h.name()} }

// Dispatch returns a TokenVerifier for bearer tokens that sends the tokens
// of keys' prefix (prefix "_" ...) to keys and every other token to other:
// one Authenticate middleware then accepts both JWTs and API keys. With a
// nil other, tokens that are not keys are refused as malformed keys.
// Dispatch panics if keys is nil or other a typed nil.
func Dispatch(other tenant.TokenVerifier, keys *Verifier) tenant.TokenVerifier {
	nilarg.MustDependency("apikey", "Dispatch", "keys", keys)
	if other != nil {
		nilarg.MustDependency("apikey", "Dispatch", "other", other)
	}
	return dispatch{other: other, keys: keys, prefix: keys.cfg.prefix + "_"}
}

type dispatch struct {
	other  tenant.TokenVerifier
	keys   *Verifier
	prefix string
}

func (d dispatch) Verify(ctx context.Context, token string) (tenant.Tenant, error) {
	if d.other == nil || strings.HasPrefix(token, d.prefix) {
		return d.keys.Verify(ctx, token)
	}
	return d.other.Verify(ctx, token)
}

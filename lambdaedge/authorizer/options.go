package authorizer

import (
	"context"
	"log/slog"
	"maps"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/tenant"
)

// Option configures an [Authorizer].
type Option func(*config)

// CredentialSource vends AWS credentials scoped to the tenant in a
// context; *vending.Vendor implements it.
type CredentialSource interface {
	Credentials(ctx context.Context, r isolation.Resource) (aws.CredentialsProvider, error)
}

type config struct {
	planKeys  map[string]string // tier -> API key value
	keys      *apikey.Verifier
	keyHeader string
	dir       *directory.Cache
	creds     CredentialSource
	credsRes  isolation.Resource
	logger    *slog.Logger
	invalid   error // the first invalid option
}

func (c *config) fail(err error) {
	if c.invalid == nil {
		c.invalid = err
	}
}

// API Gateway's bounds on an API key value.
const (
	minAPIKeyLen = 20
	maxAPIKeyLen = 128
)

// WithUsagePlanKeys sets, for each tier, the value of the API Gateway API
// key that belongs to the tier's usage plan; an allowed REST API response
// carries it as usageIdentifierKey, so that API Gateway throttles and
// meters the caller by its tier's plan (the API's API key source must be
// AUTHORIZER). A tenant whose tier has no key is denied. Tiers must be
// valid tier names and keys 20 to 128 printable ASCII characters. HTTP
// APIs have no usage plans; their responses carry no key.
func WithUsagePlanKeys(keys map[string]string) Option {
	return func(c *config) {
		if len(keys) == 0 {
			c.fail(invalid("WithUsagePlanKeys: no keys"))
			return
		}
		for tier, key := range keys {
			if err := tenant.ValidateTier(tier); err != nil {
				c.fail(invalid("WithUsagePlanKeys: tier %s: %v", strconv.Quote(tier), err))
				return
			}
			if !apiKeyValue(key) {
				// The key is a secret of sorts: name the tier, not the key.
				c.fail(invalid("WithUsagePlanKeys: the key of tier %q is not 20 to 128 printable ASCII characters", tier))
				return
			}
		}
		c.planKeys = maps.Clone(keys)
	}
}

func apiKeyValue(s string) bool {
	if len(s) < minAPIKeyLen || len(s) > maxAPIKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// WithAPIKeys also accepts tenantkit API keys: as a bearer token (by their
// prefix, see apikey.Dispatch) in every authorizer type, and in the
// X-API-Key header (see [WithAPIKeyHeader]) in REQUEST and HTTP API
// authorizers.
func WithAPIKeys(keys *apikey.Verifier) Option {
	return func(c *config) {
		if keys == nil {
			c.fail(invalid("WithAPIKeys(nil)"))
			return
		}
		c.keys = keys
	}
}

// WithAPIKeyHeader sets the header that carries an API key in REQUEST and
// HTTP API authorizers (default apikey.HeaderKey, X-API-Key). With a REST
// API whose API key source is HEADER, API Gateway reads X-API-Key itself;
// use another header then.
func WithAPIKeyHeader(name string) Option {
	return func(c *config) {
		if name == "" || !tokenChars(name) {
			c.fail(invalid("WithAPIKeyHeader(%s): not a header name", strconv.Quote(name)))
			return
		}
		c.keyHeader = name
	}
}

func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// WithDirectory refuses suspended, offboarded and unknown tenants and
// takes the tier (and plan) from the directory, as directory.Verifier does
// for the server middleware. A decision API Gateway cached stays in force
// for the authorizer's TTL, which is then the bound of a lifecycle change.
func WithDirectory(d *directory.Cache) Option {
	return func(c *config) {
		if d == nil {
			c.fail(invalid("WithDirectory(nil)"))
			return
		}
		c.dir = d
	}
}

// WithCredentials adds AWS credentials scoped to the tenant, vended by src
// for resource r, to the context of every allowed response, under
// [ContextAccessKeyID], [ContextSecretAccessKey], [ContextSessionToken] and
// [ContextCredentialsExpire].
//
// The credentials then travel in API Gateway's authorizer context: an
// access log format or a mapping template that references
// $context.authorizer.* writes them into logs, and API Gateway keeps them
// for the authorizer cache's TTL, which must be shorter than the session
// duration. A vending failure is answered with [ErrUnavailable].
func WithCredentials(src CredentialSource, r isolation.Resource) Option {
	return func(c *config) {
		if src == nil || typedNil(src) {
			c.fail(invalid("WithCredentials(nil)"))
			return
		}
		if r >= isolation.NumResources {
			c.fail(invalid("WithCredentials: resource %d", r))
			return
		}
		c.creds, c.credsRes = src, r
	}
}

// WithLogger logs every decision to l: allow or deny, the tenant when
// known, and the reason; never a credential. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.fail(invalid("WithLogger(nil)"))
			return
		}
		c.logger = l
	}
}

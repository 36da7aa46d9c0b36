package vending

import (
	"fmt"
	"regexp"
	"time"

	"github.com/tenantkit/tenantkit/tenant"

	"github.com/tenantkit/tenantkit/isolation"
)

// Session tag keys the vendor sets on every AssumeRole call, for
// attribute-based access control: policies of the assumed role can refer to
// ${aws:PrincipalTag/TenantID} and ${aws:PrincipalTag/Tier}.
const (
	TagTenantID = "TenantID"
	TagTier     = "Tier"
)

// Defaults of the [Vendor] options.
const (
	DefaultSessionDuration   = time.Hour
	DefaultExpiryWindow      = 5 * time.Minute
	DefaultExpiryJitter      = 0.5
	DefaultMaxTenants        = 10000
	DefaultSessionNamePrefix = "tenant-"
	DefaultSTSTimeout        = 10 * time.Second
)

// Option configures a [Vendor].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	policies       [isolation.NumResources]*isolation.Template
	siloPolicies   bool
	duration       time.Duration
	expiryWindow   time.Duration
	expiryJitter   float64
	maxTenants     int
	transitive     []string
	prefix         string
	sourceIdentity func(tenant.Tenant) string
	stsTimeout     time.Duration
	err            error // from an option with an invalid argument
}

func newConfig(opts []Option) (config, error) {
	c := config{
		policies:     [isolation.NumResources]*isolation.Template{isolation.DynamoDBLeadingKeyPrefix(), isolation.S3Prefix(), isolation.KMSTenantKey()},
		duration:     DefaultSessionDuration,
		expiryWindow: DefaultExpiryWindow,
		expiryJitter: DefaultExpiryJitter,
		maxTenants:   DefaultMaxTenants,
		prefix:       DefaultSessionNamePrefix,
		stsTimeout:   DefaultSTSTimeout,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	switch {
	case c.err != nil:
		return c, c.err
	case c.duration < 15*time.Minute || c.duration > 12*time.Hour:
		return c, fmt.Errorf("vending: session duration %v outside [15m, 12h]", c.duration)
	case c.expiryWindow < 0 || c.expiryWindow >= c.duration:
		return c, fmt.Errorf("vending: expiry window %v not in [0, session duration)", c.expiryWindow)
	case c.expiryJitter < 0 || c.expiryJitter > 1:
		return c, fmt.Errorf("vending: expiry jitter %v not in [0, 1]", c.expiryJitter)
	case c.maxTenants < 1:
		return c, fmt.Errorf("vending: max tenants %d < 1", c.maxTenants)
	case c.stsTimeout <= 0:
		return c, fmt.Errorf("vending: STS timeout %v <= 0", c.stsTimeout)
	case len(c.prefix) > 32 || !sessionNameChars.MatchString(c.prefix):
		return c, fmt.Errorf("vending: session name prefix must be at most 32 characters of [\\w+=,.@-]")
	}
	for r, t := range c.policies {
		if t == nil {
			return c, fmt.Errorf("vending: nil policy template for %v", isolation.Resource(r))
		}
	}
	for _, k := range c.transitive {
		if k != TagTenantID && k != TagTier {
			return c, fmt.Errorf("vending: transitive tag key %q is not %q or %q", k, TagTenantID, TagTier)
		}
	}
	return c, nil
}

var sessionNameChars = regexp.MustCompile(`^[\w+=,.@-]*$`)

// WithPolicy sets the session policy template for resource r in pooled
// sessions. Defaults: [isolation.DynamoDBLeadingKeyPrefix], [isolation.S3Prefix] and
// [isolation.KMSTenantKey]. A session that reaches several resources through one role
// gets the [isolation.Merge] of their templates.
func WithPolicy(r isolation.Resource, t *isolation.Template) Option {
	return optionFunc(func(c *config) {
		if r >= isolation.NumResources {
			c.err = fmt.Errorf("vending: WithPolicy: unknown resource %v", r)
			return
		}
		c.policies[r] = t
	})
}

// WithSiloPolicies makes siloed sessions carry the session policy too, as
// defence in depth. By default a siloed session has none: the tenant's own
// role is its scope.
func WithSiloPolicies(on bool) Option {
	return optionFunc(func(c *config) { c.siloPolicies = on })
}

// WithSessionDuration sets DurationSeconds of AssumeRole, between 15
// minutes and 12 hours (and at most the role's maximum session duration).
// Default [DefaultSessionDuration].
func WithSessionDuration(d time.Duration) Option {
	return optionFunc(func(c *config) { c.duration = d })
}

// WithExpiryWindow makes cached credentials refresh window before they
// expire, less a random jitter of up to jitterFrac × window, so that the
// tenants' refreshes spread out (aws.CredentialsCacheOptions ExpiryWindow
// and ExpiryWindowJitterFrac). Defaults [DefaultExpiryWindow] and
// [DefaultExpiryJitter].
func WithExpiryWindow(window time.Duration, jitterFrac float64) Option {
	return optionFunc(func(c *config) { c.expiryWindow, c.expiryJitter = window, jitterFrac })
}

// WithMaxTenants bounds the credential cache to n entries (one per tenant,
// tier and source identity); beyond it the least recently used are evicted
// (CLOCK). Default [DefaultMaxTenants].
func WithMaxTenants(n int) Option {
	return optionFunc(func(c *config) { c.maxTenants = n })
}

// WithTransitiveTags marks session tags as transitive, so that they pass on
// through role chaining. keys may be [TagTenantID] and [TagTier].
func WithTransitiveTags(keys ...string) Option {
	return optionFunc(func(c *config) { c.transitive = append([]string(nil), keys...) })
}

// WithSessionNamePrefix sets the prefix of RoleSessionName, which is the
// prefix followed by the tenant ID (hashed down to 64 characters if
// longer). At most 32 characters of [\w+=,.@-]. Default
// [DefaultSessionNamePrefix].
func WithSessionNamePrefix(p string) Option {
	return optionFunc(func(c *config) { c.prefix = p })
}

// WithSourceIdentity sets SourceIdentity of AssumeRole to f(t), for example
// the subject of the caller's token. Each distinct value gets its own
// session and cache entry. Values must be 2 to 64 characters of
// [\w+=,.@-]; an empty value sends none. f runs on every request, so it
// should not allocate.
func WithSourceIdentity(f func(t tenant.Tenant) string) Option {
	return optionFunc(func(c *config) { c.sourceIdentity = f })
}

// WithSTSTimeout bounds each AssumeRole call. The call is shared by every
// request of the tenant waiting for it and does not end when the first of
// them gives up, so it needs a bound of its own. Default
// [DefaultSTSTimeout].
func WithSTSTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.stsTimeout = d })
}

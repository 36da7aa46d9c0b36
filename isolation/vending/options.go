package vending

import (
	"errors"
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
	DefaultCacheSize         = 10000
	DefaultSessionNamePrefix = "tenant-"
	DefaultSTSTimeout        = 10 * time.Second
)

// ErrInvalidOption is wrapped by the error [New] returns for an option with
// an invalid value, or a nil client or resolver; the message names the
// option or parameter.
var ErrInvalidOption = errors.New("vending: invalid option")

// Option configures a [Vendor].
type Option func(*config)

type config struct {
	policies       [isolation.NumResources]*isolation.Template
	siloPolicies   bool
	duration       time.Duration
	expiryWindow   time.Duration
	expiryJitter   float64
	cacheSize      int
	transitive     []string
	prefix         string
	sourceIdentity func(tenant.Tenant) string
	stsTimeout     time.Duration
	err            error // the first invalid option
}

func newConfig(opts []Option) (config, error) {
	c := config{
		policies:     [isolation.NumResources]*isolation.Template{isolation.DynamoDBLeadingKeyPrefix(), isolation.S3Prefix(), isolation.KMSTenantKey()},
		duration:     DefaultSessionDuration,
		expiryWindow: DefaultExpiryWindow,
		expiryJitter: DefaultExpiryJitter,
		cacheSize:    DefaultCacheSize,
		prefix:       DefaultSessionNamePrefix,
		stsTimeout:   DefaultSTSTimeout,
	}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	if c.err == nil && c.expiryWindow >= c.duration {
		// Each option checks its own value; this one depends on two.
		c.fail("WithExpiryWindow(%v): the window must be shorter than the session duration %v (WithSessionDuration)", c.expiryWindow, c.duration)
	}
	return c, c.err
}

// fail records the first invalid option; New returns it.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

var sessionNameChars = regexp.MustCompile(`^[\w+=,.@-]*$`)

// WithPolicy sets the session policy template for resource r in pooled
// sessions. Defaults: [isolation.DynamoDBLeadingKeyPrefix], [isolation.S3Prefix] and
// [isolation.KMSTenantKey]. A session that reaches several resources through one role
// gets the [isolation.Merge] of their templates.
func WithPolicy(r isolation.Resource, t *isolation.Template) Option {
	return func(c *config) {
		switch {
		case r >= isolation.NumResources:
			c.fail("WithPolicy(%v): unknown resource", r)
		case t == nil:
			c.fail("WithPolicy(%v, nil): a nil template", r)
		default:
			c.policies[r] = t
		}
	}
}

// WithSiloPolicies makes siloed sessions carry the session policy too, as
// defence in depth. By default a siloed session has none: the tenant's own
// role is its scope.
func WithSiloPolicies(on bool) Option {
	return func(c *config) { c.siloPolicies = on }
}

// WithSessionDuration sets DurationSeconds of AssumeRole, between 15
// minutes and 12 hours (and at most the role's maximum session duration).
// Default [DefaultSessionDuration].
func WithSessionDuration(d time.Duration) Option {
	return func(c *config) {
		if d < 15*time.Minute || d > 12*time.Hour {
			c.fail("WithSessionDuration(%v): outside [15m, 12h]", d)
			return
		}
		c.duration = d
	}
}

// WithExpiryWindow makes cached credentials refresh window before they
// expire, less a random jitter of up to jitterFrac × window, so that the
// tenants' refreshes spread out (aws.CredentialsCacheOptions ExpiryWindow
// and ExpiryWindowJitterFrac). The window is at least 0 and shorter than the
// session duration, jitterFrac in [0, 1]. Defaults [DefaultExpiryWindow] and
// [DefaultExpiryJitter].
func WithExpiryWindow(window time.Duration, jitterFrac float64) Option {
	return func(c *config) {
		switch {
		case window < 0:
			c.fail("WithExpiryWindow(%v, %v): a negative window", window, jitterFrac)
		case !(jitterFrac >= 0 && jitterFrac <= 1):
			c.fail("WithExpiryWindow(%v, %v): the jitter fraction is outside [0, 1]", window, jitterFrac)
		default:
			c.expiryWindow, c.expiryJitter = window, jitterFrac
		}
	}
}

// WithCacheSize bounds the credential cache to n entries (one per tenant,
// tier and source identity), at least 1; beyond it the least recently used
// are evicted (CLOCK). Default [DefaultCacheSize].
func WithCacheSize(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithCacheSize(%d): the bound must be at least 1", n)
			return
		}
		c.cacheSize = n
	}
}

// WithTransitiveTags marks session tags as transitive, so that they pass on
// through role chaining. keys may be [TagTenantID] and [TagTier].
func WithTransitiveTags(keys ...string) Option {
	return func(c *config) {
		for _, k := range keys {
			if k != TagTenantID && k != TagTier {
				c.fail("WithTransitiveTags(%q): a key is %q or %q", k, TagTenantID, TagTier)
				return
			}
		}
		c.transitive = append([]string(nil), keys...)
	}
}

// WithSessionNamePrefix sets the prefix of RoleSessionName, which is the
// prefix followed by the tenant ID (hashed down to 64 characters if
// longer). At most 32 characters of [\w+=,.@-]. Default
// [DefaultSessionNamePrefix].
func WithSessionNamePrefix(p string) Option {
	return func(c *config) {
		if len(p) > 32 || !sessionNameChars.MatchString(p) {
			c.fail("WithSessionNamePrefix(%q): a prefix is at most 32 characters of [\\w+=,.@-]", p)
			return
		}
		c.prefix = p
	}
}

// WithSourceIdentity sets SourceIdentity of AssumeRole to f(t), for example
// the subject of the caller's token; f may not be nil. Each distinct value
// gets its own session and cache entry. Values must be 2 to 64 characters
// of [\w+=,.@-]; an empty value sends none. f runs on every request, so it
// should not allocate.
func WithSourceIdentity(f func(t tenant.Tenant) string) Option {
	return func(c *config) {
		if f == nil {
			c.fail("WithSourceIdentity(nil)")
			return
		}
		c.sourceIdentity = f
	}
}

// WithSTSTimeout bounds each AssumeRole call, and must be positive. The
// call is shared by every request of the tenant waiting for it and does not
// end when the first of them gives up, so it needs a bound of its own.
// Default [DefaultSTSTimeout].
func WithSTSTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithSTSTimeout(%v): the timeout must be positive", d)
			return
		}
		c.stsTimeout = d
	}
}

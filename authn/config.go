package authn

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/tenantkit/tenantkit/tenant"
)

// Defaults of a Verifier. They follow what Cognito and most OIDC issuers do:
// keys rotate rarely, tokens live an hour, and a token is a few hundred bytes
// to a few KiB.
const (
	DefaultTenantClaim     = "custom:tenant_id"
	DefaultTierClaim       = "custom:tier"
	DefaultMaxTokenSize    = 8 << 10
	DefaultCacheSize       = 10_000
	DefaultFetchTimeout    = 5 * time.Second
	DefaultRefreshInterval = time.Hour
	DefaultMissCooldown    = 30 * time.Second
	// MaxLeeway bounds the clock skew tolerance. More than a few minutes
	// would keep stolen tokens alive well past their expiry.
	MaxLeeway = 5 * time.Minute
)

// defaultAlgorithms are the asymmetric JWS algorithms. Symmetric (HS*)
// algorithms are never accepted: the verifier's keys are public, and an HMAC
// keyed with a public key can be forged by anyone.
var defaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

type config struct {
	algorithms      []string
	leeway          time.Duration
	tenantClaim     string
	tierClaim       string
	defaultTier     string
	requiredClaims  []string
	check           func(context.Context, tenant.Tenant) error
	client          *http.Client
	fetchTimeout    time.Duration
	refreshInterval time.Duration
	missCooldown    time.Duration
	maxTokenSize    int
	cacheSize       int
	onFetchError    func(issuer string, err error)
	now             func() time.Time
	err             error
}

func newConfig(opts []Option) *config {
	c := &config{
		algorithms:      defaultAlgorithms,
		tenantClaim:     DefaultTenantClaim,
		tierClaim:       DefaultTierClaim,
		fetchTimeout:    DefaultFetchTimeout,
		refreshInterval: DefaultRefreshInterval,
		missCooldown:    DefaultMissCooldown,
		maxTokenSize:    DefaultMaxTokenSize,
		cacheSize:       DefaultCacheSize,
		now:             time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: c.fetchTimeout}
	}
	return c
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
}

// Option configures a Verifier.
type Option func(*config)

// WithAlgorithms sets the accepted JWS algorithms (default: every RSA,
// RSA-PSS, ECDSA and EdDSA algorithm). Only asymmetric algorithms may be
// named; "none" and HS* are refused.
func WithAlgorithms(algs ...string) Option {
	return func(c *config) {
		for _, a := range algs {
			if !contains(defaultAlgorithms, a) {
				c.fail("algorithm %q is not an asymmetric JWS algorithm", a)
				return
			}
		}
		if len(algs) == 0 {
			c.fail("no algorithms")
			return
		}
		c.algorithms = algs
	}
}

// WithLeeway sets the clock skew tolerated on exp, nbf and iat (default 0,
// at most MaxLeeway).
func WithLeeway(d time.Duration) Option {
	return func(c *config) {
		if d < 0 || d > MaxLeeway {
			c.fail("leeway %v outside [0, %v]", d, MaxLeeway)
			return
		}
		c.leeway = d
	}
}

// WithTenantClaim names the claim holding the tenant ID (default
// DefaultTenantClaim, Cognito's custom attribute).
func WithTenantClaim(name string) Option {
	return func(c *config) {
		if name == "" {
			c.fail("empty tenant claim name")
			return
		}
		c.tenantClaim = name
	}
}

// WithTierClaim names the claim holding the tier (default DefaultTierClaim).
func WithTierClaim(name string) Option {
	return func(c *config) {
		if name == "" {
			c.fail("empty tier claim name")
			return
		}
		c.tierClaim = name
	}
}

// WithDefaultTier sets the tier of tokens that carry no tier claim. Without
// it such tokens get the empty tier, which rate limiting maps to its
// explicit default plan. A tier breaking the ID rules is a configuration
// error that also wraps ErrInvalidTier.
func WithDefaultTier(tier string) Option {
	return func(c *config) {
		if err := tenant.ValidateTier(tier); err != nil {
			c.fail("default tier %q: %w", tier, err)
			return
		}
		c.defaultTier = tier
	}
}

// WithRequiredClaims rejects tokens that lack any of the named claims
// (with ErrMissingClaim).
func WithRequiredClaims(names ...string) Option {
	return func(c *config) { c.requiredClaims = append(c.requiredClaims, names...) }
}

// WithCheck adds a final check, such as a tenant allow-list, a suspension
// list or a scope requirement. A non-nil error rejects the token with
// ErrRejected; return an error wrapping ErrForbidden to have the transports
// answer 403 instead of 401. The check runs on every Verify, cache hits
// included, so a suspension reaches tokens verified before it on their next
// request; it therefore sits on the hot path and should answer from memory
// (a map or an atomic snapshot), not from a network call.
func WithCheck(check func(ctx context.Context, t tenant.Tenant) error) Option {
	return func(c *config) { c.check = check }
}

// WithHTTPClient sets the client used to fetch discovery documents and key
// sets (default: a client with the fetch timeout).
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) { c.client = client }
}

// WithFetchTimeout bounds one key set fetch, and so the longest any request
// waits for keys (default DefaultFetchTimeout).
func WithFetchTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("fetch timeout %v", d)
			return
		}
		c.fetchTimeout = d
	}
}

// WithRefreshInterval sets how often key sets are refreshed in the
// background (default DefaultRefreshInterval).
func WithRefreshInterval(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("refresh interval %v", d)
			return
		}
		c.refreshInterval = d
	}
}

// WithMissCooldown sets the minimum time between two key set fetches
// triggered by tokens with an unknown key ID (default DefaultMissCooldown).
// Inside the cooldown such tokens are rejected at once, so a flood of forged
// key IDs costs the issuer one fetch per cooldown and costs us no waiting.
func WithMissCooldown(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("miss cooldown %v", d)
			return
		}
		c.missCooldown = d
	}
}

// WithMaxTokenSize rejects longer tokens before any parsing (default
// DefaultMaxTokenSize bytes).
func WithMaxTokenSize(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.fail("max token size %d", n)
			return
		}
		c.maxTokenSize = n
	}
}

// WithCacheSize bounds the verified-token cache to n tokens (default
// DefaultCacheSize); 0 turns the cache off. A cached token costs a map
// lookup instead of a signature verification.
func WithCacheSize(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.fail("cache size %d", n)
			return
		}
		c.cacheSize = n
	}
}

// WithFetchErrorHandler calls h, from the fetching goroutine, after every
// failed key set fetch: background refreshes, fetches for unknown key IDs
// and those of Check. err is what Check reports for the issuer. h should
// return quickly and must not call Close; nil means no handler (the
// default).
func WithFetchErrorHandler(h func(issuer string, err error)) Option {
	return func(c *config) { c.onFetchError = h }
}

// WithClock sets the time source (default time.Now), for tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

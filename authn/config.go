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
	ctor            scope // the constructor being configured
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
	assertionTTL    time.Duration
	assertionIssuer string
	err             error // the first invalid option
}

// scope is the constructors an option applies to.
type scope uint8

const (
	forVerifier scope = 1 << iota
	forAssertion
)

func (s scope) String() string {
	if s == forAssertion {
		return "NewAssertion"
	}
	return "NewVerifier"
}

func newConfig(ctor scope, opts []Option) *config {
	c := &config{
		ctor:            ctor,
		assertionTTL:    DefaultAssertionTTL,
		assertionIssuer: DefaultAssertionIssuer,
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
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(c)
	}
	if c.client == nil && ctor == forVerifier {
		c.client = &http.Client{Timeout: c.fetchTimeout}
	}
	return c
}

// fail records the first invalid option; the constructor returns it.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// applies reports whether the option name applies to the constructor being
// configured, and records the error when it does not.
func (c *config) applies(name string, s scope) bool {
	if c.ctor&s == 0 {
		c.fail("%s applies to %v, not %v", name, s, c.ctor)
		return false
	}
	return true
}

// Option configures a [Verifier] ([NewVerifier]) or an [Assertion]
// ([NewAssertion]); each says which. An option given to the other
// constructor, or with an invalid value, is an error wrapping
// [ErrInvalidOption].
type Option func(*config)

// WithAlgorithms sets the accepted JWS algorithms (default: every RSA,
// RSA-PSS, ECDSA and EdDSA algorithm). Only asymmetric algorithms may be
// named; "none" and HS* are refused. NewVerifier only.
func WithAlgorithms(algs ...string) Option {
	return func(c *config) {
		if !c.applies("WithAlgorithms", forVerifier) {
			return
		}
		for _, a := range algs {
			if !contains(defaultAlgorithms, a) {
				c.fail("WithAlgorithms: %q is not an asymmetric JWS algorithm", a)
				return
			}
		}
		if len(algs) == 0 {
			c.fail("WithAlgorithms(): no algorithms")
			return
		}
		c.algorithms = algs
	}
}

// WithLeeway sets the clock skew tolerated on exp, nbf and iat (default 0,
// at most MaxLeeway), between issuers and us or between services.
func WithLeeway(d time.Duration) Option {
	return func(c *config) {
		if d < 0 || d > MaxLeeway {
			c.fail("WithLeeway(%v): outside [0, %v]", d, MaxLeeway)
			return
		}
		c.leeway = d
	}
}

// WithTenantClaim names the claim holding the tenant ID (default
// DefaultTenantClaim, Cognito's custom attribute). NewVerifier only.
func WithTenantClaim(name string) Option {
	return func(c *config) {
		if !c.applies("WithTenantClaim", forVerifier) {
			return
		}
		if name == "" {
			c.fail("WithTenantClaim(%q): an empty claim name", name)
			return
		}
		c.tenantClaim = name
	}
}

// WithTierClaim names the claim holding the tier (default
// DefaultTierClaim). NewVerifier only.
func WithTierClaim(name string) Option {
	return func(c *config) {
		if !c.applies("WithTierClaim", forVerifier) {
			return
		}
		if name == "" {
			c.fail("WithTierClaim(%q): an empty claim name", name)
			return
		}
		c.tierClaim = name
	}
}

// WithDefaultTier sets the tier of tokens that carry no tier claim. Without
// it such tokens get the empty tier, which rate limiting maps to its
// explicit default plan. A tier breaking the ID rules is an error that also
// wraps ErrInvalidTier. NewVerifier only.
func WithDefaultTier(tier string) Option {
	return func(c *config) {
		if !c.applies("WithDefaultTier", forVerifier) {
			return
		}
		if err := tenant.ValidateTier(tier); err != nil {
			c.fail("WithDefaultTier: default tier %q: %w", tier, err)
			return
		}
		c.defaultTier = tier
	}
}

// WithRequiredClaims rejects tokens that lack any of the named claims
// (with ErrMissingClaim). NewVerifier only.
func WithRequiredClaims(names ...string) Option {
	return func(c *config) {
		if !c.applies("WithRequiredClaims", forVerifier) {
			return
		}
		if contains(names, "") {
			c.fail("WithRequiredClaims: an empty claim name")
			return
		}
		c.requiredClaims = append(c.requiredClaims, names...)
	}
}

// WithCheck adds a final check, such as a tenant allow-list, a suspension
// list or a scope requirement. A non-nil error rejects the token with
// ErrRejected; return an error wrapping ErrForbidden to have the transports
// answer 403 instead of 401. The check runs on every Verify, cache hits
// included, so a suspension reaches tokens verified before it on their next
// request; it therefore sits on the hot path and should answer from memory
// (a map or an atomic snapshot), not from a network call. NewVerifier only.
func WithCheck(check func(ctx context.Context, t tenant.Tenant) error) Option {
	return func(c *config) {
		if !c.applies("WithCheck", forVerifier) {
			return
		}
		if check == nil {
			c.fail("WithCheck(nil)")
			return
		}
		c.check = check
	}
}

// WithHTTPClient sets the client used to fetch discovery documents and key
// sets (default: a client with the fetch timeout). NewVerifier only.
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) {
		if !c.applies("WithHTTPClient", forVerifier) {
			return
		}
		if client == nil {
			c.fail("WithHTTPClient(nil)")
			return
		}
		c.client = client
	}
}

// WithFetchTimeout bounds one key set fetch, and so the longest any request
// waits for keys (default DefaultFetchTimeout). NewVerifier only.
func WithFetchTimeout(d time.Duration) Option {
	return func(c *config) {
		if !c.applies("WithFetchTimeout", forVerifier) {
			return
		}
		if d <= 0 {
			c.fail("WithFetchTimeout(%v): the timeout must be positive", d)
			return
		}
		c.fetchTimeout = d
	}
}

// WithRefreshInterval sets how often key sets are refreshed in the
// background (default DefaultRefreshInterval). NewVerifier only.
func WithRefreshInterval(d time.Duration) Option {
	return func(c *config) {
		if !c.applies("WithRefreshInterval", forVerifier) {
			return
		}
		if d <= 0 {
			c.fail("WithRefreshInterval(%v): the interval must be positive", d)
			return
		}
		c.refreshInterval = d
	}
}

// WithMissCooldown sets the minimum time between two key set fetches
// triggered by tokens with an unknown key ID (default DefaultMissCooldown).
// Inside the cooldown such tokens are rejected at once, so a flood of forged
// key IDs costs the issuer one fetch per cooldown and costs us no waiting.
// NewVerifier only.
func WithMissCooldown(d time.Duration) Option {
	return func(c *config) {
		if !c.applies("WithMissCooldown", forVerifier) {
			return
		}
		if d < 0 {
			c.fail("WithMissCooldown(%v): the cooldown may not be negative", d)
			return
		}
		c.missCooldown = d
	}
}

// WithMaxTokenSize rejects longer tokens before any parsing (default
// DefaultMaxTokenSize bytes). NewVerifier only.
func WithMaxTokenSize(n int) Option {
	return func(c *config) {
		if !c.applies("WithMaxTokenSize", forVerifier) {
			return
		}
		if n <= 0 {
			c.fail("WithMaxTokenSize(%d): the size must be positive", n)
			return
		}
		c.maxTokenSize = n
	}
}

// WithCacheSize bounds the verified-token cache to n tokens (default
// DefaultCacheSize); 0 turns the cache off. A cached token costs a map
// lookup instead of a signature verification. For an Assertion it bounds
// both the minted and the verified assertion caches.
func WithCacheSize(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.fail("WithCacheSize(%d): the size may not be negative", n)
			return
		}
		c.cacheSize = n
	}
}

// WithFetchErrorHandler calls h, from the fetching goroutine, after every
// failed key set fetch: background refreshes, fetches for unknown key IDs
// and those of Check. err is what Check reports for the issuer. h should
// return quickly and must not call Close; it may not be nil (leave the
// option out for no handler). NewVerifier only.
func WithFetchErrorHandler(h func(issuer string, err error)) Option {
	return func(c *config) {
		if !c.applies("WithFetchErrorHandler", forVerifier) {
			return
		}
		if h == nil {
			c.fail("WithFetchErrorHandler(nil)")
			return
		}
		c.onFetchError = h
	}
}

// WithClock sets the time source (default time.Now), for tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.fail("WithClock(nil)")
			return
		}
		c.now = now
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package httpmw

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/internal/outcome"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// DefaultSpoofableHeaders returns the request headers and trailers
// Authenticate removes before the handler runs: tenant.SpoofableNames(),
// such as X-Tenant-ID, Tenant-ID, X-Forwarded-Tenant and X-Scope-OrgID.
// Names are matched by tenant.FoldName: in any letter case and with '_'
// for '-', so X-Tenant_ID goes too. Clients can set them to anything; code
// that read them instead of the verified tenant would be trivially spoofed.
// It returns a new slice on every call, so no caller can change another's
// defaults.
func DefaultSpoofableHeaders() []string { return tenant.SpoofableNames() }

type authConfig struct {
	spoofable []string
	extra     []string
	realm     string
	onError   func(w http.ResponseWriter, r *http.Request, err error)
	assertion *authn.Assertion
	public    []func(*http.Request) bool
	invalid   string // the first invalid option
}

func (c *authConfig) fail(option string) {
	if c.invalid == "" {
		c.invalid = option
	}
}

// isPublic reports whether a public-route predicate matches r.
func (c *authConfig) isPublic(r *http.Request) bool {
	for _, match := range c.public {
		if match(r) {
			return true
		}
	}
	return false
}

// AuthOption configures Authenticate. Authenticate panics, naming the
// option, when an option was given an invalid value (a nil function).
type AuthOption func(*authConfig)

// WithPublic makes the requests for which match returns true public: such a
// request that carries no credential (no bearer token and no assertion; an
// Authorization header of another scheme counts as none) is served without
// a tenant in its context, so tenant.FromContext reports false and outgoing
// calls made with that context fail with tenant.ErrNoTenant unless marked
// tenant-less. A public request that does carry a credential is verified as
// on any other route: a valid one puts its tenant in the context, and an
// invalid, refused or unverifiable one is answered 401, 403 or 503 as
// usual, never served anonymously. Spoofable headers are removed from
// public requests too, before match runs.
//
// match runs only for requests without a credential, and sees r.URL.Path
// as received (match on the method and the exact path, or on a prefix
// ending in '/'). Several WithPublic options add up: a request is public
// when any of them matches. Nothing is public without this option. Behind
// [RateLimit], a public request without a tenant needs
// [RateLimitUntenanted], or it is answered 401 there.
func WithPublic(match func(*http.Request) bool) AuthOption {
	return func(c *authConfig) {
		if match == nil {
			c.fail("WithPublic(nil)")
			return
		}
		c.public = append(c.public, match)
	}
}

// WithSpoofableHeaders adds names to the headers (and trailers)
// Authenticate removes from every request, on top of
// DefaultSpoofableHeaders() or the list of WithSpoofableHeadersOnly. Names
// are matched as the defaults are, by tenant.FoldName.
func WithSpoofableHeaders(names ...string) AuthOption {
	return func(c *authConfig) { c.extra = append(c.extra, names...) }
}

// WithSpoofableHeadersOnly replaces DefaultSpoofableHeaders() with names:
// only these (and those of WithSpoofableHeaders) are removed. A
// Tenant-Assertion header is still removed when the middleware does not
// verify assertions.
func WithSpoofableHeadersOnly(names ...string) AuthOption {
	return func(c *authConfig) { c.spoofable = append([]string(nil), names...) }
}

// WithAssertion also accepts the signed internal assertions of a (in the
// Tenant-Assertion header), for services called by other services. A
// request may carry a bearer token, an assertion, or both; when both, they
// must name the same tenant and tier. To accept assertions only, pass a nil
// verifier to Authenticate.
func WithAssertion(a *authn.Assertion) AuthOption {
	return func(c *authConfig) { c.assertion = a }
}

// WithRealm sets the realm of the WWW-Authenticate challenge.
func WithRealm(realm string) AuthOption {
	return func(c *authConfig) { c.realm = realm }
}

// WithAuthErrorHandler replaces the response written when authentication
// fails. err wraps tenant.ErrInvalidToken (401), tenant.ErrForbidden (403),
// authn.ErrKeysUnavailable (503) or a bearer extraction error. The handler
// must not echo the request's credentials.
func WithAuthErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) AuthOption {
	return func(c *authConfig) { c.onError = h }
}

// Authenticate returns middleware that verifies the request's bearer token
// with v and serves the request with the proven tenant in its context
// (tenant.FromContext). It removes spoofable tenant headers and trailers
// (DefaultSpoofableHeaders, in any letter case and with '_' for '-') before
// the handler can read them, refuses a credential header that is repeated
// (in one letter case or several), and puts tenant.id and tenant.tier on
// the span already in the context (otelhttp starts it before this
// middleware runs).
//
// Requests without a valid token get 401 with an RFC 6750 WWW-Authenticate
// challenge and an RFC 9457 problem body; a tenant refused by a check gets
// 403; an issuer whose keys cannot be fetched gets 503 with Retry-After. A
// request whose client gave up during the check gets 499 (a 4xx), one whose
// deadline passed 504, never 401. Only routes made public by [WithPublic] are served without a credential.
//
// Authenticate panics without a verifier or [WithAssertion], and for an
// invalid option.
func Authenticate(v tenant.TokenVerifier, opts ...AuthOption) func(http.Handler) http.Handler {
	cfg := authConfig{spoofable: DefaultSpoofableHeaders()}
	for _, o := range opts {
		if o == nil {
			cfg.fail("a nil AuthOption")
			continue
		}
		o(&cfg)
	}
	if cfg.invalid != "" {
		panic("httpmw.Authenticate: invalid option " + cfg.invalid)
	}
	if cfg.onError == nil {
		cfg.onError = cfg.writeAuthError
	}
	var props []tenant.Propagator
	if v != nil {
		props = append(props, tenant.Relay{Verifier: v})
	}
	names := append(append([]string(nil), cfg.spoofable...), cfg.extra...)
	if cfg.assertion != nil {
		props = append(props, cfg.assertion)
	} else {
		// Nobody here verifies assertions; make sure nobody reads one.
		names = append(names, tenant.AssertionKey)
	}
	if len(props) == 0 {
		panic("httpmw: Authenticate needs a verifier or WithAssertion")
	}
	s := scrubber{spoofable: tenant.NewNameSet(names...)}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.header(r.Header)
			ctx := r.Context()
			t, err := tenant.ExtractAny(ctx, headerCarrier(r.Header), props...)
			if err != nil {
				if errors.Is(err, tenant.ErrAbsent) && cfg.isPublic(r) {
					// A public route without a credential: no tenant.
					s.trailer(r)
					next.ServeHTTP(w, r)
					return
				}
				cfg.onError(w, r, err)
				return
			}
			telemetry.SetSpanTenant(trace.SpanFromContext(ctx), t)
			r = r.WithContext(tenant.NewContext(ctx, t))
			s.trailer(r)
			next.ServeHTTP(w, r)
		})
	}
}

// credentialNames folds the credential headers, to find variants of them
// (Tenant_Assertion) that a backend behind a proxy might read.
var credentialNames = tenant.NewNameSet(tenant.AuthorizationKey, tenant.AssertionKey)

// credentialVariant reports whether k folds to a credential header but is
// not one in any letter case: Tenant_Assertion, Authorization-Bin.
func credentialVariant(k string) bool {
	return credentialNames.Contains(k) && !strings.EqualFold(k, tenant.AuthorizationKey) && !strings.EqualFold(k, tenant.AssertionKey)
}

// scrubber removes spoofable headers and trailers from requests.
type scrubber struct{ spoofable tenant.NameSet }

// header removes every spoofable name, and every variant of a credential
// header other than a change of letter case, from h. (Case variants stay,
// for ExtractAny to refuse as a repeated credential.) It allocates
// nothing.
func (s *scrubber) header(h http.Header) {
	for k := range h {
		if s.spoofable.Contains(k) || credentialVariant(k) {
			delete(h, k)
		}
	}
}

// trailer makes sure the handler of r cannot read a spoofable trailer.
// Trailers arrive only when the body has been read, so the body is
// wrapped to remove them then; the declared ones go at once, which also
// keeps HTTP/2 from filling them in. A request without declared trailers
// (r.Trailer nil) gets none the handler could see, and is left alone.
func (s *scrubber) trailer(r *http.Request) {
	if r.Trailer == nil {
		return
	}
	s.header(r.Trailer)
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &scrubBody{ReadCloser: r.Body, trailer: r.Trailer, s: s}
	}
}

// scrubBody removes spoofable trailers once the body has been read to its
// end or closed.
type scrubBody struct {
	io.ReadCloser
	trailer http.Header
	s       *scrubber
}

func (b *scrubBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.s.header(b.trailer)
	}
	return n, err
}

func (b *scrubBody) Close() error {
	err := b.ReadCloser.Close()
	b.s.header(b.trailer)
	return err
}

// writeAuthError answers a request whose credential check failed with err,
// as the core classifies it.
func (c *authConfig) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	writeOutcome(w, outcome.Auth(r.Context(), err), c.realm)
}

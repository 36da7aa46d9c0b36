package httpmw

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/internal/credfield"
	"github.com/tenantkit/tenantkit/internal/outcome"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

type authConfig struct {
	spoofable []string
	extra     []string
	realm     string
	onError   func(w http.ResponseWriter, r *http.Request, err error)
	assertion *authn.Assertion
	extract   []tenant.Propagator // of WithExtractor
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

// AuthOption configures [Authenticate].
type AuthOption func(*authConfig)

// WithPublic makes the requests for which match returns true public: one
// without a credential is served without a tenant in its context; one with
// a credential is verified as on any other route.
//
// match sees r.URL.Path as received; several WithPublic options add up.
// Behind [RateLimit], a public request without a tenant needs
// [WithUntenantedKey], or it is answered 401 there.
func WithPublic(match func(*http.Request) bool) AuthOption {
	return func(c *authConfig) {
		// An Authorization header of another scheme counts as no
		// credential. A credential that is invalid, refused or cannot be
		// verified is answered 401, 403 or 503 as elsewhere, never served
		// anonymously, and spoofable headers go before match runs, so a
		// public handler reads no more than any other. Outgoing calls made
		// with the tenant-less context fail with tenant.ErrNoTenant unless
		// marked tenant.WithoutTenant.
		if match == nil {
			c.fail("WithPublic(nil)")
			return
		}
		c.public = append(c.public, match)
	}
}

// WithSpoofableHeaders adds names to the headers (and trailers)
// Authenticate removes from every request, on top of
// [tenant.SpoofableNames] or the list of [WithSpoofableHeadersOnly]. Names
// are matched by [tenant.FoldName].
func WithSpoofableHeaders(names ...string) AuthOption {
	return func(c *authConfig) {
		if checkNames(c, "WithSpoofableHeaders", names) {
			c.extra = append(c.extra, names...)
		}
	}
}

// WithSpoofableHeadersOnly replaces [tenant.SpoofableNames] with names as
// the headers Authenticate removes. Tenant-Assertion is still removed when
// the middleware does not verify assertions.
func WithSpoofableHeadersOnly(names ...string) AuthOption {
	return func(c *authConfig) {
		if checkNames(c, "WithSpoofableHeadersOnly", names) {
			c.spoofable = append([]string(nil), names...)
		}
	}
}

// checkNames records an empty name as an invalid option; it reports
// whether all names are usable.
func checkNames(c *authConfig, option string, names []string) bool {
	for _, n := range names {
		if n == "" {
			c.fail(option + `("")`)
			return false
		}
	}
	return true
}

// WithAssertion also accepts the signed internal assertions of a, in the
// Tenant-Assertion header. A request with both a bearer token and an
// assertion must name the same tenant and tier in both. To accept
// assertions only, pass a nil verifier to [Authenticate].
func WithAssertion(a *authn.Assertion) AuthOption {
	return func(c *authConfig) {
		if a == nil {
			c.fail("WithAssertion(nil)")
			return
		}
		c.assertion = a
	}
}

// WithRealm sets the realm of the WWW-Authenticate challenge. A realm with
// a control character is invalid.
func WithRealm(realm string) AuthOption {
	return func(c *authConfig) {
		// A header value with CR or LF would be refused by net/http; the
		// quotes and backslashes challenge escapes are fine.
		if strings.ContainsFunc(realm, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			c.fail("WithRealm(" + strconv.Quote(realm) + "): a control character")
			return
		}
		c.realm = realm
	}
}

// WithAuthErrorHandler replaces the response written when authentication
// fails. By default, and from the error class of err, it is:
//
//   - 401 with a WWW-Authenticate challenge: no credential (err wraps
//     [tenant.ErrAbsent]) or a rejected one ([tenant.ErrInvalidToken],
//     [tenant.ErrInvalidBearer], a repeated credential, any other error);
//   - 403: a tenant refused by a check ([tenant.ErrForbidden]);
//   - 503 with Retry-After: the credential cannot be checked now
//     ([tenant.ErrUnavailable]; [authn.ErrKeysUnavailable] wraps it);
//   - 499 (the client canceled) or 504 (the deadline passed) when
//     r.Context() ended during the check, whatever err is.
//
// h must not echo the request's credentials.
func WithAuthErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) AuthOption {
	return func(c *authConfig) {
		if h == nil {
			c.fail("WithAuthErrorHandler(nil)")
			return
		}
		c.onError = h
	}
}

// Authenticate returns middleware that verifies the request's bearer token
// with v and serves the request with the proven tenant in its context
// ([tenant.FromContext]), after removing spoofable tenant headers. Failures
// are answered as [WithAuthErrorHandler] lists; only routes made public by
// [WithPublic] are served without a credential.
//
// Authenticate panics if v holds a typed nil, if v is nil without
// [WithAssertion] or [WithExtractor], or if an option is invalid
// ([ErrInvalidOption]).
func Authenticate(v tenant.TokenVerifier, opts ...AuthOption) func(http.Handler) http.Handler {
	// Spoofable names (tenant.SpoofableNames, matched by tenant.FoldName:
	// any letter case, '_' for '-') go from headers and trailers before the
	// handler can read them; a credential header that is repeated, in one
	// letter case or several, is refused; tenant.id and tenant.tier go on
	// the span already in the context (otelhttp starts it before this
	// middleware runs). 401 carries an RFC 6750 challenge, every refusal an
	// RFC 9457 problem body. A client that gave up during the check gets
	// 499 (a 4xx, nginx's), a passed deadline 504, never 401: a check cut
	// short proves nothing about the credential.
	if v != nil {
		mustDependency("Authenticate", "verifier", v)
	}
	cfg := authConfig{spoofable: tenant.SpoofableNames()}
	for _, o := range opts {
		if o == nil {
			cfg.fail("a nil AuthOption")
			continue
		}
		o(&cfg)
	}
	mustValidOptions("Authenticate", cfg.invalid)
	if v == nil && cfg.assertion == nil && len(cfg.extract) == 0 {
		panic(errors.New("httpmw: Authenticate: verifier is nil and neither WithAssertion nor WithExtractor is given"))
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
	props = append(props, cfg.extract...)
	s := scrubber{spoofable: tenant.NewNameSet(append(names, credfield.Unclaimed(props)...)...), credentials: credfield.New(props)}
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
type scrubber struct {
	spoofable   tenant.NameSet
	credentials credfield.Set // of WithExtractor, beside the built-in ones
}

// header removes every spoofable name, and every variant of a credential
// header other than a change of letter case, from h. (Case variants stay,
// for ExtractAny to refuse as a repeated credential.) It allocates
// nothing.
func (s *scrubber) header(h http.Header) {
	for k := range h {
		if s.spoofable.Contains(k) || credentialVariant(k) || s.credentials.Variant(k) {
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

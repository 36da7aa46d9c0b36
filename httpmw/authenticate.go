package httpmw

import (
	"errors"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// DefaultSpoofableHeaders returns the request headers Authenticate removes
// before the handler runs: X-Tenant-ID and Tenant-ID. Clients can set them
// to anything; code that read them instead of the verified tenant would be
// trivially spoofed. It returns a new slice on every call, so no caller can
// change another's defaults.
func DefaultSpoofableHeaders() []string { return []string{"X-Tenant-ID", "Tenant-ID"} }

type authConfig struct {
	spoofable []string
	realm     string
	onError   func(w http.ResponseWriter, r *http.Request, err error)
	assertion *tenant.Assertion
}

// AuthOption configures Authenticate.
type AuthOption func(*authConfig)

// WithSpoofableHeaders replaces the list of headers Authenticate removes
// from every request (default DefaultSpoofableHeaders()).
func WithSpoofableHeaders(names ...string) AuthOption {
	return func(c *authConfig) { c.spoofable = append([]string(nil), names...) }
}

// WithAssertion also accepts the signed internal assertions of a (in the
// Tenant-Assertion header), for services called by other services. A
// request may carry a bearer token, an assertion, or both; when both, they
// must name the same tenant and tier. To accept assertions only, pass a nil
// verifier to Authenticate.
func WithAssertion(a *tenant.Assertion) AuthOption {
	return func(c *authConfig) { c.assertion = a }
}

// WithRealm sets the realm of the WWW-Authenticate challenge.
func WithRealm(realm string) AuthOption {
	return func(c *authConfig) { c.realm = realm }
}

// WithAuthErrorHandler replaces the response written when authentication
// fails. err wraps tenant.ErrInvalidToken (401), tenant.ErrForbidden (403),
// tenant.ErrKeysUnavailable (503) or a bearer extraction error. The handler
// must not echo the request's credentials.
func WithAuthErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) AuthOption {
	return func(c *authConfig) { c.onError = h }
}

// Authenticate returns middleware that verifies the request's bearer token
// with v and serves the request with the proven tenant in its context
// (tenant.FromContext). It removes spoofable tenant headers before the
// handler runs and puts tenant.id and tenant.tier on the span already in the
// context (otelhttp starts it before this middleware runs).
//
// Requests without a valid token get 401 with an RFC 6750 WWW-Authenticate
// challenge and an RFC 9457 problem body; a tenant refused by a check gets
// 403; an issuer whose keys cannot be fetched gets 503 with Retry-After.
func Authenticate(v tenant.TokenVerifier, opts ...AuthOption) func(http.Handler) http.Handler {
	cfg := authConfig{spoofable: DefaultSpoofableHeaders()}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.onError == nil {
		cfg.onError = cfg.writeAuthError
	}
	var props []tenant.Propagator
	if v != nil {
		props = append(props, tenant.Relay{Verifier: v})
	}
	// Header names are canonicalised once here, not per request.
	spoofable := make([]string, 0, len(cfg.spoofable)+1)
	for _, name := range cfg.spoofable {
		spoofable = append(spoofable, http.CanonicalHeaderKey(name))
	}
	if cfg.assertion != nil {
		props = append(props, cfg.assertion)
	} else {
		// Nobody here verifies assertions; make sure nobody reads one.
		spoofable = append(spoofable, tenant.AssertionKey)
	}
	if len(props) == 0 {
		panic("httpmw: Authenticate needs a verifier or WithAssertion")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, name := range spoofable {
				delete(r.Header, name)
			}
			// Two values of one credential header make it ambiguous which
			// one a proxy in front of us checked.
			if len(r.Header[tenant.AuthorizationKey]) > 1 || len(r.Header[tenant.AssertionKey]) > 1 {
				cfg.onError(w, r, tenant.ErrInvalidBearer)
				return
			}
			ctx := r.Context()
			t, err := tenant.ExtractAny(ctx, propagation.HeaderCarrier(r.Header), props...)
			if err != nil {
				cfg.onError(w, r, err)
				return
			}
			telemetry.SetSpanTenant(trace.SpanFromContext(ctx), t)
			next.ServeHTTP(w, r.WithContext(tenant.NewContext(ctx, t)))
		})
	}
}

func (c *authConfig) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, tenant.ErrForbidden):
		writeProblem(w, Problem{Title: "Forbidden", Status: http.StatusForbidden, Detail: "the tenant is not allowed"})
	case errors.Is(err, tenant.ErrKeysUnavailable):
		w.Header().Set("Retry-After", "5")
		writeProblem(w, Problem{Title: "Service Unavailable", Status: http.StatusServiceUnavailable, Detail: "the token issuer cannot be reached"})
	case errors.Is(err, tenant.ErrMissingBearer), errors.Is(err, tenant.ErrMissingAssertion):
		// RFC 6750 section 3.1: no error code when no credentials were sent.
		w.Header().Set("WWW-Authenticate", c.challenge("", ""))
		writeProblem(w, Problem{Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: "a bearer token is required"})
	default:
		desc := "the bearer token is not valid"
		var te *tenant.TokenError
		if errors.As(err, &te) {
			desc = te.Reason.Error()
		} else if errors.Is(err, tenant.ErrInvalidBearer) {
			desc = tenant.ErrInvalidBearer.Error()
		}
		w.Header().Set("WWW-Authenticate", c.challenge("invalid_token", desc))
		writeProblem(w, Problem{Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: desc})
	}
}

// challenge builds a Bearer challenge. Values are fixed strings of ours, but
// quotes and backslashes are escaped anyway so a future reason text cannot
// break the header's syntax.
func (c *authConfig) challenge(code, desc string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value))
		b.WriteString(`"`)
		sep = ", "
	}
	if c.realm != "" {
		param("realm", c.realm)
	}
	if code != "" {
		param("error", code)
		param("error_description", desc)
	}
	return b.String()
}

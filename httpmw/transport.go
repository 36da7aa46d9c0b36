package httpmw

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/tenant"
)

// ErrDestination reports a request that Transport refused because its
// destination is not allowed by WithAllowedHosts or WithDestinationCheck.
// Nothing was sent.
var ErrDestination = errors.New("httpmw: destination not allowed")

// TransportOption configures Transport.
type TransportOption func(*transportConfig)

type transportConfig struct {
	hosts  []allowedHost
	checks []func(*url.URL) bool
}

// allowedHost is one WithAllowedHosts entry: a host name and, optionally,
// a port.
type allowedHost struct{ host, port string }

// WithAllowedHosts restricts the destinations of Transport to the given
// hosts, each a host name or IP address ("orders.internal", "10.0.0.7",
// "[::1]") or one with a port ("orders.internal:8443"). Names are matched
// without regard to letter case or a trailing dot; an entry without a port
// allows every port. A request to any other host, a redirect hop included,
// is refused with ErrDestination before anything is sent. Several calls
// add to one list. An entry that is not a host or host:port (one with a
// scheme or a path, say) makes Transport panic.
func WithAllowedHosts(hosts ...string) TransportOption {
	return func(c *transportConfig) {
		for _, h := range hosts {
			c.hosts = append(c.hosts, parseAllowedHost(h))
		}
	}
}

// WithDestinationCheck restricts the destinations of Transport to the URLs
// for which allow returns true; it is called for every request, redirect
// hops included, and must not modify the URL. A request it refuses fails
// with ErrDestination before anything is sent. With WithAllowedHosts, a
// request must pass both; several checks must all pass.
func WithDestinationCheck(allow func(u *url.URL) bool) TransportOption {
	return func(c *transportConfig) {
		if allow == nil {
			panic("httpmw: WithDestinationCheck(nil)")
		}
		c.checks = append(c.checks, allow)
	}
}

func parseAllowedHost(h string) allowedHost {
	if h == "" || strings.ContainsAny(h, "/@?#* \t") {
		panic(fmt.Sprintf("httpmw: WithAllowedHosts: %q is not a host or host:port", h))
	}
	u, err := url.Parse("//" + h)
	if err != nil || u.Host != h || u.Hostname() == "" {
		panic(fmt.Sprintf("httpmw: WithAllowedHosts: %q is not a host or host:port", h))
	}
	return allowedHost{host: normalHost(u.Hostname()), port: u.Port()}
}

// normalHost folds a host name for comparison.
func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// Transport returns an http.RoundTripper that sends the tenant of each
// request's context to the next service with p (tenant.Relay or a
// *authn.Assertion), on top of base (http.DefaultTransport when nil).
// Transport panics when p is nil: a client that cannot propagate is a
// programming error, and it is reported when the client is built rather
// than on its first request.
//
// It fails closed: a request whose context carries no tenant is refused
// with an error wrapping tenant.ErrNoTenant, unless the context was marked
// with tenant.WithoutTenant. Every tenant credential already on the request
// (a bearer token or a Tenant-Assertion, under any key case, every value)
// must verify with p as the context's tenant, else the request is refused
// with tenant.ErrMismatch (see tenant.CheckOutgoing); that includes a
// credential p cannot verify, such as an assertion beside a relayed token.
// The credential p injects replaces every case variant of its header. The
// caller's request is never modified: the credential goes on a copy, as the
// RoundTripper contract requires, and a refused request's body is closed.
//
// A credential goes only to the origin (scheme, host and port) the caller
// addressed. When http.Client follows a redirect to another origin, that
// hop carries no tenant credential at all: Transport injects none and
// removes any that the client copied from the first request. Options
// restrict the destinations further (WithAllowedHosts,
// WithDestinationCheck), so that a tenant-supplied URL such as a webhook
// cannot receive a relayed token.
func Transport(base http.RoundTripper, p tenant.Propagator, opts ...TransportOption) http.RoundTripper {
	if p == nil {
		panic("httpmw: Transport needs a propagator (tenant.Relay or a *authn.Assertion)")
	}
	if a, ok := p.(*authn.Assertion); ok && a == nil {
		panic("httpmw: Transport needs a propagator, not a nil *authn.Assertion")
	}
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{base: base, p: p}
	for _, o := range opts {
		o(&t.cfg)
	}
	return t
}

type transport struct {
	base http.RoundTripper
	p    tenant.Propagator
	cfg  transportConfig
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	fail := func(err error) (*http.Response, error) {
		closeBody(req)
		return nil, fmt.Errorf("httpmw: %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	if !t.allowed(req.URL) {
		return fail(ErrDestination)
	}
	if req.Response != nil && !sameOrigin(firstRequest(req).URL, req.URL) {
		// A redirect hop to another origin: no tenant credential, not
		// even one the caller put on the first request.
		out := req.Clone(ctx)
		for _, f := range t.credentialFields() {
			deleteFold(out.Header, f)
		}
		if _, _, err := tenant.CheckOutgoing(ctx, headerCarrier(out.Header), t.p); err != nil {
			return fail(err)
		}
		return t.base.RoundTrip(out)
	}
	_, send, err := tenant.CheckOutgoing(ctx, headerCarrier(req.Header), t.p)
	if err != nil {
		return fail(err)
	}
	if !send { // tenant-less on purpose, or the credential is already there
		return t.base.RoundTrip(req)
	}
	out := new(http.Request)
	*out = *req
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = make(http.Header, 1)
	}
	if err := t.p.Inject(ctx, headerCarrier(out.Header)); err != nil {
		return fail(err)
	}
	return t.base.RoundTrip(out)
}

// credentialFields are the headers a cross-origin hop must not carry.
func (t *transport) credentialFields() []string {
	return append([]string{tenant.AuthorizationKey, tenant.AssertionKey}, t.p.Fields()...)
}

// allowed applies WithAllowedHosts and WithDestinationCheck to u.
func (t *transport) allowed(u *url.URL) bool {
	if len(t.cfg.hosts) > 0 {
		host, port := normalHost(u.Hostname()), effectivePort(u)
		ok := false
		for _, h := range t.cfg.hosts {
			if h.host == host && (h.port == "" || h.port == port) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, allow := range t.cfg.checks {
		if !allow(u) {
			return false
		}
	}
	return true
}

// firstRequest walks a redirect hop back to the request the caller made.
func firstRequest(req *http.Request) *http.Request {
	for req.Response != nil && req.Response.Request != nil {
		req = req.Response.Request
	}
	return req
}

// sameOrigin compares scheme, host and port, the port defaulting by
// scheme, as browsers compare origins (RFC 6454).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		normalHost(a.Hostname()) == normalHost(b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// closeBody honours the RoundTripper rule that the body is closed even when
// the request is refused.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

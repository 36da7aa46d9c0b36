package httpmw

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantkit/tenantkit/tenant"
)

// ErrDestination reports a request that [Transport] refused because its
// destination is not allowed by [WithAllowedHosts] or
// [WithDestinationCheck]. Nothing was sent.
var ErrDestination = errors.New("httpmw: destination not allowed")

// TransportOption configures [Transport].
type TransportOption func(*transportConfig)

type transportConfig struct {
	hosts   []allowedHost
	checks  []func(*url.URL) bool
	invalid string // the first invalid option
}

func (c *transportConfig) fail(option string) {
	if c.invalid == "" {
		c.invalid = option
	}
}

// allowedHost is one WithAllowedHosts entry: a host name and, optionally,
// a port.
type allowedHost struct{ host, port string }

// WithAllowedHosts restricts the destinations of Transport to hosts, each
// a host name or IP address ("orders.internal", "10.0.0.7", "[::1]"),
// optionally with a port ("orders.internal:8443"). A request to any other
// host, a redirect hop included, fails with [ErrDestination] before
// anything is sent. Several calls add to one list; an entry that is not a
// host or host:port, or no entry at all, is invalid.
func WithAllowedHosts(hosts ...string) TransportOption {
	return func(c *transportConfig) {
		// Names match without regard to letter case or a trailing dot; an
		// entry without a port allows every port. An empty list would
		// restrict nothing, so WithAllowedHosts(cfg.Hosts...) with an empty
		// config would silently allow every host: it fails instead.
		if len(hosts) == 0 {
			c.fail("WithAllowedHosts(): no host")
			return
		}
		for _, h := range hosts {
			ah, ok := parseAllowedHost(h)
			if !ok {
				c.fail(fmt.Sprintf("WithAllowedHosts(%q): not a host or host:port", h))
				return
			}
			c.hosts = append(c.hosts, ah)
		}
	}
}

// WithDestinationCheck restricts the destinations of Transport to the URLs
// for which allow returns true, redirect hops included; allow must not
// modify the URL. A refused request fails with [ErrDestination] before
// anything is sent. Every check and [WithAllowedHosts] must pass.
func WithDestinationCheck(allow func(u *url.URL) bool) TransportOption {
	return func(c *transportConfig) {
		if allow == nil {
			c.fail("WithDestinationCheck(nil)")
			return
		}
		c.checks = append(c.checks, allow)
	}
}

func parseAllowedHost(h string) (allowedHost, bool) {
	if h == "" || strings.ContainsAny(h, "/@?#* \t") {
		return allowedHost{}, false
	}
	u, err := url.Parse("//" + h)
	if err != nil || u.Host != h || u.Hostname() == "" {
		return allowedHost{}, false
	}
	return allowedHost{host: normalHost(u.Hostname()), port: u.Port()}, true
}

// normalHost folds a host name for comparison.
func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// Transport returns an http.RoundTripper that sends the tenant of each
// request's context to the next service with p ([tenant.Relay] or an
// [*authn.Assertion]), on top of base ([http.DefaultTransport] when nil).
//
// It fails closed: a request without a tenant fails with
// [tenant.ErrNoTenant] unless its context is [tenant.WithoutTenant], and one
// whose tenant credential p cannot verify as the context's tenant with
// [tenant.ErrMismatch]. A credential goes only to the origin the caller
// addressed, never to a redirect to another one.
//
// Transport panics if p is nil, if p, the Verifier of a Relay p or base is
// a typed nil, or if an option is invalid ([ErrInvalidOption]).
func Transport(base http.RoundTripper, p tenant.Propagator, opts ...TransportOption) http.RoundTripper {
	// Every tenant credential already on the request (a bearer token or a
	// Tenant-Assertion, under any key case, every value) must verify with p
	// as the context's tenant (tenant.CheckOutgoing); that includes one p
	// cannot verify, such as an assertion beside a relayed token. The
	// credential p injects replaces every case variant of its header. The
	// caller's request is never modified: the credential goes on a copy, as
	// the RoundTripper contract requires, and a refused request's body is
	// closed. Origin is scheme, host and port: a hop that http.Client
	// follows to another origin carries no tenant credential, not even one
	// the client copied from the first request. The destination options
	// keep a tenant-supplied URL, such as a webhook, from receiving a
	// relayed token.
	mustPropagator("Transport", p)
	if base != nil {
		mustDependency("Transport", "base", base)
	} else {
		base = http.DefaultTransport
	}
	t := &transport{base: base, p: p}
	for _, o := range opts {
		if o == nil {
			t.cfg.fail("a nil TransportOption")
			continue
		}
		o(&t.cfg)
	}
	mustValidOptions("Transport", t.cfg.invalid)
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

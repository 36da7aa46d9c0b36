package httpmw

import (
	"fmt"
	"net/http"

	"github.com/tenantkit/tenantkit/tenant"
)

// Transport returns an http.RoundTripper that sends the tenant of each
// request's context to the next service with p (tenant.Relay or a
// *tenant.Assertion), on top of base (http.DefaultTransport when nil).
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
// RoundTripper contract requires.
func Transport(base http.RoundTripper, p tenant.Propagator) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, p: p}
}

type transport struct {
	base http.RoundTripper
	p    tenant.Propagator
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	_, send, err := tenant.CheckOutgoing(ctx, headerCarrier(req.Header), t.p)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("httpmw: %s %s: %w", req.Method, req.URL.Redacted(), err)
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
		closeBody(req)
		return nil, fmt.Errorf("httpmw: %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	return t.base.RoundTrip(out)
}

// closeBody honours the RoundTripper rule that the body is closed even when
// the request is refused.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

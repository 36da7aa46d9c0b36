package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// ProofIssuer is the Issuer of a Tenant taken from an authorizer context
// (tenant.Tenant.Issuer): the credential that proved it was checked by the
// API Gateway authorizer, and the Tenant holds no token of its own, so
// tenant.Relay never sends one on; the tenant reaches other services as a
// signed assertion.
const ProofIssuer = "urn:tenantkit:apigateway-authorizer"

// Adapter runs an http.Handler for API Gateway and ALB events. Its methods
// are the Lambda handlers of the event types; all are safe for concurrent
// use.
type Adapter struct {
	h        http.Handler
	reverify bool
	spoof    tenant.NameSet
}

// New returns an Adapter that serves h. By default it trusts the
// authorizer context of tenantkit's authorizer (package authorizer): the
// request is served with that tenant in its context, spoofable tenant
// headers removed, and a request without an authorizer context is answered
// 401. That is right only when API Gateway is the function's sole invoker
// (its resource policy allows no one else): whoever can invoke the
// function directly can write any authorizer context. [WithReverify]
// verifies the token again instead.
func New(h http.Handler, opts ...Option) (a *Adapter, err error) {
	if h == nil || reflect.ValueOf(h).Kind() == reflect.Pointer && reflect.ValueOf(h).IsNil() {
		return nil, fmt.Errorf("%w: nil handler", ErrInvalidOption)
	}
	var cfg config
	for _, o := range opts {
		if o == nil {
			cfg.fail("a nil Option")
			continue
		}
		o(&cfg)
	}
	if cfg.invalid != nil {
		return nil, cfg.invalid
	}
	a = &Adapter{h: h}
	if cfg.verifier != nil {
		// httpmw.Authenticate panics on an invalid AuthOption; report it
		// as an error of New.
		defer func() {
			if r := recover(); r != nil {
				a, err = nil, fmt.Errorf("%w: WithReverify: %v", ErrInvalidOption, r)
			}
		}()
		a.h = httpmw.Authenticate(cfg.verifier, cfg.authOpts...)(h)
		a.reverify = true
		return a, nil
	}
	names := append(tenant.SpoofableNames(), tenant.AssertionKey)
	a.spoof = tenant.NewNameSet(append(names, cfg.spoof...)...)
	return a, nil
}

// RESTProxy is the handler of an API Gateway REST API proxy integration
// (payload format 1.0). The tenant comes from requestContext.authorizer.
func (a *Adapter) RESTProxy(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	var w responseWriter
	rc := ev.RequestContext
	if a.reverify {
		rc.Authorizer = nil // unverified in this mode: nobody may read it
	}
	r, err := restRequest(context.WithValue(ctx, restKey{}, rc), ev)
	if err != nil {
		badRequest(&w)
	} else {
		a.serve(&w, r, restTenant(ev.RequestContext.Authorizer))
	}
	hdr, body, b64 := w.result()
	return events.APIGatewayProxyResponse{StatusCode: w.status, MultiValueHeaders: hdr, Body: body, IsBase64Encoded: b64}, nil
}

// HTTPAPI is the handler of an API Gateway HTTP API integration (payload
// format 2.0). The tenant comes from requestContext.authorizer.lambda.
func (a *Adapter) HTTPAPI(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	var w responseWriter
	rc := ev.RequestContext
	if a.reverify {
		rc.Authorizer = nil
	}
	r, err := httpRequest(context.WithValue(ctx, httpKey{}, rc), ev)
	if err != nil {
		badRequest(&w)
	} else {
		var lambdaCtx map[string]any
		if ev.RequestContext.Authorizer != nil {
			lambdaCtx = ev.RequestContext.Authorizer.Lambda
		}
		a.serve(&w, r, v2Tenant(lambdaCtx))
	}
	hdr, body, b64 := w.result()
	resp := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Body: body, IsBase64Encoded: b64, Headers: map[string]string{}}
	for k, vs := range hdr {
		if k == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	return resp, nil
}

// ALB is the handler of an Application Load Balancer target group. An ALB
// passes no authorizer context, so without [WithReverify] every request is
// answered 401. Responses use multiValueHeaders exactly when the request
// did (the target group's multi-value headers setting).
func (a *Adapter) ALB(ctx context.Context, ev events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
	var w responseWriter
	r, err := albRequest(context.WithValue(ctx, albKey{}, ev.RequestContext), ev)
	if err != nil {
		badRequest(&w)
	} else {
		a.serve(&w, r, noContext)
	}
	hdr, body, b64 := w.result()
	resp := events.ALBTargetGroupResponse{
		StatusCode:        w.status,
		StatusDescription: strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		Body:              body,
		IsBase64Encoded:   b64,
	}
	if ev.MultiValueHeaders != nil {
		resp.MultiValueHeaders = hdr
	} else {
		resp.Headers = make(map[string]string, len(hdr))
		for k, vs := range hdr {
			if k == "Set-Cookie" {
				resp.Headers[k] = vs[0] // one cookie is all a single-value header carries
				continue
			}
			resp.Headers[k] = strings.Join(vs, ",")
		}
	}
	return resp, nil
}

type (
	restKey struct{}
	httpKey struct{}
	albKey  struct{}
)

// RESTRequestContext returns the requestContext of the REST API event a
// request came from. With [WithReverify] its Authorizer is nil: that mode
// does not check it.
func RESTRequestContext(ctx context.Context) (events.APIGatewayProxyRequestContext, bool) {
	rc, ok := ctx.Value(restKey{}).(events.APIGatewayProxyRequestContext)
	return rc, ok
}

// HTTPAPIRequestContext returns the requestContext of the HTTP API event a
// request came from. With [WithReverify] its Authorizer is nil.
func HTTPAPIRequestContext(ctx context.Context) (events.APIGatewayV2HTTPRequestContext, bool) {
	rc, ok := ctx.Value(httpKey{}).(events.APIGatewayV2HTTPRequestContext)
	return rc, ok
}

// ALBRequestContext returns the requestContext of the ALB event a request
// came from.
func ALBRequestContext(ctx context.Context) (events.ALBTargetGroupRequestContext, bool) {
	rc, ok := ctx.Value(albKey{}).(events.ALBTargetGroupRequestContext)
	return rc, ok
}

// errNoContext is the error of a request that carries no authorizer context.
var errNoContext = errors.New("no authorizer context")

// noContext is the tenant function of events without an authorizer.
func noContext() (tenant.Tenant, error) { return tenant.Tenant{}, errNoContext }

// serve runs the handler for r with the tenant that tenantOf proves (in
// the trusting mode) or with the handler wrapped by httpmw.Authenticate.
func (a *Adapter) serve(w *responseWriter, r *http.Request, tenantOf func() (tenant.Tenant, error)) {
	if a.reverify {
		a.h.ServeHTTP(w, r)
		return
	}
	for k := range r.Header {
		if a.spoof.Contains(k) {
			delete(r.Header, k)
		}
	}
	t, err := tenantOf()
	if err != nil {
		unauthorized(w)
		return
	}
	ctx := r.Context()
	telemetry.SetSpanTenant(trace.SpanFromContext(ctx), t)
	a.h.ServeHTTP(w, r.WithContext(tenant.NewContext(ctx, t)))
}

// restTenant reads the tenant of a REST API authorizer context, whose
// values API Gateway flattens into requestContext.authorizer beside
// principalId.
func restTenant(m map[string]any) func() (tenant.Tenant, error) {
	return func() (tenant.Tenant, error) {
		t, err := contextTenant(m)
		if err != nil {
			return t, err
		}
		// tenantkit's authorizer sets principalId to the tenant ID; a
		// context that disagrees came from another authorizer.
		if p, ok := m["principalId"]; ok {
			if s, _ := p.(string); s != t.ID() {
				return tenant.Tenant{}, errors.New("principalId is not the tenant ID")
			}
		}
		return t, nil
	}
}

func v2Tenant(m map[string]any) func() (tenant.Tenant, error) {
	return func() (tenant.Tenant, error) { return contextTenant(m) }
}

// contextTenant proves the tenant of an authorizer context.
func contextTenant(m map[string]any) (tenant.Tenant, error) {
	if m == nil {
		return tenant.Tenant{}, errNoContext
	}
	id, ok1 := m[authorizer.ContextTenantID].(string)
	tier, ok2 := m[authorizer.ContextTier].(string)
	if !ok1 || !ok2 || id == "" {
		return tenant.Tenant{}, errNoContext
	}
	// The authorizer verified the credential; this Tenant records that
	// proof and carries no token that could be relayed.
	t, err := tenant.Verified(id, tier, tenant.Proof{Issuer: ProofIssuer})
	if err != nil {
		return tenant.Tenant{}, err
	}
	if p, ok := m[authorizer.ContextPlan]; ok {
		s, _ := p.(string)
		if t, err = t.WithPlan(s); err != nil {
			return tenant.Tenant{}, err
		}
	}
	return t, nil
}

// restRequest builds the request of a REST API proxy event, whose path and
// query parameters API Gateway has decoded.
func restRequest(ctx context.Context, ev events.APIGatewayProxyRequest) (*http.Request, error) {
	q := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		q[k] = append(q[k], vs...)
	}
	for k, v := range ev.QueryStringParameters {
		if _, ok := q[k]; !ok {
			q[k] = []string{v}
		}
	}
	u := &url.URL{Path: ev.Path, RawQuery: q.Encode()}
	rc := ev.RequestContext
	return newRequest(ctx, ev.HTTPMethod, u, mergeHeaders(ev.Headers, ev.MultiValueHeaders), ev.Body, ev.IsBase64Encoded, rc.DomainName, rc.Identity.SourceIP)
}

// httpRequest builds the request of an HTTP API event: raw path and query
// as received, headers with repeated values joined by commas, cookies
// apart.
func httpRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	u, err := url.Parse(ev.RawPath)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return nil, errors.New("bad rawPath")
	}
	u.RawQuery = ev.RawQueryString
	h := mergeHeaders(ev.Headers, nil)
	if len(ev.Cookies) > 0 {
		h.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	rc := ev.RequestContext
	return newRequest(ctx, rc.HTTP.Method, u, h, ev.Body, ev.IsBase64Encoded, rc.DomainName, rc.HTTP.SourceIP)
}

// albRequest builds the request of an ALB event, whose query parameters
// the load balancer passes as received (still percent-encoded).
func albRequest(ctx context.Context, ev events.ALBTargetGroupRequest) (*http.Request, error) {
	var raw []string
	if ev.MultiValueQueryStringParameters != nil {
		for k, vs := range ev.MultiValueQueryStringParameters {
			for _, v := range vs {
				raw = append(raw, k+"="+v)
			}
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			raw = append(raw, k+"="+v)
		}
	}
	u, err := url.Parse(ev.Path)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return nil, errors.New("bad path")
	}
	u.RawQuery = strings.Join(raw, "&")
	h := mergeHeaders(ev.Headers, ev.MultiValueHeaders)
	return newRequest(ctx, ev.HTTPMethod, u, h, ev.Body, ev.IsBase64Encoded, "", h.Get("X-Forwarded-For"))
}

func newRequest(ctx context.Context, method string, u *url.URL, h http.Header, body string, b64 bool, host, sourceIP string) (*http.Request, error) {
	if method == "" || !validMethod(method) {
		return nil, errors.New("bad method")
	}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	data := []byte(body)
	if b64 {
		var err error
		if data, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, errors.New("bad base64 body")
		}
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	r.Header = h
	r.RequestURI = u.RequestURI()
	r.Host = host
	if hh := h.Get("Host"); hh != "" {
		r.Host = hh
	}
	if ip := strings.TrimSpace(strings.Split(sourceIP, ",")[0]); net.ParseIP(ip) != nil {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}

func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return len(m) <= 16
}

// mergeHeaders returns the union of an event's single- and multi-value
// headers in canonical form. Where both name a header with different
// values both are kept, so that a repeated credential is refused rather
// than one of the two picked.
func mergeHeaders(single map[string]string, multi map[string][]string) http.Header {
	h := make(http.Header, len(single)+len(multi))
	for k, vs := range multi {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range single {
		ck := http.CanonicalHeaderKey(k)
		if !containsString(h[ck], v) {
			h.Add(ck, v)
		}
	}
	return h
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// responseWriter collects a handler's response.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

// Flush is a no-op: a buffered Lambda response is sent whole.
func (w *responseWriter) Flush() {}

// result returns the headers and the body, base64-encoded unless it is
// text.
func (w *responseWriter) result() (http.Header, string, bool) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.Header()
	b := w.body.Bytes()
	if len(b) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", http.DetectContentType(b))
	}
	if textual(h.Get("Content-Type")) && utf8.Valid(b) {
		return h, string(b), false
	}
	return h, base64.StdEncoding.EncodeToString(b), true
}

// textual reports whether a body of media type ct goes as text.
func textual(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-www-form-urlencoded", mt == "image/svg+xml":
		return true
	}
	return false
}

// unauthorized answers a request that proves no tenant.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeProblem(w, http.StatusUnauthorized, "Unauthorized", "the request carries no verified tenant")
}

func badRequest(w http.ResponseWriter) {
	writeProblem(w, http.StatusBadRequest, "Bad Request", "the event is not a well-formed request")
}

func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	body, _ := json.Marshal(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

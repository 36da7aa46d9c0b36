package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
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
	r, err := restRequest(ev)
	if err != nil {
		badRequest(&w)
	} else {
		a.serve(context.WithValue(ctx, restKey{}, rc), &w, r, restTenant(ev.RequestContext.Authorizer))
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
	r, err := httpRequest(ev)
	if err != nil {
		badRequest(&w)
	} else {
		var lambdaCtx map[string]any
		if ev.RequestContext.Authorizer != nil {
			lambdaCtx = ev.RequestContext.Authorizer.Lambda
		}
		a.serve(context.WithValue(ctx, httpKey{}, rc), &w, r, v2Tenant(lambdaCtx))
	}
	hdr, body, b64 := w.result()
	resp := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Body: body, IsBase64Encoded: b64, Headers: make(map[string]string, len(hdr))}
	for k, vs := range hdr {
		// Set-Cookie values go in the cookies list: joined with commas
		// they would break at the comma of an Expires date.
		if strings.EqualFold(k, "Set-Cookie") {
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
	r, err := albRequest(ev)
	if err != nil {
		badRequest(&w)
	} else {
		a.serve(context.WithValue(ctx, albKey{}, ev.RequestContext), &w, r, noContext)
	}
	hdr, body, b64 := w.result()
	desc := strconv.Itoa(w.status)
	if text := http.StatusText(w.status); text != "" {
		desc += " " + text
	}
	resp := events.ALBTargetGroupResponse{StatusCode: w.status, StatusDescription: desc, Body: body, IsBase64Encoded: b64}
	if ev.MultiValueHeaders != nil {
		resp.MultiValueHeaders = hdr
	} else {
		resp.Headers = make(map[string]string, len(hdr))
		for k, vs := range hdr {
			if strings.EqualFold(k, "Set-Cookie") {
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

// serve runs the handler for r under ctx with the tenant that tenantOf
// proves (in the trusting mode) or with the handler wrapped by
// httpmw.Authenticate.
func (a *Adapter) serve(ctx context.Context, w *responseWriter, r *http.Request, tenantOf func() (tenant.Tenant, error)) {
	if a.reverify {
		a.h.ServeHTTP(w, r.WithContext(ctx))
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

// restRequest builds the request of a REST API proxy event, whose query
// parameters API Gateway has decoded.
func restRequest(ev events.APIGatewayProxyRequest) (*http.Request, error) {
	u, err := requestURL(ev.Path, restQuery(ev.QueryStringParameters, ev.MultiValueQueryStringParameters))
	if err != nil {
		return nil, err
	}
	rc := ev.RequestContext
	return newRequest(ev.HTTPMethod, u, mergeHeaders(ev.Headers, ev.MultiValueHeaders), ev.Body, ev.IsBase64Encoded, rc.DomainName, rc.Identity.SourceIP)
}

// restQuery encodes the query of a REST API event. The multi-value map
// holds every value of a key and wins where both maps name it; the single
// map fills in the keys it lacks. Keys come out sorted, as url.Values.Encode
// writes them.
func restQuery(single map[string]string, multi map[string][]string) string {
	if len(single) == 0 && len(multi) == 0 {
		return ""
	}
	keys := make([]string, 0, len(multi)+len(single))
	size := querySize(nil, multi)
	for k := range multi {
		keys = append(keys, k)
	}
	for k, v := range single {
		if _, ok := multi[k]; !ok {
			keys = append(keys, k)
			size += len(k) + len(v) + 2
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(size)
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	for _, k := range keys {
		if vs, ok := multi[k]; ok {
			for _, v := range vs {
				add(k, v)
			}
		} else {
			add(k, single[k])
		}
	}
	return b.String()
}

// querySize is the length of the query of the parameters before any
// escaping, so that the common query needs one allocation.
func querySize(single map[string]string, multi map[string][]string) int {
	n := 0
	for k, v := range single {
		n += len(k) + len(v) + 2
	}
	for k, vs := range multi {
		for _, v := range vs {
			n += len(k) + len(v) + 2
		}
	}
	return n
}

// httpRequest builds the request of an HTTP API event: query as received,
// headers with repeated values joined by commas, cookies apart.
func httpRequest(ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	u, err := requestURL(ev.RawPath, ev.RawQueryString)
	if err != nil {
		return nil, err
	}
	h := mergeHeaders(ev.Headers, nil)
	if len(ev.Cookies) > 0 {
		h["Cookie"] = []string{strings.Join(ev.Cookies, "; ")}
	}
	rc := ev.RequestContext
	return newRequest(rc.HTTP.Method, u, h, ev.Body, ev.IsBase64Encoded, rc.DomainName, rc.HTTP.SourceIP)
}

// albRequest builds the request of an ALB event, whose query parameters
// the load balancer passes as received (still percent-encoded). The
// client's address is the last entry of X-Forwarded-For: the load balancer
// appends it to whatever the client sent in that header.
func albRequest(ev events.ALBTargetGroupRequest) (*http.Request, error) {
	u, err := requestURL(ev.Path, albQuery(ev.QueryStringParameters, ev.MultiValueQueryStringParameters))
	if err != nil {
		return nil, err
	}
	h := mergeHeaders(ev.Headers, ev.MultiValueHeaders)
	var client string
	if xff := h["X-Forwarded-For"]; len(xff) > 0 {
		last := xff[len(xff)-1]
		client = last[strings.LastIndexByte(last, ',')+1:]
	}
	return newRequest(ev.HTTPMethod, u, h, ev.Body, ev.IsBase64Encoded, "", client)
}

// albQuery joins the query parameters of an ALB event, of whichever map
// the target group fills, in the order of their sorted keys.
func albQuery(single map[string]string, multi map[string][]string) string {
	n := len(single)
	if multi != nil {
		n = len(multi)
	}
	if n == 0 {
		return ""
	}
	keys := make([]string, 0, n)
	if multi != nil {
		for k := range multi {
			keys = append(keys, k)
		}
	} else {
		for k := range single {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	if multi != nil {
		b.Grow(querySize(nil, multi))
	} else {
		b.Grow(querySize(single, nil))
	}
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	for _, k := range keys {
		if multi != nil {
			for _, v := range multi[k] {
				add(k, v)
			}
		} else {
			add(k, single[k])
		}
	}
	return b.String()
}

// requestURL returns the URL of an event's path and raw query. REST APIs
// and ALBs pass the path percent-encoded as the client sent it; HTTP APIs
// pass rawPath decoded, despite its name. The path is read as encoded, and
// every byte that cannot stand literally in an encoded path (a '%' not
// followed by two hex digits, '?', '#', a space, a control or non-ASCII
// byte) is escaped first, so that a decoded path is neither refused nor
// cut short at a '?' or '#'. The path is parsed as net/http's server parses
// a request target: "//host/x" is a path, never a host.
func requestURL(path, rawQuery string) (*url.URL, error) {
	p := escapePath(path)
	if !strings.HasPrefix(p, "/") {
		// A path that starts with a scheme is an absolute URL, which no
		// front end passes as a path.
		if seg, _, _ := strings.Cut(p, "/"); strings.Contains(seg, ":") {
			return nil, errors.New("bad path")
		}
		p = "/" + p
	}
	u, err := url.ParseRequestURI(p)
	if err != nil {
		return nil, errors.New("bad path")
	}
	u.RawQuery = rawQuery
	return u, nil
}

// escapePath percent-encodes the bytes of p that an encoded path cannot
// hold literally. It returns p itself when there are none.
func escapePath(p string) string {
	i := 0
	for i < len(p) && !mustEscape(p, i) {
		i++
	}
	if i == len(p) {
		return p
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(p)+8)
	b = append(b, p[:i]...)
	for ; i < len(p); i++ {
		if c := p[i]; mustEscape(p, i) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// mustEscape reports whether p[i] may not appear literally in an encoded
// path: anything but an RFC 3986 pchar, '/', the '[' and ']' that
// net/url leaves alone, and a '%' that starts an escape.
func mustEscape(p string, i int) bool {
	switch c := p[i]; {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return false
	case c == '%':
		return i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2])
	default:
		return !strings.ContainsRune("-._~!$&'()*+,;=:@/[]", rune(c))
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// newRequest builds the server request of an event, as net/http's server
// would have: Host moved from the header map into Request.Host (two
// different hosts are refused), RemoteAddr from the address the front end
// saw, and a body that is never nil. The caller sets its context.
func newRequest(method string, u *url.URL, h http.Header, body string, b64 bool, host, remote string) (*http.Request, error) {
	if method == "" || !validMethod(method) {
		return nil, errors.New("bad method")
	}
	r := &http.Request{
		Method: method, URL: u, RequestURI: u.RequestURI(),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: host, Body: http.NoBody,
	}
	switch {
	case b64:
		data, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, errors.New("bad base64 body")
		}
		if len(data) > 0 {
			r.Body, r.ContentLength = &bytesBody{*bytes.NewReader(data)}, int64(len(data))
		}
	case body != "":
		r.Body, r.ContentLength = &stringBody{*strings.NewReader(body)}, int64(len(body))
	}
	if hosts := h["Host"]; len(hosts) > 0 {
		if len(hosts) > 1 {
			return nil, errors.New("two Host headers")
		}
		r.Host = hosts[0]
		delete(h, "Host")
	}
	ip := strings.TrimSpace(remote)
	if a, err := netip.ParseAddr(ip); err == nil && a.Zone() == "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}

// stringBody and bytesBody are request bodies in one allocation each.
type (
	stringBody struct{ strings.Reader }
	bytesBody  struct{ bytes.Reader }
)

func (*stringBody) Close() error { return nil }
func (*bytesBody) Close() error  { return nil }

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
// than one of the two picked. All values share one backing array; each
// header's slice is capped at its end, so that appending to one never
// overwrites the next.
func mergeHeaders(single map[string]string, multi map[string][]string) http.Header {
	n := len(single)
	for _, vs := range multi {
		n += len(vs)
	}
	h := make(http.Header, max(len(single), len(multi)))
	all := make([]string, 0, n)
	for k, vs := range multi {
		if len(vs) == 0 {
			continue
		}
		ck := http.CanonicalHeaderKey(k)
		if old, ok := h[ck]; ok {
			h[ck] = append(old, vs...)
			continue
		}
		i := len(all)
		all = append(all, vs...)
		h[ck] = all[i:len(all):len(all)]
	}
	for k, v := range single {
		ck := http.CanonicalHeaderKey(k)
		old, ok := h[ck]
		switch {
		case slices.Contains(old, v):
		case ok:
			h[ck] = append(old, v)
		default:
			i := len(all)
			all = append(all, v)
			h[ck] = all[i : i+1 : i+1]
		}
	}
	return h
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

// WriteHeader records the first final status. A 1xx status is an interim
// response that net/http's server sends ahead of the final one; a Lambda
// response has no place for it, so it is dropped.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 {
		return
	}
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

// textual reports whether a body of media type ct goes as text. Only the
// type and subtype count: parameters, well formed or not, are ignored
// (mime.ParseMediaType would allocate a map per response to read them).
func textual(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	if mt == "" {
		return true
	}
	hasPrefix := func(p string) bool { return len(mt) >= len(p) && strings.EqualFold(mt[:len(p)], p) }
	hasSuffix := func(s string) bool { return len(mt) >= len(s) && strings.EqualFold(mt[len(mt)-len(s):], s) }
	switch {
	case hasPrefix("text/"), hasSuffix("+json"), hasSuffix("+xml"),
		strings.EqualFold(mt, "application/json"), strings.EqualFold(mt, "application/xml"),
		strings.EqualFold(mt, "application/javascript"), strings.EqualFold(mt, "application/x-www-form-urlencoded"):
		return true
	}
	return false
}

// The problem bodies are fixed, so they are written out here rather than
// marshalled for each refused request.
const (
	unauthorizedBody = `{"detail":"the request carries no verified tenant","status":401,"title":"Unauthorized","type":"about:blank"}`
	badRequestBody   = `{"detail":"the event is not a well-formed request","status":400,"title":"Bad Request","type":"about:blank"}`
)

// unauthorized answers a request that proves no tenant.
func unauthorized(w http.ResponseWriter) {
	w.Header()["Www-Authenticate"] = []string{`Bearer error="invalid_token"`}
	writeProblem(w, http.StatusUnauthorized, unauthorizedBody)
}

func badRequest(w http.ResponseWriter) {
	writeProblem(w, http.StatusBadRequest, badRequestBody)
}

func writeProblem(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

package lambdahttp_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
	"github.com/tenantkit/tenantkit/lambdaedge/lambdahttp"
)

// urlSeen is what a handler reads of a request's target.
type urlSeen struct{ path, escaped, query, requestURI, host string }

func urlRecorder(got *urlSeen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*got = urlSeen{r.URL.Path, r.URL.EscapedPath(), r.URL.RawQuery, r.RequestURI, r.URL.Host}
	})
}

func v2Context() map[string]any {
	return map[string]any{authorizer.ContextTenantID: "acme", authorizer.ContextTier: "pro"}
}

// A path that starts with two slashes is a path, as net/http's server reads
// a request target, not a host: a handler must not route //evil.example/admin
// as /admin.
func TestDoubleSlashPathIsNotAHost(t *testing.T) {
	var got urlSeen
	a, err := lambdahttp.New(urlRecorder(&got))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	ev := restEvent(restContext("acme", "pro"))
	ev.Path = "//evil.example/admin"
	resp, _ := a.RESTProxy(ctx, ev)
	if resp.StatusCode != http.StatusOK || got.path != "//evil.example/admin" || got.host != "" {
		t.Errorf("REST: status %d, handler saw %+v", resp.StatusCode, got)
	}

	v2 := httpEvent(v2Context())
	v2.RawPath = "//evil.example/admin"
	r2, _ := a.HTTPAPI(ctx, v2)
	if r2.StatusCode != http.StatusOK || got.path != "//evil.example/admin" || got.host != "" {
		t.Errorf("HTTP API: status %d, handler saw %+v", r2.StatusCode, got)
	}

	alb, err := lambdahttp.New(urlRecorder(&got), lambdahttp.WithReverify(authntest.NewVerifier(t, authntest.NewIssuer(t, authntest.WithAlgorithm("ES256")))))
	if err != nil {
		t.Fatal(err)
	}
	ae := albEvent(false, nil)
	ae.Path = "//evil.example/admin"
	got = urlSeen{}
	if r3, _ := alb.ALB(ctx, ae); r3.StatusCode != http.StatusUnauthorized {
		t.Errorf("ALB: status %d, want 401 from the verifier (the event is well formed)", r3.StatusCode)
	}
}

// REST APIs and ALBs pass the path percent-encoded as the client sent it;
// HTTP APIs pass rawPath decoded. Either way the handler gets a URL whose
// Path is decoded and whose EscapedPath keeps what the client encoded, and
// a decoded '%', '#' or space never breaks or truncates the path.
func TestPathEncoding(t *testing.T) {
	var got urlSeen
	a, err := lambdahttp.New(urlRecorder(&got))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		in, path, escaped string
	}{
		{"/files/a%2Fb", "/files/a/b", "/files/a%2Fb"},
		{"/files/a%20b", "/files/a b", "/files/a%20b"},
		{"/files/a b", "/files/a b", "/files/a%20b"},
		{"/files/100%", "/files/100%", "/files/100%25"},
		{"/files/c#sharp", "/files/c#sharp", "/files/c%23sharp"},
		{"/files/why?", "/files/why?", "/files/why%3F"},
		{"/files/caf\u00e9", "/files/caf\u00e9", "/files/caf%C3%A9"},
		{"/files/%zz", "/files/%zz", "/files/%25zz"},
	}
	for _, c := range cases {
		ev := restEvent(restContext("acme", "pro"))
		ev.Path = c.in
		resp, _ := a.RESTProxy(ctx, ev)
		if resp.StatusCode != http.StatusOK || got.path != c.path || got.escaped != c.escaped || got.query != "q=a+b" || got.requestURI != c.escaped+"?q=a+b" {
			t.Errorf("REST path %q: status %d, handler saw %+v", c.in, resp.StatusCode, got)
		}
		v2 := httpEvent(v2Context())
		v2.RawPath = c.in
		r2, _ := a.HTTPAPI(ctx, v2)
		if r2.StatusCode != http.StatusOK || got.path != c.path || got.escaped != c.escaped || got.query != "q=a%20b" || got.requestURI != c.escaped+"?q=a%20b" {
			t.Errorf("HTTP API rawPath %q: status %d, handler saw %+v", c.in, r2.StatusCode, got)
		}
	}
	// A '#' in a raw query string is data, not the start of a fragment.
	v2 := httpEvent(v2Context())
	v2.RawQueryString = "tag=c#&page=2"
	if r2, _ := a.HTTPAPI(ctx, v2); r2.StatusCode != http.StatusOK || got.query != "tag=c#&page=2" {
		t.Errorf("HTTP API rawQueryString with '#': status %d, handler saw %+v", r2.StatusCode, got)
	}
}

// An ALB appends the address of the client it saw to X-Forwarded-For, after
// whatever the client sent in that header: only the last entry is the
// load balancer's.
func TestALBRemoteAddrIsNotSpoofable(t *testing.T) {
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	a := newAdapter(t, lambdahttp.WithReverify(authntest.NewVerifier(t, iss)))
	good := "Bearer " + iss.Token("acme", "pro")
	for _, multi := range []bool{false, true} {
		ev := albEvent(multi, map[string]string{"authorization": good, "x-forwarded-for": "203.0.113.66, 198.51.100.7"})
		resp, _ := a.ALB(context.Background(), ev)
		_, s := decode(t, resp.StatusCode, resp.Body, resp.IsBase64Encoded)
		if s.Remote != "198.51.100.7:0" {
			t.Errorf("multi %v: RemoteAddr %q, want the entry the ALB appended", multi, s.Remote)
		}
	}
	// Two X-Forwarded-For lines: the ALB's entry is the last of the last.
	ev := albEvent(true, map[string]string{"authorization": good})
	ev.MultiValueHeaders["x-forwarded-for"] = []string{"198.51.100.9", "203.0.113.66, 198.51.100.7"}
	resp, _ := a.ALB(context.Background(), ev)
	if _, s := decode(t, resp.StatusCode, resp.Body, resp.IsBase64Encoded); s.Remote != "198.51.100.7:0" {
		t.Errorf("two header lines: RemoteAddr %q", s.Remote)
	}
}

// As net/http's server does, the adapter moves Host into Request.Host and
// out of the header map, and refuses a request with two different hosts.
func TestHostHeader(t *testing.T) {
	var hostHeader, host string
	a, err := lambdahttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hostHeader, host = r.Header.Get("Host"), r.Host
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, _ := a.RESTProxy(ctx, restEvent(restContext("acme", "pro")))
	if resp.StatusCode != http.StatusOK || host != "api.example.com" || hostHeader != "" {
		t.Errorf("REST: status %d, Host %q, Host header %q", resp.StatusCode, host, hostHeader)
	}
	ev := restEvent(restContext("acme", "pro"))
	ev.MultiValueHeaders["Host"] = []string{"api.example.com", "internal.example"}
	if resp, _ := a.RESTProxy(ctx, ev); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("two hosts: status %d, want 400", resp.StatusCode)
	}
}

// A handler that sends 103 Early Hints before its response answers with
// the final status, as under net/http's server.
func TestInformationalStatusIsNotTheResponse(t *testing.T) {
	a, err := lambdahttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusInternalServerError) // ignored: the status is sent
		_, _ = io.WriteString(w, "made")
	}))
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := a.RESTProxy(context.Background(), restEvent(restContext("acme", "pro")))
	if resp.StatusCode != http.StatusCreated || resp.Body != "made" {
		t.Fatalf("status %d, body %q; want 201", resp.StatusCode, resp.Body)
	}
}

// Responses of a handler that writes nothing, or only a status.
func TestEmptyResponses(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"nothing":     func(w http.ResponseWriter, r *http.Request) {},
		"status only": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) },
	} {
		a, err := lambdahttp.New(h)
		if err != nil {
			t.Fatal(err)
		}
		want := http.StatusOK
		if name == "status only" {
			want = http.StatusNoContent
		}
		resp, _ := a.RESTProxy(context.Background(), restEvent(restContext("acme", "pro")))
		if resp.StatusCode != want || resp.Body != "" || resp.IsBase64Encoded || resp.MultiValueHeaders["Content-Type"] != nil {
			t.Errorf("%s: %+v", name, resp)
		}
	}
}

// Set-Cookie reaches the HTTP API's cookies list under any spelling of the
// header name; it is never comma-joined, which would break cookies whose
// Expires holds a comma.
func TestHTTPAPISetCookieAnyCase(t *testing.T) {
	a, err := lambdahttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["set-cookie"] = []string{"a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := a.HTTPAPI(context.Background(), httpEvent(v2Context()))
	if len(resp.Cookies) != 2 || len(resp.Headers) != 0 {
		t.Fatalf("cookies %q, headers %q", resp.Cookies, resp.Headers)
	}
}

// HTTP API request cookies reach the handler as one Cookie header.
func TestHTTPAPIRequestCookies(t *testing.T) {
	var cookies []*http.Cookie
	a, err := lambdahttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cookies = r.Cookies() }))
	if err != nil {
		t.Fatal(err)
	}
	ev := httpEvent(v2Context())
	ev.Cookies = []string{"session=s1", "theme=dark"}
	_, _ = a.HTTPAPI(context.Background(), ev)
	if len(cookies) != 2 || cookies[0].Value != "s1" || cookies[1].Value != "dark" {
		t.Fatalf("cookies %v", cookies)
	}
}

// The status line of an ALB response has no trailing space for a code
// without a registered reason phrase.
func TestALBStatusDescription(t *testing.T) {
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	a, err := lambdahttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(599) }), lambdahttp.WithReverify(authntest.NewVerifier(t, iss)))
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := a.ALB(context.Background(), albEvent(false, map[string]string{"authorization": "Bearer " + iss.Token("acme", "pro")}))
	if resp.StatusCode != 599 || resp.StatusDescription != "599" {
		t.Fatalf("status %d %q", resp.StatusCode, resp.StatusDescription)
	}
}

// Bodies: base64 in, and out exactly for what is not text.
func TestBodies(t *testing.T) {
	var got []byte
	var length int64
	bin := []byte{0, 1, 2, 0xff, 0xfe}
	ct := ""
	a, err := lambdahttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		length = r.ContentLength
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		_, _ = w.Write(got)
	}))
	if err != nil {
		t.Fatal(err)
	}
	ev := restEvent(restContext("acme", "pro"))
	ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(bin), true
	resp, _ := a.RESTProxy(context.Background(), ev)
	if string(got) != string(bin) || length != int64(len(bin)) || !resp.IsBase64Encoded || resp.Body != ev.Body {
		t.Fatalf("binary: read %q (length %d), answered %+v", got, length, resp)
	}
	for _, c := range []struct {
		ct, body string
		b64      bool
	}{
		{"text/plain; charset=utf-8", "héllo", false},
		{"Application/JSON", `{"a":1}`, false},
		{"application/vnd.api+json", `{"a":1}`, false},
		{"application/problem+json; charset=utf-8", `{"a":1}`, false},
		{"text/html;charset", "<p>", false},
		{"text/plain", "\xff\xfe", true}, // not UTF-8: sent as bytes
		{"application/octet-stream", "abc", true},
		{"image/png", "abc", true},
		{"", "plain words", false}, // detected as text/plain
	} {
		ct = c.ct
		ev := restEvent(restContext("acme", "pro"))
		ev.Body, ev.IsBase64Encoded = c.body, false
		resp, _ := a.RESTProxy(context.Background(), ev)
		body := resp.Body
		if resp.IsBase64Encoded {
			b, _ := base64.StdEncoding.DecodeString(resp.Body)
			body = string(b)
		}
		if resp.IsBase64Encoded != c.b64 || body != c.body {
			t.Errorf("Content-Type %q: base64 %v body %q, want %v", c.ct, resp.IsBase64Encoded, resp.Body, c.b64)
		}
	}
}

// The tenant header is removed wherever the event puts it: in either map,
// in any case, with '_' for '-', and with different values in the two maps.
func TestSpoofableHeadersInEveryMap(t *testing.T) {
	a := newAdapter(t)
	ctx := context.Background()
	names := []string{"X-Tenant-ID", "x-tenant-id", "X-TENANT-ID", "x_tenant_id", "X-Tenant_Id", "tenant-assertion", "TENANT-ASSERTION", "x-amzn-tenant-id"}
	for _, n := range names {
		for _, where := range []string{"single", "multi", "both"} {
			ev := restEvent(restContext("acme", "pro"))
			switch where {
			case "single":
				ev.Headers[n] = "initech"
			case "multi":
				ev.MultiValueHeaders[n] = []string{"initech", "globex"}
			case "both":
				ev.Headers[n] = "initech"
				ev.MultiValueHeaders[strings.ToUpper(n)] = []string{"globex"}
			}
			resp, _ := a.RESTProxy(ctx, ev)
			_, s := decode(t, resp.StatusCode, resp.Body, resp.IsBase64Encoded)
			checkTenant(t, s, "acme", "pro", lambdahttp.ProofIssuer)

			v2 := httpEvent(v2Context())
			v2.Headers[n] = "initech"
			r2, _ := a.HTTPAPI(ctx, v2)
			_, s = decode(t, r2.StatusCode, r2.Body, r2.IsBase64Encoded)
			checkTenant(t, s, "acme", "pro", lambdahttp.ProofIssuer)
		}
	}
	// In the ALB's multi-value map only: still no tenant without proof.
	ev := albEvent(true, nil)
	ev.MultiValueHeaders["X-Tenant-ID"] = []string{"acme"}
	if resp, _ := a.ALB(ctx, ev); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ALB: status %d", resp.StatusCode)
	}
}

// REST API queries: the multi-value map wins where both name a key, and
// the single map fills in keys the multi-value one lacks.
func TestRESTQuery(t *testing.T) {
	var got urlSeen
	a, err := lambdahttp.New(urlRecorder(&got))
	if err != nil {
		t.Fatal(err)
	}
	ev := restEvent(restContext("acme", "pro"))
	ev.MultiValueQueryStringParameters = map[string][]string{"id": {"1", "2"}, "q": {"a&b=c"}}
	ev.QueryStringParameters = map[string]string{"id": "2", "q": "a&b=c", "only": "x y"}
	_, _ = a.RESTProxy(context.Background(), ev)
	if got.query != "id=1&id=2&only=x+y&q=a%26b%3Dc" {
		t.Fatalf("query %q", got.query)
	}
}

// ALB responses use the form of the request, single or multi-value.
func TestALBResponseForm(t *testing.T) {
	iss := authntest.NewIssuer(t, authntest.WithAlgorithm("ES256"))
	a := newAdapter(t, lambdahttp.WithReverify(authntest.NewVerifier(t, iss)))
	good := "Bearer " + iss.Token("acme", "pro")
	ev := albEvent(true, map[string]string{"authorization": good})
	ev.MultiValueQueryStringParameters = map[string][]string{"q": {"a%20b", "c"}}
	resp, _ := a.ALB(context.Background(), ev)
	_, s := decode(t, resp.StatusCode, resp.Body, resp.IsBase64Encoded)
	if s.Query != "q=a%20b&q=c" || resp.Headers != nil || len(resp.MultiValueHeaders["X-Multi"]) != 2 {
		t.Fatalf("multi-value: query %q, response %+v", s.Query, resp)
	}
	ev = albEvent(false, map[string]string{"authorization": good})
	resp, _ = a.ALB(context.Background(), ev)
	if resp.MultiValueHeaders != nil || resp.Headers["X-Multi"] != "x,y" || resp.Headers["Set-Cookie"] != "a=1" {
		t.Fatalf("single-value: %+v", resp)
	}
}

// Whatever path and query an event carries, the handler either gets a
// request whose URL has no host and whose escaped path decodes to its
// path, or the event is refused as malformed.
func FuzzEventTarget(f *testing.F) {
	for _, s := range []string{"/orders/42", "//evil.example/x", "/a%2Fb", "/100%", "/c#d?e", "http://x/y", "caf\u00e9", ""} {
		f.Add(s, "q=a%20b")
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		var got urlSeen
		var ok bool
		a, err := lambdahttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ok = true
			got = urlSeen{r.URL.Path, r.URL.EscapedPath(), r.URL.RawQuery, r.RequestURI, r.URL.Host}
		}))
		if err != nil {
			t.Fatal(err)
		}
		ev := httpEvent(v2Context())
		ev.RawPath, ev.RawQueryString = path, query
		resp, _ := a.HTTPAPI(context.Background(), ev)
		if !ok {
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("handler not run, status %d", resp.StatusCode)
			}
			return
		}
		dec, err := url.PathUnescape(got.escaped)
		if err != nil || dec != got.path || got.host != "" || !strings.HasPrefix(got.path, "/") || got.query != query {
			t.Fatalf("path %q query %q: handler saw %+v", path, query, got)
		}
	})
}

package httpmw_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

// sink is a loopback server that redirects "/" to the URL in its "to"
// query parameter with the status in "code", and records, for every other
// path, the credential headers it receives in any key case.
type sink struct {
	srv  *httptest.Server
	port string
	mu   sync.Mutex
	got  []string // "<path> <header>" for every credential value received
	hits int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		code := 302
		fmt.Sscan(r.URL.Query().Get("code"), &code)
		http.Redirect(w, r, r.URL.Query().Get("to"), code)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits++
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Tenant-Assertion") {
			for range vs {
				s.got = append(s.got, r.URL.Path+" "+k)
			}
		}
	}
	_, _ = io.WriteString(w, "ok")
}

func (s *sink) take() (hits int, got []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hits, got = s.hits, s.got
	s.hits, s.got = 0, nil
	return hits, got
}

// startSink starts a sink on 127.0.0.1, speaking HTTP/1.1 or, with h2c,
// unencrypted HTTP/2 only.
func startSink(t *testing.T, h2c bool) *sink {
	t.Helper()
	s := &sink{}
	s.srv = httptest.NewUnstartedServer(s)
	if h2c {
		s.srv.Config.Protocols = new(http.Protocols)
		s.srv.Config.Protocols.SetUnencryptedHTTP2(true)
	}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	_, s.port, _ = net.SplitHostPort(s.srv.Listener.Addr().String())
	return s
}

// clientTransport is the base transport for one protocol.
func clientTransport(t *testing.T, h2c bool) *http.Transport {
	tr := &http.Transport{}
	if h2c {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// TestTransportRedirects: a redirect to another origin (another port, or
// localhost for 127.0.0.1) never carries a tenant credential, neither the
// one Transport injects nor one the caller put on the first request; a
// redirect within the origin does. Every redirect status, both formats,
// HTTP/1.1 and h2c.
func TestTransportRedirects(t *testing.T) {
	f := newFixture(t)
	a := newRingAssertion(t, "orders")
	acme := f.Tenant(t, "acme", "")
	for _, proto := range []string{"http1", "h2c"} {
		h2c := proto == "h2c"
		origin, other := startSink(t, h2c), startSink(t, h2c)
		targets := []struct {
			name  string
			url   string
			s     *sink
			leaks bool // the target is the caller's origin: credentials go there
		}{
			{"same origin", "http://127.0.0.1:" + origin.port + "/sink", origin, true},
			{"another port", "http://127.0.0.1:" + other.port + "/sink", other, false},
			{"localhost, another port", "http://localhost:" + other.port + "/sink", other, false},
			{"localhost, same port", "http://localhost:" + origin.port + "/sink", origin, false},
		}
		for _, format := range []string{"relay", "assertion"} {
			var p tenant.Propagator = tenant.Relay{Verifier: f.v}
			if format == "assertion" {
				p = a
			}
			client := &http.Client{Transport: httpmw.Transport(clientTransport(t, h2c), p)}
			for _, callerSet := range []bool{false, true} {
				for _, code := range []int{301, 302, 303, 307, 308} {
					for _, tg := range targets {
						name := fmt.Sprintf("%s/%s/caller-set=%v/%d/%s", proto, format, callerSet, code, tg.name)
						t.Run(name, func(t *testing.T) {
							u := "http://127.0.0.1:" + origin.port + "/?code=" + fmt.Sprint(code) + "&to=" + url.QueryEscape(tg.url)
							req, _ := http.NewRequestWithContext(tenant.NewContext(context.Background(), acme), http.MethodGet, u, nil)
							if callerSet {
								// The caller's own credential for the same
								// tenant, which net/http copies to every
								// hop on the same host name, under a
								// lower-case key.
								_ = p.Inject(req.Context(), httpHeader(req.Header))
								for _, k := range []string{"Authorization", "Tenant-Assertion"} {
									if v, ok := req.Header[k]; ok {
										delete(req.Header, k)
										req.Header[strings.ToLower(k)] = v
									}
								}
							}
							resp, err := client.Do(req)
							if err != nil {
								t.Fatal(err)
							}
							b, _ := io.ReadAll(resp.Body)
							resp.Body.Close()
							if resp.StatusCode != 200 || string(b) != "ok" {
								t.Fatalf("%d %q", resp.StatusCode, b)
							}
							hits, got := tg.s.take()
							if hits != 1 {
								t.Fatalf("%d hits at the target", hits)
							}
							if tg.leaks && len(got) != 1 {
								t.Fatalf("same-origin hop got credentials %v, want one", got)
							}
							if !tg.leaks && len(got) != 0 {
								t.Fatalf("credential sent to another origin: %v", got)
							}
						})
					}
				}
			}
		}
	}
}

// httpHeader is a carrier over a canonical http.Header.
type httpHeader http.Header

func (h httpHeader) Get(k string) string { return http.Header(h).Get(k) }
func (h httpHeader) Set(k, v string)     { http.Header(h).Set(k, v) }
func (h httpHeader) Keys() []string {
	var ks []string
	for k := range h {
		ks = append(ks, k)
	}
	return ks
}

// TestTransportDestinations: WithAllowedHosts and WithDestinationCheck
// refuse a request, or a redirect hop, to any other destination with
// ErrDestination before anything is sent, and close its body.
func TestTransportDestinations(t *testing.T) {
	f := newFixture(t)
	acme := f.Tenant(t, "acme", "")
	origin, other := startSink(t, false), startSink(t, false)
	relay := tenant.Relay{Verifier: f.v}
	cases := []struct {
		name string
		opts []httpmw.TransportOption
		url  string
		ok   bool
	}{
		{"host allowed", []httpmw.TransportOption{httpmw.WithAllowedHosts("127.0.0.1")}, "http://127.0.0.1:" + other.port + "/sink", true},
		{"host in another case with a trailing dot", []httpmw.TransportOption{httpmw.WithAllowedHosts("LocalHost.")}, "http://localhost:" + other.port + "/sink", true},
		{"host not allowed", []httpmw.TransportOption{httpmw.WithAllowedHosts("127.0.0.1")}, "http://localhost:" + other.port + "/sink", false},
		{"host:port allowed", []httpmw.TransportOption{httpmw.WithAllowedHosts("127.0.0.1:" + other.port)}, "http://127.0.0.1:" + other.port + "/sink", true},
		{"another port", []httpmw.TransportOption{httpmw.WithAllowedHosts("127.0.0.1:" + origin.port)}, "http://127.0.0.1:" + other.port + "/sink", false},
		{"two lists add up", []httpmw.TransportOption{httpmw.WithAllowedHosts("orders.internal"), httpmw.WithAllowedHosts("localhost")}, "http://localhost:" + other.port + "/sink", true},
		{"check refuses", []httpmw.TransportOption{httpmw.WithDestinationCheck(func(u *url.URL) bool { return u.Scheme == "https" })}, "http://127.0.0.1:" + other.port + "/sink", false},
		{"check allows", []httpmw.TransportOption{httpmw.WithDestinationCheck(func(u *url.URL) bool { return u.Port() == other.port })}, "http://127.0.0.1:" + other.port + "/sink", true},
		{"hosts and check must both pass", []httpmw.TransportOption{httpmw.WithAllowedHosts("127.0.0.1"), httpmw.WithDestinationCheck(func(*url.URL) bool { return false })}, "http://127.0.0.1:" + other.port + "/sink", false},
		{"redirect to a host not allowed", []httpmw.TransportOption{httpmw.WithAllowedHosts("127.0.0.1")},
			"http://127.0.0.1:" + origin.port + "/?to=" + url.QueryEscape("http://localhost:"+other.port+"/sink"), false},
		{"tenant-supplied webhook URL", []httpmw.TransportOption{httpmw.WithDestinationCheck(func(u *url.URL) bool { return strings.HasSuffix(u.Hostname(), ".internal") })},
			"http://127.0.0.1:" + other.port + "/sink", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := &http.Client{Transport: httpmw.Transport(nil, relay, tc.opts...)}
			body := &closeTracker{Reader: strings.NewReader("x")}
			req, _ := http.NewRequestWithContext(tenant.NewContext(context.Background(), acme), http.MethodPost, tc.url, body)
			resp, err := client.Do(req)
			hits, got := other.take()
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if hits != 1 || len(got) != 1 {
					t.Fatalf("hits %d, credentials %v", hits, got)
				}
				return
			}
			if !errors.Is(err, httpmw.ErrDestination) || hits != 0 {
				t.Fatalf("err = %v, hits %d; want ErrDestination and nothing sent", err, hits)
			}
			if !body.closed.Load() {
				t.Fatal("refused request's body not closed")
			}
		})
	}
}

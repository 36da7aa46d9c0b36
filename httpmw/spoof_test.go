package httpmw_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/httpmw"
)

// spoofedNames are header names a client can use to pass itself off as a
// tenant; each must be invisible to the handler, as a header or a trailer.
// grpcmw's TestServerSpoofableKeys runs the same names as metadata keys.
var spoofedNames = []string{
	"X-Tenant-ID", "Tenant-ID", "X-Tenant_ID", "Tenant_ID", "x_tenant_id", "X-TENANT-ID",
	"X-Forwarded-Tenant", "X-Tenant", "Tenant", "X-Amzn-Tenant-Id", "X-Scope-OrgID",
	"X-Tenant-ID-Bin", "X-Tenant-Tier", "Tenant_Assertion",
}

// visible reports the spoofed names the handler can still read in r, in
// any letter case, as headers or as trailers (after reading the body).
func visible(r *http.Request, names []string) []string {
	_, _ = io.Copy(io.Discard, r.Body)
	var seen []string
	for _, m := range []struct {
		what string
		h    http.Header
	}{{"header", r.Header}, {"trailer", r.Trailer}} {
		for k, vs := range m.h {
			for _, n := range names {
				if strings.EqualFold(k, n) && len(vs) > 0 && vs[0] != "" {
					seen = append(seen, m.what+" "+k)
				}
			}
		}
	}
	return seen
}

// spoofServer serves Authenticate over a real listener, HTTP/1.1 or h2c;
// the handler answers with the spoofed names it can read.
func spoofServer(t *testing.T, f *fixture, h2c bool, names []string, opts ...httpmw.AuthOption) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(httpmw.Authenticate(f.v, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(visible(r, names))
	})))
	if h2c {
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// TestAuthenticateSpoofableVariants: spoofable names in any letter case,
// with '_' for '-', the documented aliases and "-bin" variants, sent as
// headers or as trailers (declared, as HTTP/2 requires), never reach the
// handler, over HTTP/1.1 and h2c.
func TestAuthenticateSpoofableVariants(t *testing.T) {
	f := newFixture(t)
	for _, proto := range []string{"http1", "h2c"} {
		h2c := proto == "h2c"
		srv := spoofServer(t, f, h2c, spoofedNames)
		client := &http.Client{Transport: clientTransport(t, h2c)}
		for _, where := range []string{"header", "trailer"} {
			t.Run(proto+"/"+where, func(t *testing.T) {
				body := io.Reader(strings.NewReader("payload"))
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, io.NopCloser(body))
				req.ContentLength = -1 // chunked, so trailers can follow
				req.Header.Set("Authorization", "Bearer "+f.token("acme", ""))
				if where == "trailer" {
					req.Trailer = http.Header{}
				}
				for _, n := range spoofedNames {
					if where == "header" {
						req.Header[n] = []string{"victim"}
					} else {
						req.Trailer[n] = []string{"victim"}
					}
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var seen []string
				if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil || resp.StatusCode != 200 {
					t.Fatalf("status %d, %v", resp.StatusCode, err)
				}
				if len(seen) != 0 {
					t.Fatalf("handler read %v", seen)
				}
			})
		}
	}
}

// TestAuthenticateUndeclaredTrailers: HTTP/1.1 delivers trailers that the
// request never declared, once the body is read; none that is spoofable
// reaches the handler, and an ordinary trailer still does.
func TestAuthenticateUndeclaredTrailers(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(httpmw.Authenticate(f.v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen := visible(r, spoofedNames)
		_ = json.NewEncoder(w).Encode(map[string]any{"seen": seen, "legit": r.Trailer.Get("X-Checksum")})
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", f.token("acme", ""))
	b.WriteString("7\r\npayload\r\n0\r\nX-Checksum: abc\r\n")
	for _, n := range spoofedNames {
		fmt.Fprintf(&b, "%s: victim\r\n", n)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Seen  []string
		Legit string
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if len(got.Seen) != 0 || got.Legit != "abc" {
		t.Fatalf("handler read %v, legit trailer %q", got.Seen, got.Legit)
	}
}

// TestAuthenticateSpoofableOptions: WithSpoofableHeaders adds to the
// defaults; WithSpoofableHeadersOnly replaces them.
func TestAuthenticateSpoofableOptions(t *testing.T) {
	f := newFixture(t)
	names := []string{"X-Org", "X-Tenant-ID", "Tenant-Assertion"}
	for _, tc := range []struct {
		name string
		opt  httpmw.AuthOption
		want []string // names the handler can read
	}{
		{"add", httpmw.WithSpoofableHeaders("x_org"), nil},
		{"replace", httpmw.WithSpoofableHeadersOnly("X-Org"), []string{"header X-Tenant-Id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := httpmw.Authenticate(f.v, tc.opt)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = json.NewEncoder(w).Encode(visible(r, names))
			}))
			rec := do(t, h, http.Header{"Authorization": {"Bearer " + f.token("acme", "")}, "X-Org": {"victim"}, "X-Tenant-Id": {"victim"}, "Tenant-Assertion": {"x.y.z"}})
			var seen []string
			_ = json.Unmarshal(rec.Body.Bytes(), &seen)
			if rec.Code != 200 || fmt.Sprint(seen) != fmt.Sprint(tc.want) {
				t.Fatalf("status %d, handler read %v, want %v", rec.Code, seen, tc.want)
			}
		})
	}
}

// TestAuthenticateRepeatedCredentialCases: one credential header under two
// key cases is as ambiguous as one repeated.
func TestAuthenticateRepeatedCredentialCases(t *testing.T) {
	f := newFixture(t)
	h := httpmw.Authenticate(f.v)(http.HandlerFunc(whoami))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header["Authorization"] = []string{"Bearer " + f.token("acme", "")}
	req.Header["authorization"] = []string{"Bearer " + f.token("globex", "")}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", rec.Code)
	}
}

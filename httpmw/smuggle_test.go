package httpmw_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

// smuggleCase is one attempt to send a tenant credential the caller's
// context does not own. grpcmw's TestClientSmuggledCredentials runs the
// same table through the gRPC interceptors.
type smuggleCase struct {
	name       string
	format     string // "relay" or "assertion": what the client propagates
	tenantless bool   // the context is marked tenant-less instead of acme's
	// add puts credentials on the request; k holds acme's and globex's.
	add func(h http.Header, k creds)
	// ok: the call must go out, and the server must see one credential
	// per format and serve acme; otherwise it is refused with ErrMismatch.
	ok bool
}

type creds struct{ acmeBearer, acmeBearer2, globexBearer, acmeAssertion, globexAssertion string }

var smuggleCases = []smuggleCase{
	{"relay: another tenant's assertion beside the relayed bearer", "relay", false, func(h http.Header, k creds) { h.Set("Tenant-Assertion", k.globexAssertion) }, false},
	{"relay: an assertion of the same tenant it cannot verify", "relay", false, func(h http.Header, k creds) { h.Set("Tenant-Assertion", k.acmeAssertion) }, false},
	{"relay: a lower-case tenant-assertion key", "relay", false, func(h http.Header, k creds) { h["tenant-assertion"] = []string{k.globexAssertion} }, false},
	{"relay: a second Authorization value of another tenant", "relay", false, func(h http.Header, k creds) {
		h.Add("Authorization", "Bearer "+k.acmeBearer)
		h.Add("Authorization", "Bearer "+k.globexBearer)
	}, false},
	{"relay: a lower-case authorization key of another tenant", "relay", false, func(h http.Header, k creds) { h["authorization"] = []string{"Bearer " + k.globexBearer} }, false},
	{"relay: an upper-case AUTHORIZATION key beside the canonical one", "relay", false, func(h http.Header, k creds) {
		h.Set("Authorization", "Bearer "+k.acmeBearer)
		h["AUTHORIZATION"] = []string{"Bearer " + k.globexBearer}
	}, false},
	{"assertion: another tenant's bearer beside the minted assertion", "assertion", false, func(h http.Header, k creds) { h.Set("Authorization", "Bearer "+k.globexBearer) }, false},
	{"assertion: a bearer of the same tenant it cannot verify", "assertion", false, func(h http.Header, k creds) { h["authorization"] = []string{"Bearer " + k.acmeBearer} }, false},
	{"assertion: a second assertion value of another tenant", "assertion", false, func(h http.Header, k creds) {
		h.Add("Tenant-Assertion", k.acmeAssertion)
		h.Add("Tenant-Assertion", k.globexAssertion)
	}, false},
	{"assertion: a lower-case tenant-assertion key of another tenant", "assertion", false, func(h http.Header, k creds) { h["tenant-assertion"] = []string{k.globexAssertion} }, false},
	{"tenant-less: a bearer of some tenant", "relay", true, func(h http.Header, k creds) { h.Set("Authorization", "Bearer "+k.globexBearer) }, false},
	{"tenant-less: an assertion of some tenant", "assertion", true, func(h http.Header, k creds) { h["tenant-assertion"] = []string{k.globexAssertion} }, false},

	{"relay: the tenant's own bearer under two key cases goes out once", "relay", false, func(h http.Header, k creds) {
		h["authorization"] = []string{"Bearer " + k.acmeBearer}
		h["Authorization"] = []string{"Bearer " + k.acmeBearer2}
	}, true},
	{"assertion: the tenant's own assertion under a lower-case key goes out once", "assertion", false, func(h http.Header, k creds) {
		h.Add("Tenant-Assertion", k.acmeAssertion)
		h["tenant-assertion"] = []string{k.acmeAssertion}
	}, true},
	{"assertion: Basic credentials are not a tenant credential", "assertion", false, func(h http.Header, k creds) { h.Set("Authorization", "Basic dXNlcjpwYXNz") }, true},
}

// TestTransportSmuggledCredentials: every tenant credential already on an
// outgoing request, of either format, under any key case, every value, is
// checked against the context's tenant; a request carrying one that does
// not name it is refused before it leaves the process.
func TestTransportSmuggledCredentials(t *testing.T) {
	f := newFixture(t)
	a := newRingAssertion(t, "orders")
	acme := f.Tenant(t, "acme", "")
	acmeAssertion, _ := a.Mint(acme)
	globexAssertion, _ := a.Mint(mustNew(t, "globex", ""))
	k := creds{f.token("acme", ""), f.token("acme", ""), f.token("globex", ""), acmeAssertion, globexAssertion}

	srv, rec := recordingDownstream(t, f.v, a)
	for _, tc := range smuggleCases {
		t.Run(tc.name, func(t *testing.T) {
			var p tenant.Propagator = tenant.Relay{Verifier: f.v}
			if tc.format == "assertion" {
				p = a
			}
			client := &http.Client{Transport: httpmw.Transport(nil, p)}
			ctx := tenant.NewContext(context.Background(), acme)
			if tc.tenantless {
				ctx = tenant.WithoutTenant(context.Background())
			}
			rec.reset()
			body := &closeTracker{Reader: strings.NewReader("x")}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, body)
			tc.add(req.Header, k)
			resp, err := client.Do(req)
			hits, gotAuth, gotAssertion := rec.get()
			if !tc.ok {
				if !errors.Is(err, tenant.ErrMismatch) || hits != 0 {
					if resp != nil {
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						t.Fatalf("sent (hits %d): %d %s", hits, resp.StatusCode, b)
					}
					t.Fatalf("err = %v (hits %d), want ErrMismatch before sending", err, hits)
				}
				if !body.closed.Load() {
					t.Fatal("refused request's body not closed")
				}
				for _, tok := range []string{k.globexBearer, k.acmeBearer, k.globexAssertion} {
					if strings.Contains(err.Error(), tok) {
						t.Fatal("error quotes a credential")
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "acme" || gotAuth > 1 || gotAssertion > 1 {
				t.Fatalf("got %d %q with %d Authorization and %d Tenant-Assertion values", resp.StatusCode, b, gotAuth, gotAssertion)
			}
		})
	}
}

// record is what a recordingDownstream saw.
type record struct {
	mu                    sync.Mutex
	hits, auth, assertion int
	tenant                string
}

func (r *record) reset() {
	r.mu.Lock()
	r.hits, r.auth, r.assertion, r.tenant = 0, 0, 0, ""
	r.mu.Unlock()
}

func (r *record) get() (hits, auth, assertion int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits, r.auth, r.assertion
}

// recordingDownstream is downstream that also records how many values of
// each credential header arrived.
func recordingDownstream(t *testing.T, v tenant.TokenVerifier, a *authn.Assertion) (*httptest.Server, *record) {
	t.Helper()
	rec := &record{}
	var opts []httpmw.AuthOption
	if a != nil {
		opts = append(opts, httpmw.WithAssertion(a))
	}
	auth := httpmw.Authenticate(v, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tn, _ := tenant.FromContext(r.Context())
		rec.mu.Lock()
		rec.tenant = tn.ID()
		rec.mu.Unlock()
		_, _ = io.WriteString(w, tn.ID())
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.hits++
		rec.auth, rec.assertion = len(r.Header.Values("Authorization")), len(r.Header.Values("Tenant-Assertion"))
		rec.mu.Unlock()
		auth.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

package authn_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
)

func TestLoopbackURL(t *testing.T) {
	for _, u := range []string{
		"http://127.0.0.1:8080/jwks.json",
		"http://127.1.2.3/",
		"http://localhost:9000/",
		"http://LocalHost/",
		"http://[::1]:443/",
		"http://[::1]/",
	} {
		if !authn.IsLoopbackURL(u) {
			t.Errorf("IsLoopbackURL(%q) = false, want true", u)
		}
	}
	for _, u := range []string{
		"http://127.evil.com/",
		"http://127.0.0.1.nip.io/",
		"http://localhost.evil.com/",
		"http://localhost.evil.com:80/",
		"http://localhostevil.com/",
		"http://sub.localhost.evil.com/",
		"http://0x7f.1/",
		"http://0x7f000001/",
		"http://2130706433/",
		"http://0177.0.0.1/",
		"http://127.0.0.1@evil.com/",
		"http://localhost@evil.com/",
		"http://localhost:80@evil.com/",
		"http://[::1]@evil.com/",
		"http://[::1].evil.com/",
		"http://evil.com/#@127.0.0.1",
		"http://evil.com/?localhost",
		"http://evil.com\\@127.0.0.1/",
		"https://127.0.0.1/", // not plain http: the https rule applies, not this one
		"ftp://127.0.0.1/",
		"http:127.0.0.1",
		"//127.0.0.1/",
		"http://[::1%25lo]/",
		"",
	} {
		if authn.IsLoopbackURL(u) {
			t.Errorf("IsLoopbackURL(%q) = true, want false", u)
		}
	}
}

func TestFetchURLConfig(t *testing.T) {
	for _, u := range []string{"http://127.evil.com", "http://localhost.evil.com", "http://127.0.0.1@evil.com", "https://", "https:///x", "https://user:pw@issuer.example"} {
		v, err := authn.NewVerifier([]authn.Issuer{{URL: u, AnyAudience: true}})
		if !errors.Is(err, authn.ErrConfig) {
			t.Errorf("issuer URL %q: err = %v, want ErrConfig", u, err)
		}
		if v != nil {
			v.Close()
		}
		v, err = authn.NewVerifier([]authn.Issuer{{URL: "https://issuer.example", JWKSURL: u, AnyAudience: true}})
		if !errors.Is(err, authn.ErrConfig) {
			t.Errorf("JWKS URL %q: err = %v, want ErrConfig", u, err)
		}
		if v != nil {
			v.Close()
		}
	}
}

// plaintextNet is an https issuer plus a network attacker. Every plain-http
// connection, whatever host it names, reaches the attacker's server, which
// serves the attacker's key set and discovery document; TLS connections
// reach the real issuer.
type plaintextNet struct {
	issuer   *httptest.Server // TLS
	mux      *http.ServeMux   // the issuer's routes
	attacker *authntest.Key
	hits     atomic.Int64 // requests the attacker served
	client   *http.Client
}

func newPlaintextNet(t *testing.T) *plaintextNet {
	t.Helper()
	n := &plaintextNet{mux: http.NewServeMux()}
	var err error
	if n.attacker, err = authntest.NewKey("key-1", "RS256"); err != nil {
		t.Fatal(err)
	}
	n.issuer = httptest.NewTLSServer(n.mux)
	t.Cleanup(n.issuer.Close)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.hits.Add(1)
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": n.issuer.URL, "jwks_uri": n.issuer.URL + "/attacker-jwks.json"})
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{n.attacker.JWK()}})
		}
	}))
	t.Cleanup(evil.Close)
	// An https URL the attacker controls (a host with a valid certificate)
	// is not a downgrade; it only serves to finish a downgraded discovery.
	n.mux.HandleFunc("/attacker-jwks.json", func(w http.ResponseWriter, r *http.Request) {
		n.hits.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{n.attacker.JWK()}})
	})
	tr := n.issuer.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs}
	tlsAddr, evilAddr := n.issuer.Listener.Addr().String(), evil.Listener.Addr().String()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == tlsAddr {
			return d.DialContext(ctx, network, addr)
		}
		return d.DialContext(ctx, network, evilAddr)
	}
	n.client = &http.Client{Transport: tr, Timeout: 2 * time.Second}
	return n
}

// forged is a token the attacker signs for any tenant.
func (n *plaintextNet) forged() string {
	return n.attacker.Sign(nil, map[string]any{
		"iss": n.issuer.URL, "aud": "api", "sub": "mallory", "custom:tenant_id": "victim",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	})
}

func (n *plaintextNet) mustRefuse(t *testing.T, is authn.Issuer, opts ...authn.Option) {
	t.Helper()
	opts = append([]authn.Option{authn.WithHTTPClient(n.client), authn.WithFetchTimeout(2 * time.Second)}, opts...)
	v := newVerifier(t, []authn.Issuer{is}, opts...)
	tn, err := v.Verify(context.Background(), n.forged())
	if err == nil {
		t.Fatalf("forged token accepted with keys fetched in plaintext: tenant %v", tn)
	}
	if !errors.Is(err, authn.ErrKeysUnavailable) || !errors.Is(err, authn.ErrFetchRefused) {
		t.Fatalf("err = %v, want ErrKeysUnavailable wrapping ErrFetchRefused", err)
	}
	v.Close()
	if h := n.hits.Load(); h != 0 {
		t.Fatalf("the attacker served %d requests", h)
	}
}

func TestDiscoveredJWKSURLMustBeHTTPS(t *testing.T) {
	n := newPlaintextNet(t)
	n.mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": n.issuer.URL, "jwks_uri": "http://keys.idp.example/jwks.json"})
	})
	n.mustRefuse(t, authn.Issuer{URL: n.issuer.URL, Audiences: []string{"api"}})
}

func TestJWKSRedirectToHTTPRefused(t *testing.T) {
	n := newPlaintextNet(t)
	n.mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://keys.idp.example/jwks.json", http.StatusFound)
	})
	n.mustRefuse(t, authn.Issuer{URL: n.issuer.URL, JWKSURL: n.issuer.URL + "/jwks.json", Audiences: []string{"api"}})
}

func TestDiscoveryRedirectToHTTPRefused(t *testing.T) {
	n := newPlaintextNet(t)
	n.mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://idp.example/.well-known/openid-configuration", http.StatusMovedPermanently)
	})
	n.mustRefuse(t, authn.Issuer{URL: n.issuer.URL, Audiences: []string{"api"}})
}

// A redirect that keeps https is followed, and the user's own CheckRedirect
// still runs.
func TestHTTPSRedirectFollowedAndUserPolicyKept(t *testing.T) {
	n := newPlaintextNet(t)
	real, err := authntest.NewKey("key-1", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	n.mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v2/jwks.json", http.StatusFound)
	})
	n.mux.HandleFunc("/v2/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{real.JWK()}})
	})
	var userCalls atomic.Int64
	client := *n.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { userCalls.Add(1); return nil }
	v := newVerifier(t, []authn.Issuer{{URL: n.issuer.URL, JWKSURL: n.issuer.URL + "/jwks.json", Audiences: []string{"api"}}},
		authn.WithHTTPClient(&client))
	token := real.Sign(nil, map[string]any{
		"iss": n.issuer.URL, "aud": "api", "custom:tenant_id": "acme",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	})
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if userCalls.Load() == 0 {
		t.Fatal("the client's own CheckRedirect was not called")
	}
	if client.CheckRedirect == nil || n.client.CheckRedirect != nil {
		t.Fatal("the configured client was modified")
	}
}

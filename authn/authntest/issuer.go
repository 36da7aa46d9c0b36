package authntest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantkit/tenantkit/authn"
)

// DefaultAudience is the "aud" of the tokens Token mints and the audience
// Issuer.Issuer accepts, unless WithAudience sets another.
const DefaultAudience = "authntest"

// DefaultSubject is the "sub" of minted tokens unless the claims set one.
const DefaultSubject = "user-1"

// TB is the part of testing.TB that NewIssuer, NewVerifier and NewRing use.
// *testing.T, *testing.B, *testing.F and testing.TB satisfy it; the package
// does not import testing, so programs using StartIssuer do not link it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Option configures an Issuer.
type Option func(*config)

type config struct {
	alg      string
	audience string
}

// WithAlgorithm makes the issuer's first key, "key-1", a key for alg
// (RS256, PS256, ES256 or EdDSA; see NewKey) instead of RS256.
func WithAlgorithm(alg string) Option { return func(c *config) { c.alg = alg } }

// WithAudience sets the audience of minted tokens and of Issuer.Issuer
// instead of DefaultAudience.
func WithAudience(aud string) Option { return func(c *config) { c.audience = aud } }

// Outage is how the issuer's discovery and JWKS endpoints fail.
type Outage int

const (
	// NoOutage: the endpoints answer normally.
	NoOutage Outage = iota
	// Unavailable: the endpoints answer 503 Service Unavailable.
	Unavailable
	// Hang: the endpoints accept requests and answer none of them until the
	// client gives up, the outage ends, or the issuer goes down. A verifier
	// fetching keys meanwhile waits up to its fetch timeout, also in Close;
	// end the outage first to close it at once.
	Hang
)

// Issuer is a running OpenID Connect issuer on a loopback port: a
// discovery document at URL()+"/.well-known/openid-configuration", a JWK
// Set at JWKSURL(), and token minting with its keys. Its methods are safe
// for concurrent use.
type Issuer struct {
	addr     string
	url      string
	audience string

	mu        sync.Mutex
	run       *run // nil while down
	signing   *Key
	published []*Key
	extra     []map[string]any // raw JWKs published as they are
	delay     time.Duration
	outage    Outage
	fetches   atomic.Int64
}

// run is one period of serving, from serve to Down.
type run struct {
	srv      *http.Server
	done     chan struct{} // closed when srv.Serve has returned
	release  chan struct{} // closed to end waiting handlers (outage change, Down)
	handlers sync.WaitGroup
}

// StartIssuer starts an issuer on a free loopback port with one signing key,
// "key-1" (RS256 unless WithAlgorithm says otherwise). The caller must Close
// it. Tests use NewIssuer.
func StartIssuer(opts ...Option) (*Issuer, error) {
	c := config{alg: "RS256", audience: DefaultAudience}
	for _, o := range opts {
		o(&c)
	}
	k, err := NewKey("key-1", c.alg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Issuer{addr: ln.Addr().String(), audience: c.audience, signing: k, published: []*Key{k}}
	s.url = "http://" + s.addr
	s.serve(ln)
	return s, nil
}

// NewIssuer starts an issuer as StartIssuer does and closes it when the
// test ends. It fails the test if the issuer cannot start.
func NewIssuer(tb TB, opts ...Option) *Issuer {
	tb.Helper()
	s, err := StartIssuer(opts...)
	if err != nil {
		tb.Fatalf("authntest: start issuer: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

func (s *Issuer) serve(ln net.Listener) {
	rn := &run{done: make(chan struct{}), release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if !s.wait(rn, w, r, 0) {
			return
		}
		writeJSON(w, map[string]any{
			"issuer":                                s.url,
			"jwks_uri":                              s.JWKSURL(),
			"id_token_signing_alg_values_supported": []string{"RS256", "PS256", "ES256", "EdDSA"},
		})
	})
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		delay := s.delay
		keys := make([]any, 0, len(s.published)+len(s.extra))
		for _, k := range s.published {
			keys = append(keys, k.JWK())
		}
		for _, j := range s.extra {
			keys = append(keys, j)
		}
		s.mu.Unlock()
		if !s.wait(rn, w, r, delay) {
			return
		}
		writeJSON(w, map[string]any{"keys": keys})
	})
	rn.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.run = rn
	s.mu.Unlock()
	go func() {
		defer close(rn.done)
		_ = rn.srv.Serve(ln)
	}()
}

// wait applies the outage and the delay to a request; it reports whether
// the handler should answer normally. A request released from waiting is
// aborted: its connection closes without an answer.
func (s *Issuer) wait(rn *run, w http.ResponseWriter, r *http.Request, delay time.Duration) bool {
	s.mu.Lock()
	if s.run != rn { // going down
		s.mu.Unlock()
		return false
	}
	outage, release := s.outage, rn.release
	if outage == NoOutage && delay <= 0 {
		s.mu.Unlock()
		return true
	}
	rn.handlers.Add(1)
	s.mu.Unlock()
	defer rn.handlers.Done()
	switch outage {
	case Unavailable:
		http.Error(w, "issuer unavailable", http.StatusServiceUnavailable)
		return false
	case Hang:
		select {
		case <-release:
			panic(http.ErrAbortHandler)
		case <-r.Context().Done():
			return false
		}
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-release:
		panic(http.ErrAbortHandler)
	case <-r.Context().Done():
		return false
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// URL returns the issuer identifier: the "iss" of its tokens and the base
// of its discovery document.
func (s *Issuer) URL() string { return s.url }

// JWKSURL returns the URL of the issuer's JWK Set.
func (s *Issuer) JWKSURL() string { return s.url + "/jwks.json" }

// Audience returns the audience of the tokens Token mints.
func (s *Issuer) Audience() string { return s.audience }

// Issuer returns the configuration under which an authn.Verifier trusts
// this issuer: its URL, its JWKS URL and its audience.
func (s *Issuer) Issuer() authn.Issuer {
	return authn.Issuer{URL: s.url, JWKSURL: s.JWKSURL(), Audiences: []string{s.audience}}
}

// Verifier returns a verifier that trusts this issuer alone, configured by
// opts. The caller must Close it; tests may use NewVerifier.
func (s *Issuer) Verifier(opts ...authn.Option) (*authn.Verifier, error) {
	return authn.NewVerifier([]authn.Issuer{s.Issuer()}, opts...)
}

// NewVerifier returns s.Verifier(opts...) and closes it when the test ends.
// It fails the test on a configuration error.
func NewVerifier(tb TB, s *Issuer, opts ...authn.Option) *authn.Verifier {
	tb.Helper()
	v, err := s.Verifier(opts...)
	if err != nil {
		tb.Fatalf("authntest: verifier: %v", err)
	}
	tb.Cleanup(func() { _ = v.Close() })
	return v
}

// JWKSFetches returns how many requests for the JWK Set the issuer has
// received, answered or not.
func (s *Issuer) JWKSFetches() int64 { return s.fetches.Load() }

// SigningKey returns the key Token and TokenWithClaims sign with.
func (s *Issuer) SigningKey() *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signing
}

// Key returns the published key with ID kid, or nil if none is published.
func (s *Issuer) Key(kid string) *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.published {
		if k.ID == kid {
			return k
		}
	}
	return nil
}

// Rotate publishes k next to the current keys and makes it the signing
// key; tokens signed with earlier keys keep verifying.
func (s *Issuer) Rotate(k *Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = append(s.published, k)
	s.signing = k
}

// Publish replaces the published key set with keys, and with raw JWKs
// given as maps (for malformed or unusual entries). The signing key is
// unchanged, published or not.
func (s *Issuer) Publish(keys []*Key, raw ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = append([]*Key(nil), keys...)
	s.extra = raw
}

// SetDelay delays every JWK Set response by d (0 for none).
func (s *Issuer) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetOutage makes the discovery and JWKS endpoints fail as o says, until
// it is set back to NoOutage. Requests waiting on an earlier Hang or delay
// end without an answer.
func (s *Issuer) SetOutage(o Outage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = o
	if s.run != nil {
		close(s.run.release)
		s.run.release = make(chan struct{})
	}
}

// Token mints a token for tenant tenantID of the given tier, signed with
// the signing key, with the claims of a Cognito ID token that the
// verifiers of Issuer.Verifier and NewVerifier accept: iss, sub (DefaultSubject), aud (Audience),
// token_use "id", iat (now), exp (in one hour), custom:tenant_id and, when
// tier is not empty, custom:tier.
func (s *Issuer) Token(tenantID, tier string) string {
	c := map[string]any{
		"aud":                    s.audience,
		"token_use":              authn.TokenUseID,
		authn.DefaultTenantClaim: tenantID,
	}
	if tier != "" {
		c[authn.DefaultTierClaim] = tier
	}
	return s.TokenWithClaims(c)
}

// TokenWithClaims mints a token of claims, signed with the signing key.
// Unless claims set them, it adds iss (URL), sub (DefaultSubject), iat (now)
// and exp (in one hour); a claim given with a nil value is left out. It
// adds no audience or tenant.
func (s *Issuer) TokenWithClaims(claims map[string]any) string {
	return s.SigningKey().Sign(nil, s.Claims(claims))
}

// Claims returns claims completed with the defaults TokenWithClaims adds,
// for signing with Key.Sign.
func (s *Issuer) Claims(claims map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": s.url,
		"sub": DefaultSubject,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// Down stops the issuer: connections to its address are refused until Up.
// It returns once every request in progress has ended.
func (s *Issuer) Down() {
	s.mu.Lock()
	rn := s.run
	s.run = nil
	if rn != nil {
		close(rn.release)
	}
	s.mu.Unlock()
	if rn == nil {
		return
	}
	_ = rn.srv.Close()
	<-rn.done
	rn.handlers.Wait()
}

// Up brings a stopped issuer back on the same address, with the same keys.
func (s *Issuer) Up() error {
	s.mu.Lock()
	running := s.run != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	var (
		ln  net.Listener
		err error
	)
	// The port was just released; retry briefly in case the kernel has not
	// made it available again yet.
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			s.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.Join(fmt.Errorf("authntest: listen again on %s", s.addr), err)
}

// Close stops the issuer for good.
func (s *Issuer) Close() { s.Down() }

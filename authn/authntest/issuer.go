// Package oidctest runs a real OpenID Connect issuer on loopback for tests
// and examples: a discovery document, a JWKS endpoint, key rotation, an
// outage switch, and token minting with any claims, header and key.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is a signing key of the test issuer.
type Key struct {
	ID      string
	Alg     string
	Private crypto.Signer
	method  jwt.SigningMethod
}

// NewKey generates a key for alg: RS256 (2048-bit), ES256 or EdDSA.
func NewKey(kid, alg string) (*Key, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case "RS256", "PS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("oidctest: unsupported alg %q", alg)
	}
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, Alg: alg, Private: priv, method: jwt.GetSigningMethod(alg)}, nil
}

// NewRSAKey generates an RS256 key of the given size, including sizes a
// verifier must refuse.
func NewRSAKey(kid string, bits int) (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, Alg: "RS256", Private: priv, method: jwt.SigningMethodRS256}, nil
}

// Sign returns a compact JWS of claims. header entries are added to (or,
// with a nil value, removed from) the default header {"alg", "kid", "typ"}.
func (k *Key) Sign(header, claims map[string]any) string {
	h := map[string]any{"alg": k.Alg, "kid": k.ID, "typ": "JWT"}
	for name, v := range header {
		if v == nil {
			delete(h, name)
		} else {
			h[name] = v
		}
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(claims)
	return k.SignRaw(hb, cb)
}

// SignRaw signs the given header and payload bytes as they are, so tests
// can build tokens no JSON encoder would produce (duplicate members, odd
// spacing).
func (k *Key) SignRaw(header, payload []byte) string {
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := k.method.Sign(signing, k.Private)
	if err != nil {
		panic(fmt.Sprintf("oidctest: sign: %v", err))
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// JWK returns the public JWK of the key.
func (k *Key) JWK() map[string]any {
	j := map[string]any{"kid": k.ID, "alg": k.Alg, "use": "sig"}
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	switch p := k.Private.Public().(type) {
	case *rsa.PublicKey:
		j["kty"], j["n"], j["e"] = "RSA", b64(p.N.Bytes()), b64(big.NewInt(int64(p.E)).Bytes())
	case *ecdsa.PublicKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		raw, _ := p.Bytes() // 0x04 || X || Y
		j["kty"], j["crv"], j["x"], j["y"] = "EC", p.Curve.Params().Name, b64(raw[1:1+size]), b64(raw[1+size:])
	case ed25519.PublicKey:
		j["kty"], j["crv"], j["x"] = "OKP", "Ed25519", b64(p)
	}
	return j
}

// Issuer is a running test issuer.
type Issuer struct {
	addr string
	url  string

	mu        sync.Mutex
	srv       *http.Server
	done      chan struct{}
	signing   *Key
	published []*Key
	extra     []map[string]any // raw JWKs published as they are
	delay     time.Duration
	fetches   atomic.Int64
}

// Start runs an issuer on a free loopback port with one RS256 key "key-1".
func Start() (*Issuer, error) {
	k, err := NewKey("key-1", "RS256")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Issuer{addr: ln.Addr().String(), signing: k, published: []*Key{k}}
	s.url = "http://" + s.addr
	s.serve(ln)
	return s, nil
}

func (s *Issuer) serve(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                s.url,
			"jwks_uri":                              s.JWKSURL(),
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "EdDSA"},
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
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		writeJSON(w, map[string]any{"keys": keys})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	s.mu.Lock()
	s.srv, s.done = srv, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// URL returns the issuer identifier (the "iss" of its tokens).
func (s *Issuer) URL() string { return s.url }

// JWKSURL returns the key set URL.
func (s *Issuer) JWKSURL() string { return s.url + "/jwks.json" }

// JWKSFetches returns how many times the key set was served or requested.
func (s *Issuer) JWKSFetches() int64 { return s.fetches.Load() }

// SigningKey returns the key Token signs with.
func (s *Issuer) SigningKey() *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signing
}

// Rotate publishes k next to the current keys and makes it the signing key.
func (s *Issuer) Rotate(k *Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = append(s.published, k)
	s.signing = k
}

// Publish replaces the published key set with keys, and with raw JWKs
// given as maps (for malformed or unusual entries).
func (s *Issuer) Publish(keys []*Key, raw ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = append([]*Key(nil), keys...)
	s.extra = raw
}

// SetDelay delays every key set response by d.
func (s *Issuer) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Token mints a token with the signing key. Unless claims set them, it
// adds iss (this issuer), sub, iat (now) and exp (in one hour); a claim
// given with a nil value is left out.
func (s *Issuer) Token(claims map[string]any) string {
	return s.SigningKey().Sign(nil, s.Claims(claims))
}

// Claims returns claims completed with the defaults Token adds.
func (s *Issuer) Claims(claims map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": s.url,
		"sub": "user-1",
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
func (s *Issuer) Down() {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
		<-done
	}
}

// Up brings a stopped issuer back on the same address.
func (s *Issuer) Up() error {
	s.mu.Lock()
	running := s.srv != nil
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
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			s.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.Join(errors.New("oidctest: cannot listen again"), err)
}

// Close stops the issuer for good.
func (s *Issuer) Close() { s.Down() }

// Must returns the published key with the given kid, or panics.
func Must(s *Issuer, kid string) *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.published {
		if k.ID == kid {
			return k
		}
	}
	panic("oidctest: no published key " + kid)
}

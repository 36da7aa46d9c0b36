package authntest

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

	"github.com/golang-jwt/jwt/v5"
)

// ErrAlgorithm is returned (wrapped) for a signing algorithm the test
// issuer cannot generate keys for.
var ErrAlgorithm = errors.New("authntest: unsupported algorithm")

// Key is a signing key of a test issuer. A Key built as a literal signs
// with the algorithm named by Alg.
type Key struct {
	ID      string        // the "kid" of its tokens and JWK
	Alg     string        // the JWS algorithm: RS256, PS256, ES256 or EdDSA
	Private crypto.Signer // *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey
}

// NewKey generates a key with ID kid for alg: RS256 or PS256 (2048-bit
// RSA), ES256 (P-256) or EdDSA (Ed25519). Other algorithms are an error
// wrapping ErrAlgorithm.
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
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	}
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, Alg: alg, Private: priv}, nil
}

// NewRSAKey generates an RS256 key of the given size, including sizes a
// verifier must refuse.
func NewRSAKey(kid string, bits int) (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, Alg: "RS256", Private: priv}, nil
}

// Sign returns a compact JWS of claims. header entries are added to (or,
// with a nil value, removed from) the default header {"alg", "kid", "typ":
// "JWT"}. Claims are signed as given: no defaults are added (see
// Issuer.Claims).
func (k *Key) Sign(header, claims map[string]any) string {
	h := map[string]any{"alg": k.Alg, "kid": k.ID, "typ": "JWT"}
	for name, v := range header {
		if v == nil {
			delete(h, name)
		} else {
			h[name] = v
		}
	}
	hb, err := json.Marshal(h)
	if err != nil {
		panic(fmt.Sprintf("authntest: header: %v", err))
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("authntest: claims: %v", err))
	}
	return k.SignRaw(hb, cb)
}

// SignRaw signs the given header and payload bytes as they are, so tests
// can build tokens no JSON encoder would produce (duplicate members, odd
// spacing). It panics if the key cannot sign with its Alg.
func (k *Key) SignRaw(header, payload []byte) string {
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	method := jwt.GetSigningMethod(k.Alg)
	if method == nil {
		panic(fmt.Sprintf("authntest: sign: unknown algorithm %q", k.Alg))
	}
	sig, err := method.Sign(signing, k.Private)
	if err != nil {
		panic(fmt.Sprintf("authntest: sign: %v", err))
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// JWK returns the public JWK of the key, as the issuer publishes it.
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

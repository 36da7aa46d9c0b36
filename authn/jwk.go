package authn

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// minRSABits is the smallest RSA modulus accepted in a JWKS. NIST SP 800-131A
// disallows shorter keys for signatures, and forged 1024-bit keys are within
// reach of a motivated attacker.
const minRSABits = 2048

// publicKey is one verification key of an issuer, bound to the algorithms it
// may verify so that a key can never be used with an algorithm of another
// family (the root of every "algorithm confusion" attack).
type publicKey struct {
	kid string
	alg string // the JWK's "alg", or "" when the JWK does not restrict it
	key any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// accepts reports whether the key may verify a token signed with alg.
func (k *publicKey) accepts(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return key.Curve == elliptic.P256()
		case "ES384":
			return key.Curve == elliptic.P384()
		case "ES512":
			return key.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// jwk holds the members of a JSON Web Key (RFC 7517) that signature
// verification needs.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
}

// parseJWKS decodes a JWK Set and returns its usable signature keys by kid.
// Keys that cannot verify signatures (encryption keys, symmetric keys, keys
// without kid, RSA keys under 2048 bits, unknown types) are skipped rather
// than failing the whole set, so that one odd key published by an issuer
// does not lock out every token. skipped counts them.
func parseJWKS(data []byte) (keys map[string]*publicKey, skipped int, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, 0, fmt.Errorf("decode JWKS: %w", err)
	}
	if set.Keys == nil {
		return nil, 0, errors.New("decode JWKS: no \"keys\" member")
	}
	keys = make(map[string]*publicKey, len(set.Keys))
	for _, raw := range set.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			skipped++
			continue
		}
		pk, err := k.publicKey()
		if err != nil {
			skipped++
			continue
		}
		if _, dup := keys[pk.kid]; dup {
			// Two keys with one kid make the choice ambiguous; trust neither.
			delete(keys, pk.kid)
			skipped += 2
			continue
		}
		keys[pk.kid] = pk
	}
	return keys, skipped, nil
}

func (k *jwk) publicKey() (*publicKey, error) {
	if k.Kid == "" {
		return nil, errors.New("jwk: no kid")
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, errors.New("jwk: not a signature key")
	}
	if k.D != "" {
		// A private key published by mistake is still usable for
		// verification, but an issuer doing that is compromised.
		return nil, errors.New("jwk: private key material published")
	}
	pk := &publicKey{kid: k.Kid, alg: k.Alg}
	switch k.Kty {
	case "RSA":
		n, err := b64uint(k.N)
		if err != nil {
			return nil, err
		}
		e, err := b64uint(k.E)
		if err != nil {
			return nil, err
		}
		if n.BitLen() < minRSABits {
			return nil, fmt.Errorf("jwk: RSA key of %d bits", n.BitLen())
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
			return nil, errors.New("jwk: bad RSA exponent")
		}
		pk.key = &rsa.PublicKey{N: n, E: int(e.Int64())}
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, errors.New("jwk: unsupported curve")
		}
		x, err := b64uint(k.X)
		if err != nil {
			return nil, err
		}
		y, err := b64uint(k.Y)
		if err != nil {
			return nil, err
		}
		// Reject points off the curve: an invalid-curve point can leak
		// nothing here (we only verify), but it is certainly not a key the
		// issuer meant to publish.
		size := (curve.Params().BitSize + 7) / 8
		buf := make([]byte, 1+2*size)
		buf[0] = 4
		if x.BitLen() > 8*size || y.BitLen() > 8*size {
			return nil, errors.New("jwk: EC coordinate too large")
		}
		x.FillBytes(buf[1 : 1+size])
		y.FillBytes(buf[1+size:])
		ek, err := ecdsa.ParseUncompressedPublicKey(curve, buf)
		if err != nil {
			return nil, errors.New("jwk: EC point not on curve")
		}
		pk.key = ek
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, errors.New("jwk: unsupported OKP curve")
		}
		x, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("jwk: bad Ed25519 key")
		}
		pk.key = ed25519.PublicKey(x)
	default:
		return nil, errors.New("jwk: unsupported key type")
	}
	return pk, nil
}

func b64uint(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("jwk: bad base64url integer")
	}
	return new(big.Int).SetBytes(b), nil
}

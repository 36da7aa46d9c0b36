package authn

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
)

// ErrRingKey reports a ring key that cannot be loaded or exported: wrong
// key type, curve or size, bad encoding, missing or invalid kid, an alg
// that does not match the key, or private material where only public was
// expected. It wraps ErrConfig. Its messages never contain key material.
var ErrRingKey = fmt.Errorf("%w: ring key", ErrConfig)

// Limits of what the loaders read; ring key sets are small configuration.
const (
	maxRingKeyInput = 64 << 10
	maxRingKeys     = 64
	maxRingKeyID    = 128
)

// ringJWK is the JSON form of a ring key. Y is set for P-256 keys only, D
// for private keys only.
type ringJWK struct {
	Kty    string   `json:"kty"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y,omitempty"`
	D      string   `json:"d,omitempty"`
	Use    string   `json:"use,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	Alg    string   `json:"alg"`
	Kid    string   `json:"kid"`
}

func ringKeyErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRingKey}, args...)...)
}

// checkRingKeyID accepts 1 to 128 printable ASCII characters other than
// space: a kid that reads the same in logs, headers and JSON.
func checkRingKeyID(id string) error {
	if id == "" {
		return ringKeyErr("no kid")
	}
	if len(id) > maxRingKeyID {
		return ringKeyErr("kid longer than %d bytes", maxRingKeyID)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return ringKeyErr("kid is not printable ASCII")
		}
	}
	return nil
}

// PublicOnly returns k without its private key: the form a receiver holds.
func (k RingKey) PublicOnly() (RingKey, error) {
	_, pub, err := k.public()
	if err != nil {
		return RingKey{}, err
	}
	return RingKey{ID: k.ID, Public: pub}, nil
}

// public validates k for export and returns its algorithm and public key.
func (k RingKey) public() (alg string, pub crypto.PublicKey, err error) {
	if err := checkRingKeyID(k.ID); err != nil {
		return "", nil, err
	}
	pub = k.Public
	if k.Private != nil {
		// Checked first: Public of a short Ed25519 key panics.
		if err := checkPrivate(k.Private); err != nil {
			return "", nil, err
		}
		derived := k.Private.Public()
		if pub != nil && !samePublicKey(pub, derived) {
			return "", nil, ringKeyErr("public key does not match the private key")
		}
		pub = derived
	}
	alg, err = ringAlg(pub)
	return alg, pub, err
}

// ringAlg returns the assertion algorithm of a valid ring public key.
func ringAlg(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return "", ringKeyErr("Ed25519 public key of %d bytes", len(p))
		}
		return "EdDSA", nil
	case *ecdsa.PublicKey:
		if p == nil || p.Curve != elliptic.P256() {
			return "", ringKeyErr("ECDSA key not on P-256")
		}
		if _, err := p.Bytes(); err != nil {
			return "", ringKeyErr("invalid P-256 public key")
		}
		return "ES256", nil
	case nil:
		return "", ringKeyErr("no key")
	default:
		return "", ringKeyErr("unsupported key type %T", pub)
	}
}

func checkPrivate(priv crypto.Signer) error {
	switch p := priv.(type) {
	case ed25519.PrivateKey:
		if len(p) != ed25519.PrivateKeySize {
			return ringKeyErr("Ed25519 private key of %d bytes", len(p))
		}
		// The second half is the public key; a key whose halves disagree
		// signs what no one can verify.
		if !bytes.Equal(ed25519.NewKeyFromSeed(p.Seed())[32:], p[32:]) {
			return ringKeyErr("Ed25519 private key is inconsistent")
		}
	case *ecdsa.PrivateKey:
		if p == nil || p.Curve != elliptic.P256() {
			return ringKeyErr("ECDSA key not on P-256")
		}
		if _, err := p.Bytes(); err != nil {
			return ringKeyErr("invalid P-256 private key")
		}
	default:
		return ringKeyErr("unsupported private key type %T", priv)
	}
	return nil
}

func (k RingKey) jwk(private bool) (*ringJWK, error) {
	alg, pub, err := k.public()
	if err != nil {
		return nil, err
	}
	j := &ringJWK{Use: "sig", Alg: alg, Kid: k.ID}
	enc := base64.RawURLEncoding
	switch p := pub.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", enc.EncodeToString(p)
	case *ecdsa.PublicKey:
		b, _ := p.Bytes() // checked by public
		j.Kty, j.Crv = "EC", "P-256"
		j.X, j.Y = enc.EncodeToString(b[1:33]), enc.EncodeToString(b[33:])
	}
	if private {
		switch p := k.Private.(type) {
		case ed25519.PrivateKey:
			j.D = enc.EncodeToString(p.Seed())
		case *ecdsa.PrivateKey:
			d, _ := p.Bytes() // checked by public
			j.D = enc.EncodeToString(d)
			clear(d)
		default:
			return nil, ringKeyErr("no private key")
		}
	}
	return j, nil
}

// PublicJWK returns the public side of k as a JWK with kid, alg and
// "use":"sig". It never contains private material.
func (k RingKey) PublicJWK() ([]byte, error) {
	j, err := k.jwk(false)
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

// PublicJWKS returns the public sides of keys as a JWK Set, the document
// to publish to receivers (see ParsePublicJWKS). Key IDs must be distinct.
//
// Distributing keys: the public JWK Set is not secret; put it in every
// receiver's configuration. The private key (PrivatePEM or PrivateJWK) is;
// keep it in a secret store and give it only to the services that mint.
//
// Rotating: generate the new key and add its public JWK to every receiver's
// set, so they accept old and new; only then switch the senders to the new
// private key; remove the old public key from the receivers once the last
// assertion signed with it has expired (the assertion TTL, seconds later).
// A sender that signs with a key a receiver does not hold yet is answered
// with ErrUnknownKey or ErrSignature.
func PublicJWKS(keys ...RingKey) ([]byte, error) {
	set := struct {
		Keys []*ringJWK `json:"keys"`
	}{Keys: make([]*ringJWK, 0, len(keys))}
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		j, err := k.jwk(false)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if seen[j.Kid] {
			return nil, ringKeyErr("key %d: kid used twice", i)
		}
		seen[j.Kid] = true
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}

// PrivateJWK returns k, private key included, as a JWK ("d" is the Ed25519
// seed or the P-256 scalar). The result is a secret: store it in a secret
// store, never in configuration or logs.
func (k RingKey) PrivateJWK() ([]byte, error) {
	j, err := k.jwk(true)
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

// PrivatePEM returns the private key of k as a PKCS#8 "PRIVATE KEY" PEM
// block, the format of openssl and most secret stores. PKCS#8 has no place
// for the kid: store it beside the key and pass it to ParsePrivatePEM.
func (k RingKey) PrivatePEM() ([]byte, error) {
	if _, _, err := k.public(); err != nil {
		return nil, err
	}
	if k.Private == nil {
		return nil, ringKeyErr("no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, ringKeyErr("cannot encode the private key")
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivatePEM loads a ring key from a PKCS#8 "PRIVATE KEY" PEM block
// holding an Ed25519 or P-256 key, under the kid id. Anything else (another
// block type, PEM headers, trailing data, RSA or other curves) is refused
// with an error wrapping ErrRingKey.
func ParsePrivatePEM(id string, data []byte) (RingKey, error) {
	if err := checkRingKeyID(id); err != nil {
		return RingKey{}, err
	}
	if len(data) > maxRingKeyInput {
		return RingKey{}, ringKeyErr("PEM input too large")
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return RingKey{}, ringKeyErr("no PEM block")
	}
	defer clear(block.Bytes)
	if len(bytes.TrimSpace(rest)) != 0 {
		return RingKey{}, ringKeyErr("data after the PEM block")
	}
	if block.Type != "PRIVATE KEY" {
		// The type is a label we print to help; it holds no key material.
		return RingKey{}, ringKeyErr("PEM block %.32q is not a PKCS#8 PRIVATE KEY", block.Type)
	}
	if len(block.Headers) != 0 {
		return RingKey{}, ringKeyErr("PEM headers on a PKCS#8 key")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		// x509's message may describe the DER; say only what failed.
		return RingKey{}, ringKeyErr("PEM block is not a valid PKCS#8 key")
	}
	var priv crypto.Signer
	switch p := key.(type) {
	case ed25519.PrivateKey:
		priv = p
	case *ecdsa.PrivateKey:
		priv = p
	default:
		return RingKey{}, ringKeyErr("PKCS#8 key of type %T; want Ed25519 or P-256 ECDSA", key)
	}
	k := RingKey{ID: id, Private: priv}
	if _, _, err := k.public(); err != nil {
		return RingKey{}, err
	}
	return k, nil
}

// ParsePublicJWK loads one public ring key, as written by PublicJWK, into a
// verify-only RingKey. kid and alg are required, alg must be the key's
// (EdDSA for OKP Ed25519, ES256 for EC P-256), and a JWK carrying "d" is
// refused: a private key where a public one belongs has leaked.
func ParsePublicJWK(data []byte) (RingKey, error) {
	if len(data) > maxRingKeyInput {
		return RingKey{}, ringKeyErr("JWK input too large")
	}
	var j ringJWK
	if err := json.Unmarshal(data, &j); err != nil {
		return RingKey{}, ringKeyErr("JWK is not a JSON object of strings")
	}
	return j.load(false)
}

// ParsePrivateJWK loads a ring key, private key included, as written by
// PrivateJWK. It checks what ParsePublicJWK checks, and that "x" (and "y")
// are the public key of "d".
func ParsePrivateJWK(data []byte) (RingKey, error) {
	if len(data) > maxRingKeyInput {
		return RingKey{}, ringKeyErr("JWK input too large")
	}
	var j ringJWK
	if err := json.Unmarshal(data, &j); err != nil {
		return RingKey{}, ringKeyErr("JWK is not a JSON object of strings")
	}
	return j.load(true)
}

// ParsePublicJWKS loads a JWK Set of public ring keys, as written by
// PublicJWKS, in the set's order. Unlike an issuer's JWKS, whose odd keys
// are skipped, this is the service's own configuration: one invalid key,
// a duplicate kid, an empty set or more than 64 keys fail the whole set.
//
// The result goes to NewKeyRing as the accepted keys:
//
//	keys, err := authn.ParsePublicJWKS(jwks)
//	ring, err := authn.NewKeyRing(keys[0], keys[1:]...) // verifies, cannot mint
func ParsePublicJWKS(data []byte) ([]RingKey, error) {
	if len(data) > maxRingKeyInput {
		return nil, ringKeyErr("JWKS input too large")
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, ringKeyErr("JWKS is not a JSON object with a keys array")
	}
	if len(set.Keys) == 0 {
		return nil, ringKeyErr("JWKS has no keys")
	}
	if len(set.Keys) > maxRingKeys {
		return nil, ringKeyErr("JWKS has more than %d keys", maxRingKeys)
	}
	keys := make([]RingKey, 0, len(set.Keys))
	seen := make(map[string]bool, len(set.Keys))
	for i, raw := range set.Keys {
		k, err := ParsePublicJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if seen[k.ID] {
			return nil, ringKeyErr("key %d: kid used twice", i)
		}
		seen[k.ID] = true
		keys = append(keys, k)
	}
	return keys, nil
}

func (j *ringJWK) load(private bool) (RingKey, error) {
	if err := checkRingKeyID(j.Kid); err != nil {
		return RingKey{}, err
	}
	if j.Use != "" && j.Use != "sig" {
		return RingKey{}, ringKeyErr("JWK use is not sig")
	}
	if j.KeyOps != nil {
		want := "verify"
		if private {
			want = "sign"
		}
		if !slices.Contains(j.KeyOps, want) {
			return RingKey{}, ringKeyErr("JWK key_ops lacks %s", want)
		}
	}
	if !private && j.D != "" {
		return RingKey{}, ringKeyErr("public JWK carries private key material")
	}
	if private && j.D == "" {
		return RingKey{}, ringKeyErr("private JWK has no d")
	}
	var alg string
	var pub crypto.PublicKey
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		alg = "EdDSA"
		if j.Y != "" {
			return RingKey{}, ringKeyErr("OKP JWK with y")
		}
		x, err := b64.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return RingKey{}, ringKeyErr("bad Ed25519 x")
		}
		pub = ed25519.PublicKey(x)
	case j.Kty == "EC" && j.Crv == "P-256":
		alg = "ES256"
		x, errX := b64.DecodeString(j.X)
		y, errY := b64.DecodeString(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return RingKey{}, ringKeyErr("bad P-256 x or y")
		}
		p, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return RingKey{}, ringKeyErr("P-256 point not on the curve")
		}
		pub = p
	case j.Kty == "OKP" || j.Kty == "EC":
		return RingKey{}, ringKeyErr("unsupported curve; want OKP Ed25519 or EC P-256")
	default:
		return RingKey{}, ringKeyErr("unsupported kty; want OKP or EC")
	}
	if j.Alg != alg {
		return RingKey{}, ringKeyErr("JWK alg must be %s for this key", alg)
	}
	if !private {
		return RingKey{ID: j.Kid, Public: pub}, nil
	}
	d, err := b64.DecodeString(j.D)
	defer clear(d)
	if err != nil {
		return RingKey{}, ringKeyErr("bad base64url d")
	}
	var priv crypto.Signer
	switch alg {
	case "EdDSA":
		if len(d) != ed25519.SeedSize {
			return RingKey{}, ringKeyErr("Ed25519 d of %d bytes", len(d))
		}
		priv = ed25519.NewKeyFromSeed(d)
	case "ES256":
		p, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
		if err != nil {
			return RingKey{}, ringKeyErr("invalid P-256 d")
		}
		priv = p
	}
	if !samePublicKey(pub, priv.Public()) {
		return RingKey{}, ringKeyErr("JWK x/y is not the public key of d")
	}
	return RingKey{ID: j.Kid, Private: priv}, nil
}

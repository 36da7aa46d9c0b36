package authn_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/tenant"
)

func ecRingKey(t testing.TB, id string) authn.RingKey {
	t.Helper()
	p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return authn.RingKey{ID: id, Private: p}
}

func edRingKey(t testing.TB, id string) authn.RingKey {
	t.Helper()
	k, err := authn.GenerateRingKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mintWith mints an assertion for "orders" with a ring signing with k.
func mintWith(t testing.TB, k authn.RingKey) string {
	t.Helper()
	ring, err := authn.NewKeyRing(k)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := newAssertion(t, ring, "orders").Mint(mustTenant(t, "acme", "gold"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func verifyWith(t testing.TB, tok string, keys ...authn.RingKey) error {
	t.Helper()
	ring, err := authn.NewKeyRing(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	tn, err := newAssertion(t, ring, "orders").Verify(context.Background(), tok)
	if err == nil && tn.ID() != "acme" {
		t.Fatalf("verified tenant %q", tn.ID())
	}
	return err
}

func TestRingKeyPublicRoundTrip(t *testing.T) {
	for name, k := range map[string]authn.RingKey{"EdDSA": edRingKey(t, "k1"), "ES256": ecRingKey(t, "k1")} {
		t.Run(name, func(t *testing.T) {
			b, err := k.PublicJWK()
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m["kid"] != "k1" || m["alg"] != name || m["use"] != "sig" || m["d"] != nil {
				t.Fatalf("public JWK %s", b)
			}
			if name == "EdDSA" && (m["kty"] != "OKP" || m["crv"] != "Ed25519") {
				t.Fatalf("Ed25519 JWK %s", b)
			}
			pub, err := authn.ParsePublicJWK(b)
			if err != nil {
				t.Fatal(err)
			}
			if pub.Private != nil || pub.ID != "k1" {
				t.Fatalf("loaded %+v", pub)
			}
			if err := verifyWith(t, mintWith(t, k), pub); err != nil {
				t.Fatalf("loaded public key rejects the original's assertion: %v", err)
			}
		})
	}
}

func TestRingKeyPrivateRoundTrip(t *testing.T) {
	for name, k := range map[string]authn.RingKey{"EdDSA": edRingKey(t, "k1"), "ES256": ecRingKey(t, "k1")} {
		t.Run(name, func(t *testing.T) {
			p, err := k.PrivatePEM()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(p, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Fatalf("PEM %q", p[:min(len(p), 30)])
			}
			fromPEM, err := authn.ParsePrivatePEM("k1", p)
			if err != nil {
				t.Fatal(err)
			}
			j, err := k.PrivateJWK()
			if err != nil {
				t.Fatal(err)
			}
			fromJWK, err := authn.ParsePrivateJWK(j)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := k.PublicOnly()
			if err != nil {
				t.Fatal(err)
			}
			for src, loaded := range map[string]authn.RingKey{"PEM": fromPEM, "JWK": fromJWK} {
				// The loaded key signs what the original's public key verifies.
				if err := verifyWith(t, mintWith(t, loaded), orig); err != nil {
					t.Errorf("%s: original rejects the loaded key's assertion: %v", src, err)
				}
				// And re-exports to the same public JWK.
				a, _ := k.PublicJWK()
				b, err := loaded.PublicJWK()
				if err != nil || !bytes.Equal(a, b) {
					t.Errorf("%s: public JWK changed: %s vs %s (%v)", src, a, b, err)
				}
			}
			// A private JWK is not accepted where a public one is expected.
			if _, err := authn.ParsePublicJWK(j); !errors.Is(err, authn.ErrRingKey) {
				t.Errorf("ParsePublicJWK(private JWK) = %v", err)
			}
			if _, err := authn.ParsePublicJWKS([]byte(`{"keys":[` + string(j) + `]}`)); !errors.Is(err, authn.ErrRingKey) {
				t.Errorf("ParsePublicJWKS(private JWK) = %v", err)
			}
		})
	}
}

// A receiver holding only the sender's public JWKS verifies its assertions
// and cannot mint; rotation publishes old and new keys together.
func TestRingKeyJWKSReceiverAndRotation(t *testing.T) {
	oldKey, newKey := edRingKey(t, "2025-01"), edRingKey(t, "2025-02")
	jwks, err := authn.PublicJWKS(oldKey, newKey)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(jwks, []byte(`"d"`)) {
		t.Fatalf("public JWKS has private material: %s", jwks)
	}
	keys, err := authn.ParsePublicJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != "2025-01" || keys[1].ID != "2025-02" {
		t.Fatalf("keys %+v", keys)
	}
	ring, err := authn.NewKeyRing(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	recv := newAssertion(t, ring, "orders")
	for _, k := range []authn.RingKey{oldKey, newKey} {
		if _, err := recv.Verify(context.Background(), mintWith(t, k)); err != nil {
			t.Errorf("key %s: %v", k.ID, err)
		}
	}
	if _, err := recv.Mint(mustTenant(t, "acme", "")); !errors.Is(err, authn.ErrConfig) {
		t.Errorf("receiver minted: %v", err)
	}
	// After the old key leaves the set, its assertions stop verifying.
	jwks, _ = authn.PublicJWKS(newKey)
	keys, _ = authn.ParsePublicJWKS(jwks)
	if err := verifyWith(t, mintWith(t, oldKey), keys...); !errors.Is(err, tenant.ErrInvalidToken) {
		t.Errorf("retired key still verifies: %v", err)
	}
	// An unrelated key with the same kid does not verify either.
	impostor := edRingKey(t, "2025-02")
	if err := verifyWith(t, mintWith(t, impostor), keys...); !errors.Is(err, authn.ErrSignature) {
		t.Errorf("impostor: %v", err)
	}
}

func TestRingKeyMalformedJWK(t *testing.T) {
	k := edRingKey(t, "k1")
	good, _ := k.PublicJWK()
	ec := ecRingKey(t, "e1")
	goodEC, _ := ec.PublicJWK()
	goodPriv, _ := k.PrivateJWK()
	edit := func(src []byte, f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(src, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubCases := map[string]string{
		"not JSON":    `{"kty":`,
		"array":       `[]`,
		"wrong kty":   edit(good, func(m map[string]any) { m["kty"] = "RSA" }),
		"oct":         `{"kty":"oct","k":"AAAA","kid":"k1","alg":"HS256"}`,
		"wrong crv":   edit(good, func(m map[string]any) { m["crv"] = "X25519" }),
		"EC on P-384": edit(goodEC, func(m map[string]any) { m["crv"] = "P-384" }),
		"short key":   edit(good, func(m map[string]any) { m["x"] = b64(make([]byte, 31)) }),
		"long key":    edit(good, func(m map[string]any) { m["x"] = b64(make([]byte, 33)) }),
		"bad base64":  edit(good, func(m map[string]any) { m["x"] = "!!" + m["x"].(string)[2:] }),
		"padded base64": edit(good, func(m map[string]any) {
			m["x"] = base64.URLEncoding.EncodeToString(k.Private.Public().(ed25519.PublicKey))
		}),
		"std base64": edit(good, func(m map[string]any) {
			m["x"] = strings.NewReplacer("-", "+", "_", "/").Replace(m["x"].(string)) + "+/"
		}),
		"missing kid":    edit(good, func(m map[string]any) { delete(m, "kid") }),
		"kid with space": edit(good, func(m map[string]any) { m["kid"] = "a b" }),
		"kid too long":   edit(good, func(m map[string]any) { m["kid"] = strings.Repeat("k", 129) }),
		"missing alg":    edit(good, func(m map[string]any) { delete(m, "alg") }),
		"alg mismatch":   edit(good, func(m map[string]any) { m["alg"] = "ES256" }),
		"alg none":       edit(good, func(m map[string]any) { m["alg"] = "none" }),
		"EC alg EdDSA":   edit(goodEC, func(m map[string]any) { m["alg"] = "EdDSA" }),
		"enc key":        edit(good, func(m map[string]any) { m["use"] = "enc" }),
		"key_ops":        edit(good, func(m map[string]any) { m["key_ops"] = []string{"encrypt"} }),
		"OKP with y":     edit(good, func(m map[string]any) { m["y"] = m["x"] }),
		"EC off curve":   edit(goodEC, func(m map[string]any) { m["y"] = b64(bytes.Repeat([]byte{1}, 32)) }),
		"EC short y":     edit(goodEC, func(m map[string]any) { m["y"] = b64(make([]byte, 31)) }),
		"private":        string(goodPriv),
		"kid not string": edit(good, func(m map[string]any) { m["kid"] = 7 }),
		"RSA": edit(good, func(m map[string]any) {
			m["kty"], m["alg"], m["n"], m["e"] = "RSA", "RS256", b64(rsaKey.N.Bytes()), "AQAB"
			delete(m, "crv")
			delete(m, "x")
		}),
	}
	for name, in := range pubCases {
		_, err := authn.ParsePublicJWK([]byte(in))
		if !errors.Is(err, authn.ErrRingKey) || !errors.Is(err, authn.ErrConfig) {
			t.Errorf("%s: ParsePublicJWK = %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), `"x"`) {
			t.Errorf("%s: error quotes input: %v", name, err)
		}
	}
	var m map[string]string
	_ = json.Unmarshal(goodPriv, &m)
	otherSeed := b64(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	privCases := map[string]string{
		"public only":   string(good),
		"short d":       edit(goodPriv, func(m map[string]any) { m["d"] = b64(make([]byte, 31)) }),
		"bad base64 d":  edit(goodPriv, func(m map[string]any) { m["d"] = "*" + m["d"].(string)[1:] }),
		"d of another":  edit(goodPriv, func(m map[string]any) { m["d"] = otherSeed }),
		"missing kid":   edit(goodPriv, func(m map[string]any) { delete(m, "kid") }),
		"verify op":     edit(goodPriv, func(m map[string]any) { m["key_ops"] = []string{"verify"} }),
		"EC d mismatch": edit(goodEC, func(m map[string]any) { m["d"] = b64(bytes.Repeat([]byte{3}, 32)) }),
		"EC d zero":     edit(goodEC, func(m map[string]any) { m["d"] = b64(make([]byte, 32)) }),
	}
	for name, in := range privCases {
		_, err := authn.ParsePrivateJWK([]byte(in))
		if !errors.Is(err, authn.ErrRingKey) {
			t.Errorf("%s: ParsePrivateJWK = %v", name, err)
		}
		// No part of the secret appears in the message.
		if err != nil && (strings.Contains(err.Error(), m["d"]) || strings.Contains(err.Error(), otherSeed)) {
			t.Errorf("%s: error leaks d: %v", name, err)
		}
	}
}

func TestRingKeyMalformedJWKS(t *testing.T) {
	a, _ := edRingKey(t, "a").PublicJWK()
	a2, _ := edRingKey(t, "a").PublicJWK()
	ec, _ := ecRingKey(t, "e").PublicJWK()
	many := make([]string, 65)
	for i := range many {
		j, _ := edRingKey(t, "k"+strings.Repeat("x", i)).PublicJWK()
		many[i] = string(j)
	}
	for name, in := range map[string]string{
		"not JSON":      `{"keys":[`,
		"no keys":       `{}`,
		"empty":         `{"keys":[]}`,
		"keys object":   `{"keys":{}}`,
		"duplicate kid": `{"keys":[` + string(a) + `,` + string(a2) + `]}`,
		"one bad key":   `{"keys":[` + string(a) + `,{"kty":"OKP","crv":"Ed25519","x":"AA","kid":"b","alg":"EdDSA"}]}`,
		"too many":      `{"keys":[` + strings.Join(many, ",") + `]}`,
		"too large":     `{"keys":[` + string(a) + `],"pad":"` + strings.Repeat(" ", 64<<10) + `"}`,
	} {
		if _, err := authn.ParsePublicJWKS([]byte(in)); !errors.Is(err, authn.ErrRingKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A set may mix algorithms; NewKeyRing is what refuses to mix them.
	keys, err := authn.ParsePublicJWKS([]byte(`{"keys":[` + string(a) + `,` + string(ec) + `]}`))
	if err != nil || len(keys) != 2 {
		t.Fatalf("mixed set: %v", err)
	}
	if _, err := authn.NewKeyRing(keys[0], keys[1]); !errors.Is(err, authn.ErrConfig) {
		t.Errorf("mixed ring: %v", err)
	}
}

func TestRingKeyMalformedPEM(t *testing.T) {
	k := edRingKey(t, "k1")
	good, _ := k.PrivatePEM()
	block, _ := pem.Decode(good)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(p256)
	pkix, _ := x509.MarshalPKIXPublicKey(k.Private.Public())
	enc := func(typ string, der []byte, h map[string]string) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der, Headers: h})
	}
	for name, in := range map[string][]byte{
		"empty":        nil,
		"not PEM":      []byte("MC4CAQAwBQYDK2VwBCIEI"),
		"public key":   enc("PUBLIC KEY", pkix, nil),
		"certificate":  enc("CERTIFICATE", block.Bytes, nil),
		"SEC1 EC":      enc("EC PRIVATE KEY", sec1, nil),
		"RSA PKCS#8":   enc("PRIVATE KEY", rsaDER, nil),
		"P-384 PKCS#8": enc("PRIVATE KEY", p384DER, nil),
		"garbage DER":  enc("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x00}, nil),
		"truncated":    enc("PRIVATE KEY", block.Bytes[:len(block.Bytes)-1], nil),
		"headers":      enc("PRIVATE KEY", block.Bytes, map[string]string{"Proc-Type": "4,ENCRYPTED"}),
		"two blocks":   append(append([]byte{}, good...), good...),
		"trailing":     append(append([]byte{}, good...), "junk"...),
	} {
		_, err := authn.ParsePrivatePEM("k1", in)
		if !errors.Is(err, authn.ErrRingKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := authn.ParsePrivatePEM("", good); !errors.Is(err, authn.ErrRingKey) {
		t.Errorf("no kid: %v", err)
	}
	if _, err := authn.ParsePrivatePEM("k1", append([]byte("\n"), good...)); err != nil {
		t.Errorf("leading/trailing whitespace: %v", err)
	}
}

func TestRingKeyExportRefuses(t *testing.T) {
	k := edRingKey(t, "k1")
	other := edRingKey(t, "k1")
	pubOnly, err := k.PublicOnly()
	if err != nil {
		t.Fatal(err)
	}
	mismatched := authn.RingKey{ID: "k1", Private: k.Private, Public: other.Private.Public()}
	for name, c := range map[string]struct {
		k    authn.RingKey
		call func(authn.RingKey) ([]byte, error)
	}{
		"private JWK of public key": {pubOnly, authn.RingKey.PrivateJWK},
		"PEM of public key":         {pubOnly, authn.RingKey.PrivatePEM},
		"no ID":                     {authn.RingKey{Private: k.Private}, authn.RingKey.PublicJWK},
		"no key":                    {authn.RingKey{ID: "x"}, authn.RingKey.PublicJWK},
		"mismatched halves":         {mismatched, authn.RingKey.PublicJWK},
		"short Ed25519":             {authn.RingKey{ID: "x", Public: ed25519.PublicKey{1, 2}}, authn.RingKey.PublicJWK},
	} {
		if _, err := c.call(c.k); !errors.Is(err, authn.ErrRingKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := authn.PublicJWKS(k, other); !errors.Is(err, authn.ErrRingKey) {
		t.Errorf("JWKS with duplicate kid: %v", err)
	}
	// NewKeyRing checks keys as the exporters do: a key that cannot be
	// exported cannot make a ring either (a nil or short key would panic
	// when used).
	for name, bad := range map[string]authn.RingKey{
		"mismatched halves":    mismatched,
		"nil ECDSA key":        {ID: "x", Public: (*ecdsa.PublicKey)(nil)},
		"short Ed25519":        {ID: "x", Public: ed25519.PublicKey{1, 2}},
		"short Ed25519 signer": {ID: "x", Private: ed25519.PrivateKey{1, 2}},
		"kid with a space":     {ID: "a b", Private: k.Private},
	} {
		if _, err := authn.NewKeyRing(bad); !errors.Is(err, authn.ErrRingKey) {
			t.Errorf("NewKeyRing with %s: %v", name, err)
		}
	}
}

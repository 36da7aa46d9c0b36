package authn_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/tenant"
)

// FuzzVerify feeds arbitrary strings, seeded with valid and near-valid
// tokens, to a verifier with real keys. Whatever the input, Verify must not
// panic, must return either a valid tenant or a typed error, and must never
// quote the input in the error.
func FuzzVerify(f *testing.F) {
	e := newEnv(f, authn.WithMissCooldown(time.Hour), authn.WithCacheSize(16))
	// Load the keys once so that fuzzing never waits on the network.
	good := e.a.TokenWithClaims(claims(e.a, nil))
	if _, err := e.v.Verify(context.Background(), good); err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(e.ec.Sign(nil, claims(e.a, nil)))
	f.Add(e.a.TokenWithClaims(claims(e.a, map[string]any{"custom:tenant_id": "*"})))
	f.Add(b64(`{"alg":"none"}`) + "." + b64(`{"custom:tenant_id":"acme"}`) + ".")
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		tn, err := e.v.Verify(context.Background(), token)
		if err != nil {
			if !tn.IsZero() {
				t.Fatal("error with a tenant")
			}
			if !errors.Is(err, tenant.ErrInvalidToken) && !errors.Is(err, tenant.ErrForbidden) && !errors.Is(err, authn.ErrKeysUnavailable) {
				t.Fatalf("untyped error %v", err)
			}
			if len(token) >= 8 && strings.Contains(err.Error(), token) {
				t.Fatal("error quotes the token")
			}
			return
		}
		if tenant.ValidateID(tn.ID()) != nil {
			t.Fatalf("accepted invalid tenant ID %q", tn.ID())
		}
	})
}

// FuzzScanJSON checks the pre-signature payload scan against
// encoding/json: on every valid JSON object it must agree on the nesting
// depth, the number of top-level members and the value of "iss", and on
// any input it must not panic or accept more nesting than allowed.
func FuzzScanJSON(f *testing.F) {
	for _, s := range []string{
		`{"iss":"https://a.example","aud":"api"}`,
		`{"\u0069ss":"x","iss":"y"}`,
		`{"a":{"iss":"inner"},"b":["iss",{"iss":1}],"iss":"outer"}`,
		`{"iss":"a\"b\\"}`,
		` {"iss" : "spaced" } `,
		`{"iss":5}`,
		`{"a":[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]}`,
		`[{"iss":"x"}]`,
		`{"a":"}"}`,
		`{}`,
		`{"a":1}x`,
	} {
		f.Add([]byte(s))
	}
	max := authn.MaxClaimDepth
	f.Fuzz(func(t *testing.T, data []byte) {
		depth, members, found, value, hasValue, err := authn.ScanJSON(data, max, "iss")
		if err == nil && depth > max {
			t.Fatalf("accepted depth %d over %d", depth, max)
		}
		if !json.Valid(data) || !strings.HasPrefix(strings.TrimLeft(string(data), " \t\r\n"), "{") {
			return
		}
		ref := scanReference(t, data)
		if ref.depth > max {
			if err == nil {
				t.Fatalf("depth %d accepted", ref.depth)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid object refused: %v", err)
		}
		if depth != ref.depth || members != ref.members || found != ref.found {
			t.Fatalf("scan: depth %d members %d found %d; encoding/json: %+v", depth, members, found, ref)
		}
		if hasValue != ref.hasValue || hasValue && value != ref.value {
			t.Fatalf("scan: iss %q (%v); encoding/json: %q (%v)", value, hasValue, ref.value, ref.hasValue)
		}
	})
}

type refShape struct {
	depth, members, found int
	value                 string
	hasValue              bool
}

// scanReference computes with encoding/json's tokenizer what ScanJSON
// reports: the last top-level "iss" counts, if it is a string.
func scanReference(t *testing.T, data []byte) refShape {
	type level struct{ object, wantKey bool }
	var (
		r      refShape
		stack  []level
		issKey bool // the previous token was a top-level key named iss
	)
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return r
		}
		if err != nil {
			t.Fatalf("encoding/json tokenizer on valid JSON: %v", err)
		}
		afterIssKey := issKey
		issKey = false
		n := len(stack)
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, level{object: tok == json.Delim('{'), wantKey: tok == json.Delim('{')})
			r.depth = max(r.depth, len(stack))
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:n-1]
			if n > 1 && stack[n-2].object {
				stack[n-2].wantKey = true // the container was a member's value
			}
			continue
		}
		if stack[n-1].object && stack[n-1].wantKey {
			stack[n-1].wantKey = false
			if n == 1 {
				r.members++
				if tok == "iss" {
					r.found++
					r.value, r.hasValue = "", false
					issKey = true
				}
			}
			continue
		}
		if stack[n-1].object {
			stack[n-1].wantKey = true
		}
		if s, ok := tok.(string); ok && afterIssKey {
			r.value, r.hasValue = s, true
		}
	}
}

// FuzzRingKeyJWK feeds arbitrary bytes, seeded with valid public and private
// ring key JWKs and sets, to the ring key loaders. They must not panic, must
// fail only with ErrRingKey, must never quote the input, and whatever they
// accept must export back to a JWK they load to the same key.
func FuzzRingKeyJWK(f *testing.F) {
	ed, _ := authn.GenerateRingKey("ed")
	ec := ecRingKey(f, "ec")
	for _, k := range []authn.RingKey{ed, ec} {
		pub, _ := k.PublicJWK()
		priv, _ := k.PrivateJWK()
		f.Add(pub)
		f.Add(priv)
	}
	set, _ := authn.PublicJWKS(ed, ec)
	f.Add(set)
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"","kid":"a","alg":"EdDSA"}]}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"a","alg":"ES256","d":"AA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(what string, err error) {
			if err == nil {
				return
			}
			if !errors.Is(err, authn.ErrRingKey) {
				t.Fatalf("%s: untyped error %v", what, err)
			}
			if len(data) >= 8 && strings.Contains(err.Error(), string(data)) {
				t.Fatalf("%s: error quotes the input: %v", what, err)
			}
		}
		again := func(what string, k authn.RingKey, private bool) {
			export, parse := authn.RingKey.PublicJWK, authn.ParsePublicJWK
			if private {
				export, parse = authn.RingKey.PrivateJWK, authn.ParsePrivateJWK
			}
			b, err := export(k)
			if err != nil {
				t.Fatalf("%s: accepted key does not export: %v", what, err)
			}
			k2, err := parse(b)
			if err != nil {
				t.Fatalf("%s: exported key does not load: %v", what, err)
			}
			b2, _ := export(k2)
			if string(b) != string(b2) {
				t.Fatalf("%s: round trip changed the key", what)
			}
			if _, err := authn.NewKeyRing(k2); err != nil {
				t.Fatalf("%s: loaded key makes no ring: %v", what, err)
			}
		}
		keys, err := authn.ParsePublicJWKS(data)
		check("ParsePublicJWKS", err)
		for _, k := range keys {
			if k.Private != nil {
				t.Fatal("public JWKS yielded a private key")
			}
			again("ParsePublicJWKS", k, false)
		}
		k, err := authn.ParsePublicJWK(data)
		check("ParsePublicJWK", err)
		if err == nil {
			if k.Private != nil {
				t.Fatal("public JWK yielded a private key")
			}
			again("ParsePublicJWK", k, false)
		}
		k, err = authn.ParsePrivateJWK(data)
		check("ParsePrivateJWK", err)
		if err == nil {
			again("ParsePrivateJWK", k, true)
		}
	})
}

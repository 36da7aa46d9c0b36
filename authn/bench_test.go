package authn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/authn"
)

// BenchmarkVerify measures one RS256 token: "cold" with the cache off (a
// full parse and RSA verification every time) and "cached" (the common case
// of one token presented on many requests).
func BenchmarkVerify(b *testing.B) {
	a := startIssuer(b)
	token := a.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "custom:tier": "gold"})
	for _, bc := range []struct {
		name string
		size int
	}{{"cold", 0}, {"cached", authn.DefaultCacheSize}} {
		b.Run(bc.name, func(b *testing.B) {
			v := newVerifier(b, issuerCfg(a), authn.WithCacheSize(bc.size))
			ctx := context.Background()
			if _, err := v.Verify(ctx, token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := v.Verify(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// hostileToken returns an unsigned token of about size bytes whose payload
// names a trusted issuer and then holds filler (open+close repeated, or
// item repeated, inside an array member). Its signature is well-formed
// base64 of the right length and wrong.
func hostileToken(iss string, size int, open, item, close string) string {
	header := b64(`{"alg":"RS256","kid":"key-1","typ":"JWT"}`)
	sig := b64(strings.Repeat("\x00", 256))
	room := (size-len(header)-len(sig)-2)*3/4 - len(iss) - 32
	var body strings.Builder
	body.WriteString(`{"iss":"` + iss + `","x":[`)
	if item != "" {
		for i := 0; body.Len()+len(item)+1 < room; i++ {
			if i > 0 {
				body.WriteByte(',')
			}
			body.WriteString(item)
		}
	} else {
		n := room / (len(open) + len(close))
		body.WriteString(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	body.WriteString(`]}`)
	return header + "." + b64(body.String()) + "." + sig
}

// BenchmarkHostileToken compares what an unsigned hostile token of 7.8 KiB
// costs with what a real RS256 verification costs (cache off for both):
// an attacker who can make a token cost more than a real one to reject
// gets a cheap amplification. Divide each hostile ns/op by rs256's.
func BenchmarkHostileToken(b *testing.B) {
	a := startIssuer(b)
	v := newVerifier(b, issuerCfg(a), authn.WithCacheSize(0))
	ctx := context.Background()
	real := a.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "custom:tier": "gold"})
	if _, err := v.Verify(ctx, real); err != nil {
		b.Fatal(err)
	}
	const size = 7987 // 7.8 KiB, under the default 8 KiB cap
	for _, bc := range []struct {
		name  string
		token string
	}{
		{"rs256", real},
		{"nested-arrays", hostileToken(a.URL(), size, "[", "", "]")},
		{"nested-objects", hostileToken(a.URL(), size, `{"a":`, "", "}")},
		{"wide-objects", hostileToken(a.URL(), size, "", "{}", "")},
		{"wide-arrays", hostileToken(a.URL(), size, "", "[]", "")},
		{"wide-strings", hostileToken(a.URL(), size, "", `"a"`, "")},
		{"wide-numbers", hostileToken(a.URL(), size, "", "1.5", "")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if len(bc.token) > size {
				b.Fatalf("token of %d bytes", len(bc.token))
			}
			_, err := v.Verify(ctx, bc.token)
			if bc.name == "rs256" && err != nil || bc.name != "rs256" && err == nil {
				b.Fatalf("Verify: %v", err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = v.Verify(ctx, bc.token)
			}
		})
	}
}

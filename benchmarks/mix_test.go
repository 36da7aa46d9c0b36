package benchmarks

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
)

// mixRequests returns one request per tenant of the 1,000-tenant token mix
// of idp (three tiers), in a fixed random order: the traffic of a server
// with many tenants, where the caches hold 1,000 entries instead of one
// hot one.
func mixRequests(idp *authntest.Issuer) []*http.Request {
	tokens := tenanttest.Mix(tenanttest.MixTenants, func(id, tier string) string {
		return idp.TokenWithClaims(map[string]any{"aud": audience, "custom:tenant_id": id, "custom:tier": tier})
	})
	reqs := make([]*http.Request, len(tokens))
	for i, j := range rand.New(rand.NewPCG(15, 3)).Perm(len(tokens)) {
		reqs[i] = httptest.NewRequest(http.MethodGet, "/orders", nil)
		reqs[i].Header.Set("Authorization", "Bearer "+tokens[j])
	}
	return reqs
}

// benchMix serves reqs in turn through h after one warm-up pass (each
// token's first, uncached verification is not what the mix measures).
func benchMix(b *testing.B, h http.Handler, reqs []*http.Request) {
	w := discardWriter{h: http.Header{}}
	for _, r := range reqs {
		h.ServeHTTP(w, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		h.ServeHTTP(w, reqs[i])
		if i++; i == len(reqs) {
			i = 0
		}
	}
}

// TestMixServed: every request of the mix passes the full chain.
func TestMixServed(t *testing.T) {
	h, _, idp := chainSetup(t, false)
	for _, r := range mixRequests(idp) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("%s: status %d", r.Header.Get("Authorization")[:20], rec.Code)
		}
	}
}

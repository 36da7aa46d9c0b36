package tenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/tenant"
)

// FuzzVerify feeds arbitrary strings, seeded with valid and near-valid
// tokens, to a verifier with real keys. Whatever the input, Verify must not
// panic, must return either a valid tenant or a typed error, and must never
// quote the input in the error.
func FuzzVerify(f *testing.F) {
	e := newEnv(f, tenant.WithMissCooldown(time.Hour), tenant.WithCacheSize(16))
	// Load the keys once so that fuzzing never waits on the network.
	good := e.a.Token(claims(e.a, nil))
	if _, err := e.v.Verify(context.Background(), good); err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(e.ec.Sign(nil, claims(e.a, nil)))
	f.Add(e.a.Token(claims(e.a, map[string]any{"custom:tenant_id": "*"})))
	f.Add(b64(`{"alg":"none"}`) + "." + b64(`{"custom:tenant_id":"acme"}`) + ".")
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		tn, err := e.v.Verify(context.Background(), token)
		if err != nil {
			if !tn.IsZero() {
				t.Fatal("error with a tenant")
			}
			if !errors.Is(err, tenant.ErrInvalidToken) && !errors.Is(err, tenant.ErrForbidden) && !errors.Is(err, tenant.ErrKeysUnavailable) {
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

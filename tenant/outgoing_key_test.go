package tenant_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

// mapCarrier is a plain Carrier with exact keys.
type mapCarrier map[string]string

func (m mapCarrier) Get(k string) string { return m[k] }
func (m mapCarrier) Set(k, v string)     { m[k] = v }
func (m mapCarrier) Keys() []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// keyVerifier proves "acme" from the token "key" without a relayable
// token, as an API-key verifier does, and from "jwt" with one.
type keyVerifier struct{}

func (keyVerifier) Verify(_ context.Context, token string) (tenant.Tenant, error) {
	switch token {
	case "key":
		return tenant.Verified("acme", "", tenant.Proof{Issuer: "apikey"})
	case "jwt":
		return tenant.Verified("acme", "", tenant.Proof{Issuer: "idp", Token: "jwt"})
	}
	return tenant.Tenant{}, &tenant.TokenError{Reason: errors.New("bad")}
}

func TestCheckOutgoingRefusesAnAPIKey(t *testing.T) {
	acme, _ := tenant.Verified("acme", "", tenant.Proof{Token: "jwt"})
	ctx := tenant.NewContext(context.Background(), acme)
	relay := tenant.Relay{Verifier: keyVerifier{}}
	for _, name := range []string{"X-API-Key", "x-api-key", "X-Api-Key"} {
		if _, _, err := tenant.CheckOutgoing(ctx, mapCarrier{name: "anything"}, relay); !errors.Is(err, tenant.ErrMismatch) {
			t.Errorf("%s: err = %v, want ErrMismatch", name, err)
		}
	}
	if _, _, err := tenant.CheckOutgoing(tenant.WithoutTenant(context.Background()), mapCarrier{"X-API-Key": "k"}); !errors.Is(err, tenant.ErrMismatch) {
		t.Errorf("tenant-less: err = %v, want ErrMismatch", err)
	}
}

func TestCheckOutgoingRefusesABearerCredentialThatIsNotRelayed(t *testing.T) {
	acme, _ := tenant.Verified("acme", "", tenant.Proof{Token: "jwt"})
	ctx := tenant.NewContext(context.Background(), acme)
	relay := tenant.Relay{Verifier: keyVerifier{}}
	if _, _, err := tenant.CheckOutgoing(ctx, mapCarrier{"Authorization": "Bearer key"}, relay); !errors.Is(err, tenant.ErrMismatch) {
		t.Errorf("a copied key: err = %v, want ErrMismatch", err)
	}
	_, send, err := tenant.CheckOutgoing(ctx, mapCarrier{"Authorization": "Bearer jwt"}, relay)
	if err != nil || send {
		t.Errorf("the relayable token already there: send %v, err %v", send, err)
	}
	// A tenant proved by a key has nothing to relay.
	keyTenant, _ := keyVerifier{}.Verify(ctx, "key")
	if err := relay.Inject(tenant.NewContext(ctx, keyTenant), mapCarrier{}); !errors.Is(err, tenant.ErrNoCredential) {
		t.Errorf("Inject: err = %v, want ErrNoCredential", err)
	}
}

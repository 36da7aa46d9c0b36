package authn_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/tenant"
)

func ExampleCognito() {
	issuer, err := authn.Cognito("eu-west-1", "eu-west-1_AbCdEf123", authn.TokenUseAccess, "3n4b5urk1ft4fl3mg5e62d9ado")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(issuer.URL)
	fmt.Println(issuer.JWKSURL)
	// Output:
	// https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123
	// https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json
}

func ExampleVerifier_Verify() {
	// A local OpenID Connect issuer stands in for Cognito here.
	idp, err := authntest.StartIssuer(authntest.WithAudience("orders-api"))
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	v, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), Audiences: []string{"orders-api"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	token := idp.Token("acme", "gold")
	t, err := v.Verify(context.Background(), token)
	fmt.Println(t.ID(), t.Tier(), err)

	forged := idp.TokenWithClaims(map[string]any{"aud": "orders-api", "custom:tenant_id": "*"})
	_, err = v.Verify(context.Background(), forged)
	fmt.Println(errors.Is(err, tenant.ErrInvalidToken), errors.Is(err, authn.ErrTenantClaim))
	// Output:
	// acme gold <nil>
	// true true
}

func ExampleNewAssertion() {
	// Both services share the key ring; only callers need the private key.
	key, err := authn.GenerateRingKey("2026-11")
	if err != nil {
		log.Fatal(err)
	}
	ring, err := authn.NewKeyRing(key)
	if err != nil {
		log.Fatal(err)
	}
	toBilling, err := authn.NewAssertion(ring, "billing")
	if err != nil {
		log.Fatal(err)
	}

	acme, _ := tenant.New("acme", "pro")
	header := http.Header{}
	if err := toBilling.Inject(tenant.NewContext(context.Background(), acme), propagation.HeaderCarrier(header)); err != nil {
		log.Fatal(err)
	}

	// In the billing service:
	t, err := toBilling.Extract(context.Background(), propagation.HeaderCarrier(header))
	fmt.Println(t.ID(), t.Tier(), err)
	// Output: acme pro <nil>
}

func ExampleVerifier_Check() {
	idp, err := authntest.StartIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	v, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), Audiences: []string{"orders-api"}}},
		authn.WithFetchErrorHandler(func(issuer string, err error) {
			log.Printf("keys of %s: %v", issuer, err) // background refresh failures
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	// At startup: refuse to serve until every issuer's keys are in hand.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println(v.Check(ctx))
	// Output:
	// <nil>
}

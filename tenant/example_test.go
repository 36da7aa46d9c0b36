package tenant_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/tenantkit/tenantkit/internal/oidctest"
	"github.com/tenantkit/tenantkit/tenant"
)

func ExampleNewContext() {
	acme, err := tenant.New("acme", "enterprise")
	if err != nil {
		log.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), acme)

	t, err := tenant.Require(ctx)
	fmt.Println(t.ID(), t.Tier(), err)

	_, err = tenant.Require(context.Background())
	fmt.Println(errors.Is(err, tenant.ErrNoTenant))
	// Output:
	// acme enterprise <nil>
	// true
}

func ExampleCognito() {
	issuer, err := tenant.Cognito("eu-west-1", "eu-west-1_AbCdEf123", tenant.TokenUseAccess, "3n4b5urk1ft4fl3mg5e62d9ado")
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
	idp, err := oidctest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	v, err := tenant.NewVerifier([]tenant.Issuer{{URL: idp.URL(), Audiences: []string{"orders-api"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	token := idp.Token(map[string]any{"aud": "orders-api", "custom:tenant_id": "acme", "custom:tier": "gold"})
	t, err := v.Verify(context.Background(), token)
	fmt.Println(t.ID(), t.Tier(), err)

	forged := idp.Token(map[string]any{"aud": "orders-api", "custom:tenant_id": "*"})
	_, err = v.Verify(context.Background(), forged)
	fmt.Println(errors.Is(err, tenant.ErrInvalidToken), errors.Is(err, tenant.ErrTenantClaim))
	// Output:
	// acme gold <nil>
	// true true
}

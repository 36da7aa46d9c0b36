package tenant_test

import (
	"context"
	"errors"
	"fmt"
	"log"

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

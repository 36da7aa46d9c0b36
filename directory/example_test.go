package directory_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

// The common case: the middleware admits a verified tenant only if the
// directory says it is active, with the directory's tier.
func Example() {
	verifier, err := authn.NewVerifier([]authn.Issuer{{URL: "https://issuer.example.com", Audiences: []string{"api"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer verifier.Close()
	dir := directory.NewMemory(map[string]directory.Entry{
		"acme":    {Status: directory.Active, Tier: "pro"},
		"initech": {Status: directory.Suspended},
	})
	cache, err := directory.NewCache(dir, directory.WithTTL(10*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/", httpmw.Authenticate(directory.Verifier(verifier, cache))(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { /* ... */ })))
	mux.Handle("POST /events/tenants", directory.EventHandler(cache))
	fmt.Println("ready")
	// Output: ready
}

func ExampleCache_Admit() {
	cache, _ := directory.NewCache(directory.NewMemory(map[string]directory.Entry{
		"acme":    {Status: directory.Active, Tier: "free"},
		"initech": {Status: directory.Suspended},
	}))
	ctx := context.Background()

	fromToken, _ := tenant.New("acme", "pro") // the token still says pro
	t, err := cache.Admit(ctx, fromToken)
	fmt.Println(t, err)

	suspended, _ := tenant.New("initech", "pro")
	_, err = cache.Admit(ctx, suspended)
	fmt.Println(errors.Is(err, directory.ErrSuspended), errors.Is(err, tenant.ErrForbidden))
	// Output:
	// acme (free) <nil>
	// true true
}

func ExampleParseEvent() {
	id, err := directory.ParseEvent([]byte(`{"version":"0","detail-type":"Tenant Suspended",
		"source":"com.example.control-plane","detail":{"tenantId":"acme"}}`))
	fmt.Println(id, err)
	// Output: acme <nil>
}

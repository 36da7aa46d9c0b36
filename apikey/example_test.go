package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

// Issuing a key and accepting it in the middleware, as a bearer token and
// as X-API-Key.
func Example() {
	ctx := context.Background()
	store := apikey.NewMemory()
	mgr, err := apikey.NewManager(store)
	if err != nil {
		log.Fatal(err)
	}
	key, _, err := mgr.Create(ctx, "acme", apikey.CreateOptions{Tier: "gold"})
	if err != nil {
		log.Fatal(err)
	}

	keys, err := apikey.NewVerifier(store)
	if err != nil {
		log.Fatal(err)
	}
	mgr.OnChange(keys.Invalidate) // a revocation takes effect at once
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _ := tenant.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s (%s)", t.ID(), t.Tier())
	})
	// A JWT verifier would go where nil is: apikey.Dispatch(jwt, keys).
	h := httpmw.Authenticate(apikey.Dispatch(nil, keys), httpmw.WithExtractor(apikey.Header{Verifier: keys}))(orders)

	for _, header := range []string{"Authorization", "X-API-Key"} {
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		if header == "Authorization" {
			req.Header.Set(header, "Bearer "+key)
		} else {
			req.Header.Set(header, key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(header, rec.Code, rec.Body.String())
	}
	// Output:
	// Authorization 200 orders of acme (gold)
	// X-API-Key 200 orders of acme (gold)
}

// Rotating a key: both keys work during the overlap, then only the new one.
func ExampleManager_Rotate() {
	ctx := context.Background()
	store := apikey.NewMemory()
	mgr, _ := apikey.NewManager(store)
	keys, _ := apikey.NewVerifier(store)
	mgr.OnChange(keys.Invalidate)

	old, rec, _ := mgr.Create(ctx, "acme", apikey.CreateOptions{})
	next, _, err := mgr.Rotate(ctx, rec.KeyID, 24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	_, errOld := keys.Verify(ctx, old)
	_, errNext := keys.Verify(ctx, next)
	fmt.Println(errOld == nil, errNext == nil)
	// Output: true true
}

// Revoking a key.
func ExampleManager_Revoke() {
	ctx := context.Background()
	store := apikey.NewMemory()
	mgr, _ := apikey.NewManager(store)
	keys, _ := apikey.NewVerifier(store)
	mgr.OnChange(keys.Invalidate)

	key, rec, _ := mgr.Create(ctx, "acme", apikey.CreateOptions{})
	_, _ = keys.Verify(ctx, key) // cached
	if err := mgr.Revoke(ctx, rec.KeyID); err != nil {
		log.Fatal(err)
	}
	_, err := keys.Verify(ctx, key)
	fmt.Println(errors.Is(err, apikey.ErrRevoked), errors.Is(err, tenant.ErrInvalidToken))
	// Output: true true
}

// The pattern a secret scanner uses for keys of a prefix.
func ExampleScannerPattern() {
	fmt.Println(apikey.ScannerPattern("tk_live"))
	re := regexp.MustCompile(apikey.ScannerPattern("tk_live"))
	fmt.Println(re.MatchString("tk_live_0123"))
	// Output:
	// \btk_live_[0-9A-Za-z]{65}\b
	// false
}

package authntest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

// A test of a handler behind httpmw.Authenticate. In a test, use
// authntest.NewIssuer(t) and authntest.NewVerifier(t, iss): both are closed
// when the test ends.
func Example() {
	iss, err := authntest.StartIssuer(authntest.WithAudience("orders-api"))
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	verifier, err := iss.Verifier()
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _ := tenant.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s (%s)", t.ID(), t.Tier())
	})
	h := httpmw.Authenticate(verifier)(orders)

	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Set("Authorization", "Bearer "+iss.Token("acme", "gold"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 orders of acme (gold)
}

// Tokens with chosen claims test what a verifier refuses.
func ExampleIssuer_TokenWithClaims() {
	iss, err := authntest.StartIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	verifier, err := iss.Verifier()
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	expired := iss.TokenWithClaims(map[string]any{
		"aud":              iss.Audience(),
		"custom:tenant_id": "acme",
		"exp":              time.Now().Add(-time.Hour).Unix(),
	})
	_, err = verifier.Verify(context.Background(), expired)
	fmt.Println(err != nil)
	// Output: true
}

// A rotated issuer signs with its new key; tokens of the old one still verify.
func ExampleIssuer_Rotate() {
	iss, err := authntest.StartIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	verifier, err := iss.Verifier()
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()

	old := iss.Token("acme", "")
	next, err := authntest.NewKey("key-2", "ES256")
	if err != nil {
		log.Fatal(err)
	}
	iss.Rotate(next)
	for _, token := range []string{old, iss.Token("acme", "")} {
		_, err := verifier.Verify(context.Background(), token)
		fmt.Println(err)
	}
	// Output:
	// <nil>
	// <nil>
}

// An issuer in an outage: a verifier that has never had its keys cannot
// pass its startup check.
func ExampleIssuer_SetOutage() {
	iss, err := authntest.StartIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	iss.SetOutage(authntest.Unavailable) // discovery and JWKS answer 503

	verifier, err := iss.Verifier()
	if err != nil {
		log.Fatal(err)
	}
	defer verifier.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(verifier.Check(ctx) != nil)
	// Output: true
}

// An assertion passed from one service to another on a shared ring.
func ExampleNewRing() {
	ring, err := authntest.GenerateRing("ring-1") // in a test: authntest.NewRing(t)
	if err != nil {
		log.Fatal(err)
	}
	edge, err := authn.NewAssertion(ring.Signing, "billing")
	if err != nil {
		log.Fatal(err)
	}
	billing, err := authn.NewAssertion(ring.Verifying, "billing")
	if err != nil {
		log.Fatal(err)
	}

	acme, _ := tenant.New("acme", "pro")
	header := http.Header{}
	if err := edge.Inject(tenant.NewContext(context.Background(), acme), propagation.HeaderCarrier(header)); err != nil {
		log.Fatal(err)
	}
	t, err := billing.Extract(context.Background(), propagation.HeaderCarrier(header))
	fmt.Println(t.ID(), t.Tier(), err)
	// Output: acme pro <nil>
}

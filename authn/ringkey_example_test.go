package authn_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/tenant"
)

// The sender ("edge") mints assertions for the "orders" service. It
// publishes the public side of its ring key as a JWK Set; the private key
// itself would live in a secret store (see RingKey.PrivatePEM). The receiver
// builds its KeyRing from the published set alone: it verifies the edge's
// assertions and cannot mint any.
func ExampleParsePublicJWKS() {
	// Sender: once, at key creation.
	key, err := authn.GenerateRingKey("edge-2025-06")
	if err != nil {
		log.Fatal(err)
	}
	jwks, err := authn.PublicJWKS(key) // publish this; it is not secret
	if err != nil {
		log.Fatal(err)
	}

	// Sender: at start-up, with the key loaded from the secret store.
	sendRing, err := authn.NewKeyRing(key)
	if err != nil {
		log.Fatal(err)
	}
	sender, err := authn.NewAssertion(sendRing, "orders")
	if err != nil {
		log.Fatal(err)
	}

	// Receiver: at start-up, from the published JWKS.
	keys, err := authn.ParsePublicJWKS(jwks)
	if err != nil {
		log.Fatal(err)
	}
	recvRing, err := authn.NewKeyRing(keys[0], keys[1:]...)
	if err != nil {
		log.Fatal(err)
	}
	receiver, err := authn.NewAssertion(recvRing, "orders")
	if err != nil {
		log.Fatal(err)
	}

	acme, _ := tenant.New("acme", "gold")
	token, err := sender.Mint(acme)
	if err != nil {
		log.Fatal(err)
	}
	got, err := receiver.Verify(context.Background(), token)
	fmt.Println(got.ID(), got.Tier(), err)

	_, err = receiver.Mint(acme)
	fmt.Println("receiver can mint:", err == nil)
	// Output:
	// acme gold <nil>
	// receiver can mint: false
}

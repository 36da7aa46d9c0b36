package kmsenvelope_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/kmsenvelope"
	"github.com/tenantkit/tenantkit/tenant"
)

// Envelope encryption under each tenant's own key, taken from its
// placement. In a service the client comes from kms.NewFromConfig(cfg) and
// the context from the authentication middleware; here the client is one
// for the local server of scripts/with-local-kms.sh. (The example needs a
// server, so it is compiled, not run.)
func Example() {
	client := kms.New(kms.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(os.Getenv("TENANTKIT_KMS_ENDPOINT")),
	})
	placements, err := isolation.LoadConfig("placement.json")
	if err != nil {
		log.Fatal(err)
	}
	env, err := kmsenvelope.New(client, kmsenvelope.PlacementKeys(placements),
		kmsenvelope.WithMaxAge(time.Minute)) // the shredding latency
	if err != nil {
		log.Fatal(err)
	}

	acme, _ := tenant.New("acme", "basic")
	ctx := tenant.NewContext(context.Background(), acme)
	sealed, err := env.Encrypt(ctx, []byte("4111 1111 1111 1111"), []byte("orders/42/card"))
	if err != nil {
		log.Fatal(err)
	}
	plain, err := env.Decrypt(ctx, sealed, []byte("orders/42/card"))
	switch {
	case errors.Is(err, kmsenvelope.ErrShredded):
		fmt.Println("acme's key is disabled or deleted: its data is gone")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("%s\n", plain)
	}
}

// The tenant comes from the context only: without one nothing is
// encrypted, decrypted or sent to KMS.
func ExampleEnvelope_Encrypt_noTenant() {
	// A client for an address where nothing listens: it is never called.
	client := kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")})
	env, err := kmsenvelope.New(client, kmsenvelope.StaticKey("1234abcd-12ab-34cd-56ef-1234567890ab"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = env.Encrypt(context.Background(), []byte("secret"), nil)
	fmt.Println(errors.Is(err, kmsenvelope.ErrNoTenant), errors.Is(err, tenant.ErrNoTenant))
	// Output: true true
}

// Decrypt parses its input before anything else: what is not a ciphertext
// of this package fails with ErrMalformed (an ErrDecrypt) and no KMS call.
func ExampleEnvelope_Decrypt_malformed() {
	client := kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")})
	env, err := kmsenvelope.New(client, kmsenvelope.StaticKey("1234abcd-12ab-34cd-56ef-1234567890ab"))
	if err != nil {
		log.Fatal(err)
	}
	acme, _ := tenant.New("acme", "")
	ctx := tenant.NewContext(context.Background(), acme)
	plain, err := env.Decrypt(ctx, []byte("not a ciphertext"), nil)
	fmt.Println(plain == nil, errors.Is(err, kmsenvelope.ErrMalformed), errors.Is(err, kmsenvelope.ErrDecrypt))
	// Output: true true true
}

// PlacementKeys takes each tenant's key from the KMSKey binding of its
// placement: here acme has a key of its own in the pool.
func ExamplePlacementKeys() {
	placements, err := isolation.NewConfigResolver(isolation.Config{
		Region: "us-east-1",
		Pool: isolation.Resources{
			RoleARN:   "arn:aws:iam::111122223333:role/tenant-pool",
			KMSKeyARN: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000",
		},
		Tiers: map[string]isolation.Deployment{"basic": {Model: isolation.Pool}},
		Tenants: map[string]isolation.Override{
			"acme": {Pool: isolation.Resources{KMSKeyARN: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	keys := kmsenvelope.PlacementKeys(placements)
	for _, id := range []string{"acme", "globex"} {
		t, _ := tenant.New(id, "basic")
		key, err := keys.TenantKey(context.Background(), t)
		fmt.Println(id, key, err)
	}
	// Output:
	// acme arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab <nil>
	// globex arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000 <nil>
}

package dynamostore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/dynamostore"
)

// A directory on the control plane's tenant table, behind a cache. In a
// service the client comes from dynamodb.NewFromConfig(cfg); here it is one
// for the local server of scripts/with-dynalite.sh. (The example needs a
// server, so it is compiled, not run.)
func ExampleNewDirectory() {
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(os.Getenv("TENANTKIT_DYNAMODB_ENDPOINT")),
	})
	dir, err := dynamostore.NewDirectory(client, "tenants", dynamostore.WithConsistentRead(true))
	if err != nil {
		log.Fatal(err)
	}
	cache, err := directory.NewCache(dir)
	if err != nil {
		log.Fatal(err)
	}
	e, err := cache.Lookup(context.Background(), "acme")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Status, e.Tier)
}

// A control plane's table keyed by the bare tenant ID, with attribute names
// and status values of its own.
func ExampleNewDirectory_controlPlaneTable() {
	client := dynamodb.New(dynamodb.Options{Region: "eu-west-1"})
	dir, err := dynamostore.NewDirectory(client, "control-plane-tenants",
		dynamostore.WithPartitionKey("tenantId"),
		dynamostore.WithSortKey(""),
		dynamostore.WithTenantKey("", ""),
		dynamostore.WithStatusAttribute("state"),
		dynamostore.WithTierAttribute("subscriptionTier"),
		dynamostore.WithStatusValues(map[string]directory.Status{
			"ENABLED":  directory.Active,
			"DISABLED": directory.Suspended,
			"DELETED":  directory.Offboarded,
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = dir
}

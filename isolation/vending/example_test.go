package vending_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/isolation/vending"
	"github.com/tenantkit/tenantkit/isolation/vending/vendingtest"
	"github.com/tenantkit/tenantkit/tenant"
)

// A request of tenant acme obtains credentials scoped to its own rows of
// the pooled DynamoDB table. In production the client is
// sts.NewFromConfig(cfg) with the service's own credentials; here it talks
// to a local STS.
func Example() {
	srv := vendingtest.NewServer()
	defer srv.Close()

	resolver, err := isolation.NewConfigResolver(isolation.Config{
		Region: "us-east-1",
		Pool: isolation.Resources{
			RoleARN: "arn:aws:iam::111122223333:role/tenant-pool",
			Table:   "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
		},
		Tiers: map[string]isolation.Deployment{"basic": {Model: isolation.Pool}},
	})
	if err != nil {
		log.Fatal(err)
	}
	vendor, err := vending.New(srv.Client(), resolver)
	if err != nil {
		log.Fatal(err)
	}

	// The middleware puts the verified tenant in the request context.
	acme, _ := tenant.New("acme", "basic")
	ctx := tenant.NewContext(context.Background(), acme)

	creds, err := vendor.Credentials(ctx, isolation.Table)
	if err != nil {
		log.Fatal(err)
	}
	// Pass creds to a DynamoDB client:
	//   db.GetItem(ctx, in, func(o *dynamodb.Options) { o.Credentials = creds })
	if _, err := creds.Retrieve(ctx); err != nil {
		log.Fatal(err)
	}

	sent := srv.Requests()[0]
	fmt.Println("RoleSessionName:", sent.RoleSessionName)
	fmt.Println("Tags:", sent.Tags)
	var policy bytes.Buffer
	json.Indent(&policy, []byte(sent.Policy), "", "  ")
	fmt.Println(policy.String())
	// Output:
	// RoleSessionName: tenant-acme
	// Tags: [{TenantID acme} {Tier basic}]
	// {
	//   "Version": "2012-10-17",
	//   "Statement": [
	//     {
	//       "Sid": "TenantItems",
	//       "Effect": "Allow",
	//       "Action": [
	//         "dynamodb:GetItem",
	//         "dynamodb:BatchGetItem",
	//         "dynamodb:Query",
	//         "dynamodb:PutItem",
	//         "dynamodb:UpdateItem",
	//         "dynamodb:DeleteItem",
	//         "dynamodb:BatchWriteItem",
	//         "dynamodb:ConditionCheckItem"
	//       ],
	//       "Resource": [
	//         "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
	//         "arn:aws:dynamodb:us-east-1:111122223333:table/orders/index/*"
	//       ],
	//       "Condition": {
	//         "ForAllValues:StringLike": {
	//           "dynamodb:LeadingKeys": [
	//             "acme",
	//             "acme#*"
	//           ]
	//         }
	//       }
	//     }
	//   ]
	// }
}

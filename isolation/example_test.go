package isolation_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/tenant"
)

// A template's placeholders are substituted in string values of the parsed
// policy; IAM policy variables are left alone.
func ExampleTemplate_Render() {
	tpl, err := isolation.ParseTemplate([]byte(`{
		"Version": "2012-10-17",
		"Statement": [{
			"Effect": "Allow",
			"Action": "s3:GetObject",
			"Resource": "arn:${partition}:s3:::${bucket}/${tenant.id}/${aws:username}/*"
		}]
	}`))
	if err != nil {
		log.Fatal(err)
	}
	policy, err := tpl.Render(isolation.Values{TenantID: "acme", Partition: "aws", Bucket: "example-data"})
	fmt.Println(policy, err)

	// A hostile tenant ID never reaches the template.
	_, err = tpl.Render(isolation.Values{TenantID: "*", Partition: "aws", Bucket: "example-data"})
	fmt.Println(errors.Is(err, isolation.ErrInvalidValue), errors.Is(err, tenant.ErrInvalidID))
	// Output:
	// {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::example-data/acme/${aws:username}/*"}]} <nil>
	// true true
}

func ExampleDecodeConfig() {
	cfg, err := isolation.DecodeConfig(strings.NewReader(`{
		"region": "us-east-1",
		"pool": {"roleArn": "arn:aws:iam::111122223333:role/tenant-pool",
		         "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders"},
		"silo": {"roleArn": "arn:aws:iam::111122223333:role/tenant-${tenant.id}",
		         "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders-${tenant.id}"},
		"tiers": {"basic": {"model": "pool"}, "premium": {"model": "silo"}}
	}`))
	if err != nil {
		log.Fatal(err)
	}
	resolver, err := isolation.NewConfigResolver(cfg)
	if err != nil {
		log.Fatal(err)
	}
	globex, _ := tenant.New("globex", "premium")
	p, err := resolver.Resolve(context.Background(), globex)
	fmt.Println(p.Model, p.Table.RoleARN, p.Table.Name, err)

	_, err = isolation.DecodeConfig(strings.NewReader(`{"regoin": "us-east-1"}`))
	fmt.Println(errors.Is(err, isolation.ErrInvalidPlacement))
	// Output:
	// silo arn:aws:iam::111122223333:role/tenant-globex arn:aws:dynamodb:us-east-1:111122223333:table/orders-globex <nil>
	// true
}

func ExamplePartitionKey() {
	a, _ := tenant.New("a", "")
	ctx := tenant.NewContext(context.Background(), a)

	pk, _ := isolation.PartitionKey(ctx, "order", "42")
	fmt.Println(pk)

	// An item read back is checked before use: tenant "ab"'s key is not
	// tenant "a"'s.
	rest, err := isolation.CheckPartitionKey(ctx, pk)
	fmt.Println(rest, err)
	_, err = isolation.CheckPartitionKey(ctx, "ab#order#42")
	fmt.Println(errors.Is(err, isolation.ErrKeyMismatch))
	// Output:
	// a#order#42
	// order#42 <nil>
	// true
}

func ExampleObjectKey() {
	acme, _ := tenant.New("acme", "")
	ctx := tenant.NewContext(context.Background(), acme)
	key, _ := isolation.ObjectKey(ctx, "invoices/2024/7.pdf")
	fmt.Println(key)
	_, err := isolation.ObjectKey(ctx, "../globex/secrets")
	fmt.Println(errors.Is(err, isolation.ErrInvalidObjectName))
	// Output:
	// acme/invoices/2024/7.pdf
	// true
}

// Command vending shows the token vending machine: each tenant's request
// obtains AWS credentials scoped to that tenant's data, through STS
// AssumeRole with a session policy and session tags.
//
//	go run ./examples/vending
//
// It runs against a local STS on 127.0.0.1 (isolation/vending/vendingtest, which speaks
// the real AWS Query protocol to the real SDK client) and prints, for a
// pooled, a siloed and a bridged tenant, the placement, the AssumeRole
// request the vendor sent (role, session name, tags, session policy) and
// whose credentials came back. Nothing leaves the machine.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/isolation/vending"
	"github.com/tenantkit/tenantkit/isolation/vending/vendingtest"
	"github.com/tenantkit/tenantkit/tenant"
)

// placementJSON is what a service would keep in a file and load with
// isolation.LoadConfig: basic tenants share the pool, premium tenants have
// their own role and table, plus tenants are bridged (pooled table, siloed
// bucket and key). acme has its own KMS key in the pool.
const placementJSON = `{
  "region": "us-east-1",
  "pool": {
    "roleArn": "arn:aws:iam::111122223333:role/tenant-pool",
    "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
    "bucket": "example-pool-data"
  },
  "silo": {
    "roleArn": "arn:aws:iam::111122223333:role/tenant-${tenant.id}",
    "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders-${tenant.id}",
    "bucket": "example-silo-${tenant.id}",
    "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"
  },
  "tiers": {
    "basic": {"model": "pool"},
    "premium": {"model": "silo"},
    "plus": {"model": "bridge", "table": "pool", "bucket": "silo", "kmsKey": "silo"}
  },
  "tenants": {
    "acme": {"pool": {"kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}
  }
}`

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vending:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	sts := vendingtest.NewServer()
	defer sts.Close()

	cfg, err := isolation.DecodeConfig(strings.NewReader(placementJSON))
	if err != nil {
		return err
	}
	resolver, err := isolation.NewConfigResolver(cfg)
	if err != nil {
		return err
	}
	// In production: vending.New(sts.NewFromConfig(awsCfg), resolver).
	vendor, err := vending.New(sts.Client(), resolver, vending.WithTransitiveTags(vending.TagTenantID))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "local STS at %s\n", sts.URL())

	for _, tc := range []struct {
		id, tier string
		res      []isolation.Resource
	}{
		{"acme", "basic", []isolation.Resource{isolation.Table}},
		{"globex", "premium", []isolation.Resource{isolation.Table}},
		{"initech", "plus", []isolation.Resource{isolation.Table, isolation.Bucket}},
	} {
		t, err := tenant.New(tc.id, tc.tier)
		if err != nil {
			return err
		}
		// What the authentication middleware does for a verified request.
		reqCtx := tenant.NewContext(ctx, t)
		for _, res := range tc.res {
			before := sts.Count()
			akid, err := handle(reqCtx, w, vendor, res)
			if err != nil {
				return err
			}
			issued, _ := sts.Issued(akid)
			fmt.Fprintf(w, "credentials %s, issued by STS for tenant %s\n", akid, issued.Tenant())
			for _, r := range sts.Requests()[before:] {
				printRequest(w, r)
			}
		}
	}

	// Twenty concurrent requests of a new tenant cost one STS call.
	umbrella, _ := tenant.New("umbrella", "basic")
	reqCtx := tenant.NewContext(ctx, umbrella)
	before := sts.Count()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			p, err := vendor.Credentials(reqCtx, isolation.Table)
			if err == nil {
				_, err = p.Retrieve(reqCtx)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n20 concurrent requests of umbrella: %d AssumeRole call(s)\n", sts.Count()-before)

	// A request without a verified tenant gets nothing.
	_, err = vendor.Credentials(ctx, isolation.Table)
	fmt.Fprintf(w, "request without a tenant: %v (errors.Is ErrNoTenant: %t)\n", err, errors.Is(err, tenant.ErrNoTenant))
	return nil
}

// handle is the part of a request handler that needs AWS access. It
// returns the access key ID of the credentials it obtained.
func handle(ctx context.Context, w io.Writer, v *vending.Vendor, res isolation.Resource) (string, error) {
	t, _ := tenant.FromContext(ctx)
	p, err := v.Placement(ctx)
	if err != nil {
		return "", err
	}
	b := p.Binding(res)
	creds, err := v.Credentials(ctx, res)
	if err != nil {
		return "", err
	}
	// A real handler passes creds to the SDK client for the call:
	//   db.GetItem(ctx, in, func(o *dynamodb.Options) { o.Credentials = creds })
	c, err := creds.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "\n== %s: %s model, %s %s via the %s role\n", t, p.Model, res, b.Name, b.Model)
	switch res {
	case isolation.Table:
		pk, _ := isolation.PartitionKey(ctx, "order", "42")
		fmt.Fprintf(w, "partition key for order 42: %s\n", pk)
	case isolation.Bucket:
		key, _ := isolation.ObjectKey(ctx, "invoices/7.pdf")
		fmt.Fprintf(w, "object key for invoices/7.pdf: %s\n", key)
	}
	return c.AccessKeyID, nil
}

func printRequest(w io.Writer, r vendingtest.Request) {
	fmt.Fprintf(w, "AssumeRole %s\n", r.RoleARN)
	fmt.Fprintf(w, "  RoleSessionName: %s\n", r.RoleSessionName)
	fmt.Fprintf(w, "  DurationSeconds: %d\n", r.DurationSeconds)
	for _, t := range r.Tags {
		fmt.Fprintf(w, "  Tag %s=%s\n", t.Key, t.Value)
	}
	fmt.Fprintf(w, "  TransitiveTagKeys: %v\n", r.TransitiveTagKeys)
	if r.Policy == "" {
		fmt.Fprintln(w, "  Policy: none (the tenant's own role is the scope)")
		return
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(r.Policy), "  ", "  "); err != nil {
		pretty.WriteString(r.Policy)
	}
	fmt.Fprintf(w, "  Policy (%d characters minified):\n  %s\n", len(r.Policy), pretty.String())
}

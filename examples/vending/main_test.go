package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The example is part of the contract: it must run, exit cleanly and show
// each tenant obtaining credentials issued for itself, with the request
// the vendor sent.
func TestVending(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`local STS at http://127\.0\.0\.1:\d+`,
		`issued by STS for tenant acme\nAssumeRole arn:aws:iam::111122223333:role/tenant-pool\n  RoleSessionName: tenant-acme`,
		`Tag TenantID=acme\n  Tag Tier=basic`,
		`"acme",\s+"acme#\*"`,
		`"arn:aws:s3:::example-pool-data/acme/\*"`,
		`issued by STS for tenant globex\nAssumeRole arn:aws:iam::111122223333:role/tenant-globex`,
		`issued by STS for tenant initech\nAssumeRole arn:aws:iam::111122223333:role/tenant-pool`,
		`issued by STS for tenant initech\nAssumeRole arn:aws:iam::111122223333:role/tenant-initech`,
		`20 concurrent requests of umbrella: 1 AssumeRole call\(s\)`,
		`request without a tenant: .*ErrNoTenant: true`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

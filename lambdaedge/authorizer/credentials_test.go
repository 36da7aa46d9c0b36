package authorizer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/isolation/vending"
	"github.com/tenantkit/tenantkit/isolation/vending/vendingtest"
	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
)

func newVendor(t *testing.T, srv *vendingtest.Server) *vending.Vendor {
	t.Helper()
	resolver, err := isolation.NewConfigResolver(isolation.Config{
		Region: "eu-west-1",
		Pool: isolation.Resources{
			RoleARN: "arn:aws:iam::123456789012:role/tenant-pool",
			Table:   "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
		},
		Tiers: map[string]isolation.Deployment{"pro": {Model: isolation.Pool}, "free": {Model: isolation.Pool}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := vending.New(srv.Client(), resolver)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCredentialsInTheContext(t *testing.T) {
	srv := vendingtest.NewServer()
	t.Cleanup(srv.Close)
	f := newFixture(t, authorizer.WithCredentials(newVendor(t, srv), isolation.Table))
	ctx := context.Background()

	got := map[string]string{}
	for _, id := range []string{"acme", "initech"} {
		resp, err := f.a.Token(ctx, tokenEvent(f.valid(id, "pro")))
		if err != nil {
			t.Fatal(err)
		}
		akid, _ := resp.Context[authorizer.ContextAccessKeyID].(string)
		issued, ok := srv.Issued(akid)
		if !ok || issued.Tenant() != id {
			t.Fatalf("%s: credentials %q were issued for %q", id, akid, issued.Tenant())
		}
		if resp.Context[authorizer.ContextSecretAccessKey] != issued.SecretAccessKey || resp.Context[authorizer.ContextSessionToken] != issued.SessionToken {
			t.Fatalf("%s: context holds other credentials than STS issued", id)
		}
		exp, err := time.Parse(time.RFC3339, resp.Context[authorizer.ContextCredentialsExpire].(string))
		if err != nil || exp.Before(time.Now()) {
			t.Fatalf("%s: expiry %v, %v", id, resp.Context[authorizer.ContextCredentialsExpire], err)
		}
		got[id] = akid
		if strings.Contains(f.logText(), issued.SecretAccessKey) || strings.Contains(f.logText(), issued.SessionToken) {
			t.Fatal("the log holds the vended secret")
		}
	}
	if got["acme"] == got["initech"] {
		t.Fatal("two tenants got the same credentials")
	}
	// A denied caller gets none.
	resp, _ := f.a.Request(ctx, requestEvent(map[string]string{"Authorization": "Bearer " + f.valid(suspendedID, "pro")}, nil))
	if resp.Context != nil {
		t.Fatalf("a denied caller got a context: %v", resp.Context)
	}
}

func TestCredentialFailureIsUnavailable(t *testing.T) {
	srv := vendingtest.NewServer()
	t.Cleanup(srv.Close)
	f := newFixture(t, authorizer.WithCredentials(newVendor(t, srv), isolation.Table))
	srv.Inject(vendingtest.AccessDenied, -1)
	ctx := context.Background()
	if _, err := f.a.Token(ctx, tokenEvent(f.valid("acme", "pro"))); !errors.Is(err, authorizer.ErrUnavailable) {
		t.Fatalf("Token: %v, want ErrUnavailable", err)
	}
	if resp, err := f.a.HTTPSimple(ctx, httpEvent(map[string]string{"authorization": "Bearer " + f.valid("acme", "pro")})); !errors.Is(err, authorizer.ErrUnavailable) || resp.IsAuthorized {
		t.Fatalf("HTTPSimple: %v, %v", resp, err)
	}
}

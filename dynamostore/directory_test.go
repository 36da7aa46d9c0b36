package dynamostore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/dynamostore"
	"github.com/tenantkit/tenantkit/tenant"
)

func TestDirectoryLookup(t *testing.T) {
	c := newClient(t, endpoint(t))
	table := createTable(t, c)
	put(t, c, table, tenantItem("acme", map[string]types.AttributeValue{"status": s("active"), "tier": s("gold"), "plan": s("enterprise"), "name": s("ACME Corp")}))
	put(t, c, table, tenantItem("globex", map[string]types.AttributeValue{"status": s("suspended"), "tier": s("silver")}))
	put(t, c, table, tenantItem("initech", map[string]types.AttributeValue{"status": s("offboarded")}))
	put(t, c, table, tenantItem("umbrella", map[string]types.AttributeValue{"status": s("ACTIVE"), "tier": &types.AttributeValueMemberNULL{Value: true}}))
	put(t, c, table, tenantItem("hooli", map[string]types.AttributeValue{"status": s("SUSPENDED")}))
	put(t, c, table, tenantItem("piedpiper", map[string]types.AttributeValue{"status": s("OFFBOARDED"), "plan": s("")}))
	// A key item under the same partition key prefix must not be read as a
	// tenant: its sort key differs.
	put(t, c, table, map[string]types.AttributeValue{"pk": s("TENANT#ghost"), "sk": s("KEY#k1"), "status": s("active")})

	for _, consistent := range []bool{false, true} {
		d, err := dynamostore.NewDirectory(c, table, dynamostore.WithConsistentRead(consistent))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			id   string
			want directory.Entry
		}{
			{"acme", directory.Entry{Status: directory.Active, Tier: "gold", Plan: "enterprise"}},
			{"globex", directory.Entry{Status: directory.Suspended, Tier: "silver"}},
			{"initech", directory.Entry{Status: directory.Offboarded}},
			{"umbrella", directory.Entry{Status: directory.Active}},
			{"hooli", directory.Entry{Status: directory.Suspended}},
			{"piedpiper", directory.Entry{Status: directory.Offboarded}},
		} {
			got, err := d.Lookup(context.Background(), tc.id)
			if err != nil || got != tc.want {
				t.Errorf("consistent %v: Lookup(%s) = %+v, %v; want %+v", consistent, tc.id, got, err, tc.want)
			}
		}
		for _, id := range []string{"nobody", "ghost", "bad id", "*", ""} {
			got, err := d.Lookup(context.Background(), id)
			if !errors.Is(err, directory.ErrNotFound) || got != (directory.Entry{}) {
				t.Errorf("Lookup(%q) = %+v, %v; want ErrNotFound", id, got, err)
			}
			if errors.Is(err, dynamostore.ErrUnavailable) {
				t.Errorf("Lookup(%q): %v wraps ErrUnavailable", id, err)
			}
		}
	}
}

// A malformed item is an error, never a tenant: above all, a status the
// directory does not know is never read as active.
func TestDirectoryMalformedItems(t *testing.T) {
	c := newClient(t, endpoint(t))
	table := createTable(t, c)
	items := map[string]map[string]types.AttributeValue{
		"no-status":      {"tier": s("gold")},
		"empty-status":   {"status": s("")},
		"unknown-status": {"status": s("deleted")},
		"mixed-case":     {"status": s("Active")},
		"spaced-status":  {"status": s(" active")},
		"number-status":  {"status": n("1")},
		"bool-status":    {"status": &types.AttributeValueMemberBOOL{Value: true}},
		"null-status":    {"status": &types.AttributeValueMemberNULL{Value: true}},
		"set-status":     {"status": &types.AttributeValueMemberSS{Value: []string{"active"}}},
		"number-tier":    {"status": s("active"), "tier": n("3")},
		"invalid-tier":   {"status": s("active"), "tier": s("gold plan")},
		"wildcard-tier":  {"status": s("active"), "tier": s("*")},
		"list-plan":      {"status": s("active"), "plan": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x")}}},
		"invalid-plan":   {"status": s("active"), "plan": s("a/b")},
	}
	for id, attrs := range items {
		put(t, c, table, tenantItem(id, attrs))
	}
	d, err := dynamostore.NewDirectory(c, table)
	if err != nil {
		t.Fatal(err)
	}
	for id := range items {
		got, err := d.Lookup(context.Background(), id)
		if !errors.Is(err, dynamostore.ErrMalformedItem) || got != (directory.Entry{}) {
			t.Errorf("Lookup(%s) = %+v, %v; want ErrMalformedItem", id, got, err)
		}
		if errors.Is(err, directory.ErrNotFound) {
			t.Errorf("Lookup(%s): %v wraps ErrNotFound", id, err)
		}
	}

	// Through a cache, a malformed item is the directory not answering:
	// refused with 503, not admitted and not "unknown".
	cache, err := directory.NewCache(d)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cache.Admit(context.Background(), mustTenant(t, "unknown-status", ""))
	if !errors.Is(err, tenant.ErrUnavailable) || errors.Is(err, tenant.ErrForbidden) {
		t.Errorf("Admit of a tenant with an unknown status: %v; want ErrUnavailable", err)
	}
}

// A control plane's own table: keyed by the bare tenant ID, with its own
// attribute names and status spellings.
func TestDirectoryCustomLayout(t *testing.T) {
	c := newClient(t, endpoint(t))
	table := createHashTable(t, c, "tenantId")
	put(t, c, table, map[string]types.AttributeValue{"tenantId": s("acme"), "state": s("ENABLED"), "subscriptionTier": s("premium"), "planOverride": s("burst")})
	put(t, c, table, map[string]types.AttributeValue{"tenantId": s("globex"), "state": s("DISABLED")})
	put(t, c, table, map[string]types.AttributeValue{"tenantId": s("initech"), "state": s("DELETED"), "subscriptionTier": s("basic")})
	put(t, c, table, map[string]types.AttributeValue{"tenantId": s("hooli"), "state": s("active")}) // not in the map
	d, err := dynamostore.NewDirectory(c, table,
		dynamostore.WithPartitionKey("tenantId"),
		dynamostore.WithSortKey(""),
		dynamostore.WithTenantKey("", ""),
		dynamostore.WithStatusAttribute("state"),
		dynamostore.WithTierAttribute("subscriptionTier"),
		dynamostore.WithPlanAttribute("planOverride"),
		dynamostore.WithStatusValues(map[string]directory.Status{"ENABLED": directory.Active, "DISABLED": directory.Suspended, "DELETED": directory.Offboarded}),
		dynamostore.WithConsistentRead(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]directory.Entry{
		"acme":    {Status: directory.Active, Tier: "premium", Plan: "burst"},
		"globex":  {Status: directory.Suspended},
		"initech": {Status: directory.Offboarded, Tier: "basic"},
	} {
		if got, err := d.Lookup(context.Background(), id); err != nil || got != want {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v", id, got, err, want)
		}
	}
	if _, err := d.Lookup(context.Background(), "hooli"); !errors.Is(err, dynamostore.ErrMalformedItem) {
		t.Errorf("Lookup of a status outside the map: %v; want ErrMalformedItem", err)
	}
	if _, err := d.Lookup(context.Background(), "nobody"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Lookup(nobody): %v; want ErrNotFound", err)
	}
}

// The directory behind the cache, as a service runs it: statuses become
// admissions and refusals, and the tier from the directory overrides the
// token's.
func TestDirectoryBehindCache(t *testing.T) {
	c := newClient(t, endpoint(t))
	table := createTable(t, c)
	put(t, c, table, tenantItem("acme", map[string]types.AttributeValue{"status": s("active"), "tier": s("gold")}))
	put(t, c, table, tenantItem("globex", map[string]types.AttributeValue{"status": s("suspended")}))
	put(t, c, table, tenantItem("initech", map[string]types.AttributeValue{"status": s("offboarded")}))
	d, err := dynamostore.NewDirectory(c, table)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := directory.NewCache(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cache.Admit(context.Background(), mustTenant(t, "acme", "free"))
	if err != nil || got.Tier() != "gold" {
		t.Errorf("Admit(acme) = %+v, %v; want tier gold", got, err)
	}
	for id, want := range map[string]error{"globex": directory.ErrSuspended, "initech": directory.ErrOffboarded, "nobody": directory.ErrUnknownTenant} {
		if _, err := cache.Admit(context.Background(), mustTenant(t, id, "")); !errors.Is(err, want) {
			t.Errorf("Admit(%s): %v; want %v", id, err, want)
		}
	}
}

// A server that does not answer, a missing table, a throttled request: each
// is an error wrapping ErrUnavailable and tenant.ErrUnavailable, which a
// cache in front reports as the directory not answering.
func TestDirectoryUnavailable(t *testing.T) {
	check := func(t *testing.T, d *dynamostore.Directory) error {
		t.Helper()
		_, err := d.Lookup(context.Background(), "acme")
		if !errors.Is(err, dynamostore.ErrUnavailable) || !errors.Is(err, tenant.ErrUnavailable) || errors.Is(err, directory.ErrNotFound) {
			t.Errorf("Lookup: %v; want ErrUnavailable and tenant.ErrUnavailable", err)
		}
		cache, cerr := directory.NewCache(d)
		if cerr != nil {
			t.Fatal(cerr)
		}
		if _, cerr := cache.Admit(context.Background(), mustTenant(t, "acme", "")); !errors.Is(cerr, directory.ErrUnavailable) {
			t.Errorf("Admit through a cache: %v; want directory.ErrUnavailable", cerr)
		}
		return err
	}

	t.Run("closed server", func(t *testing.T) {
		d, err := dynamostore.NewDirectory(newClient(t, closedEndpoint(t), noRetry), "tenants")
		if err != nil {
			t.Fatal(err)
		}
		check(t, d)
	})
	t.Run("missing table", func(t *testing.T) {
		c := newClient(t, endpoint(t), noRetry)
		d, err := dynamostore.NewDirectory(c, "no-such-table-"+tableName(t))
		if err != nil {
			t.Fatal(err)
		}
		err = check(t, d)
		var rnf *types.ResourceNotFoundException
		if !errors.As(err, &rnf) {
			t.Errorf("missing table: %v does not wrap the SDK's ResourceNotFoundException", err)
		}
	})
	for _, code := range []string{"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"} {
		t.Run(code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#` + code + `","message":"slow down"}`))
			}))
			defer srv.Close()
			d, err := dynamostore.NewDirectory(newClient(t, srv.URL, noRetry), "tenants")
			if err != nil {
				t.Fatal(err)
			}
			if err := check(t, d); !dynamostore.Throttled(err) {
				t.Errorf("Throttled(%v) = false", err)
			}
		})
	}
	if dynamostore.Throttled(errors.New("other")) || dynamostore.Throttled(nil) {
		t.Error("Throttled of an unrelated error or nil")
	}
}

// A canceled or expired context is returned as such, before a request and
// during one; neither is reported as the directory being unavailable.
func TestDirectoryContext(t *testing.T) {
	c := newClient(t, endpoint(t))
	table := createTable(t, c)
	put(t, c, table, tenantItem("acme", map[string]types.AttributeValue{"status": s("active")}))
	d, err := dynamostore.NewDirectory(c, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Lookup(ctx, "acme"); !errors.Is(err, context.Canceled) || errors.Is(err, dynamostore.ErrUnavailable) {
		t.Errorf("Lookup with a canceled context: %v", err)
	}

	// A server that holds the request until the client gives up.
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	stalled, err := dynamostore.NewDirectory(newClient(t, srv.URL), "tenants")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = stalled.Lookup(ctx, "acme")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, dynamostore.ErrUnavailable) {
		t.Errorf("Lookup past the deadline: %v; want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Lookup returned %v after the deadline", el)
	}
}

func TestOptions(t *testing.T) {
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1"})
	var nilClient *dynamodb.Client
	dirCases := []struct {
		name   string
		client dynamostore.DynamoDBAPI
		table  string
		opts   []dynamostore.Option
	}{
		{"nil", nil, "t", nil},
		{"nil *dynamodb.Client", nilClient, "t", nil},
		{"empty table", c, "", nil},
		{"nil Option", c, "t", []dynamostore.Option{nil}},
		{"WithPartitionKey", c, "t", []dynamostore.Option{dynamostore.WithPartitionKey("")}},
		{"WithStatusAttribute", c, "t", []dynamostore.Option{dynamostore.WithStatusAttribute("")}},
		{"WithTierAttribute", c, "t", []dynamostore.Option{dynamostore.WithTierAttribute("")}},
		{"WithPlanAttribute", c, "t", []dynamostore.Option{dynamostore.WithPlanAttribute("")}},
		{"WithStatusValues", c, "t", []dynamostore.Option{dynamostore.WithStatusValues(nil)}},
		{"WithStatusValues", c, "t", []dynamostore.Option{dynamostore.WithStatusValues(map[string]directory.Status{"x": 0})}},
		{"used twice", c, "t", []dynamostore.Option{dynamostore.WithTierAttribute("status")}},
		{"used twice", c, "t", []dynamostore.Option{dynamostore.WithPlanAttribute("pk")}},
		{"WithKeyItem", c, "t", []dynamostore.Option{dynamostore.WithKeyItem("KEY#", "KEY")}},
		{"WithKeyIndex", c, "t", []dynamostore.Option{dynamostore.WithKeyIndex("i", "a", "b")}},
		{"WithMaxUpdateTries", c, "t", []dynamostore.Option{dynamostore.WithMaxUpdateTries(3)}},
	}
	for _, tc := range dirCases {
		d, err := dynamostore.NewDirectory(tc.client, tc.table, tc.opts...)
		if d != nil || !errors.Is(err, dynamostore.ErrInvalidOption) || !strings.Contains(err.Error(), strings.Fields(tc.name)[0]) {
			t.Errorf("NewDirectory %s: %v, %v; want an error wrapping ErrInvalidOption that names it", tc.name, d, err)
		}
	}
	keyCases := []struct {
		name string
		opts []dynamostore.Option
	}{
		{"WithTenantKey", []dynamostore.Option{dynamostore.WithTenantKey("", "")}},
		{"WithStatusAttribute", []dynamostore.Option{dynamostore.WithStatusAttribute("s")}},
		{"WithStatusValues", []dynamostore.Option{dynamostore.WithStatusValues(map[string]directory.Status{"on": directory.Active})}},
		{"WithKeyItem", []dynamostore.Option{dynamostore.WithKeyItem("", "KEY")}},
		{"WithKeyIndex", []dynamostore.Option{dynamostore.WithKeyIndex("", "a", "b")}},
		{"WithKeyIndex", []dynamostore.Option{dynamostore.WithKeyIndex("i", "a", "a")}},
		{"WithMaxUpdateTries", []dynamostore.Option{dynamostore.WithMaxUpdateTries(0)}},
		{"index partition key", []dynamostore.Option{dynamostore.WithKeyIndex("i", "pk", "b")}},
		{"tenantId", []dynamostore.Option{dynamostore.WithSortKey("tenantId")}},
	}
	for _, tc := range keyCases {
		s, err := dynamostore.NewKeyStore(c, "t", tc.opts...)
		if s != nil || !errors.Is(err, dynamostore.ErrInvalidOption) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("NewKeyStore %s: %v, %v; want an error wrapping ErrInvalidOption that names it", tc.name, s, err)
		}
	}
	if s, err := dynamostore.NewKeyStore(nilClient, "t"); s != nil || !errors.Is(err, dynamostore.ErrInvalidOption) {
		t.Errorf("NewKeyStore with a nil client: %v, %v", s, err)
	}
	if _, err := dynamostore.NewKeyStore(c, "t", dynamostore.WithSortKey(""), dynamostore.WithConsistentRead(true)); err != nil {
		t.Errorf("NewKeyStore without a sort key: %v", err)
	}
}

func mustTenant(t *testing.T, id, tier string) tenant.Tenant {
	t.Helper()
	tn, err := tenant.New(id, tier)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

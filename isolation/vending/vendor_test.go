package vending

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/isolation/vending/vendingtest"
	"github.com/tenantkit/tenantkit/tenant"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestVendor(t testing.TB, srvOpts []vendingtest.Option, opts ...Option) (*Vendor, *vendingtest.Server) {
	t.Helper()
	srv := vendingtest.NewServer(srvOpts...)
	t.Cleanup(srv.Close)
	v, err := New(srv.Client(), mustResolver(t, testConfig()), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v, srv
}

func retrieve(t testing.TB, v *Vendor, ctx context.Context, r isolation.Resource) aws.Credentials {
	t.Helper()
	p, err := v.Credentials(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPoolSessionSendsExactlyTheTenantsRequest(t *testing.T) {
	v, srv := newTestVendor(t, nil, WithTransitiveTags(TagTenantID), WithSourceIdentity(func(tenant.Tenant) string { return "edge-service" }))
	ctx := tenantCtx(t, "acme", "basic")
	c := retrieve(t, v, ctx, isolation.Table)

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d AssumeRole calls", len(reqs))
	}
	r := reqs[0]
	wantPolicy, err := mustMerge(t, isolation.DynamoDBLeadingKeyPrefix(), isolation.S3Prefix(), isolation.KMSTenantKey()).Render(isolation.Values{
		TenantID: "acme", Tier: "basic", Partition: "aws", Region: "us-east-1", Account: "111122223333",
		Table: testTable, Bucket: testBucket, KMSKey: acmeKey})
	if err != nil {
		t.Fatal(err)
	}
	if r.RoleARN != poolRole || r.RoleSessionName != "tenant-acme" || r.Policy != wantPolicy ||
		r.DurationSeconds != 3600 || r.SourceIdentity != "edge-service" {
		t.Errorf("request %+v\nwant policy %s", r, wantPolicy)
	}
	if want := []vendingtest.Tag{{Key: "TenantID", Value: "acme"}, {Key: "Tier", Value: "basic"}}; fmt.Sprint(r.Tags) != fmt.Sprint(want) {
		t.Errorf("tags %v, want %v", r.Tags, want)
	}
	if fmt.Sprint(r.TransitiveTagKeys) != "[TenantID]" {
		t.Errorf("transitive keys %v", r.TransitiveTagKeys)
	}
	iss, ok := srv.Issued(c.AccessKeyID)
	if !ok || iss.Tenant() != "acme" || c.SecretAccessKey != iss.SecretAccessKey || c.SessionToken != iss.SessionToken ||
		!c.CanExpire || c.Source != credentialsSource || c.AccountID != "123456789012" {
		t.Errorf("credentials %+v, issued %+v", c, iss)
	}
	// Bucket and key go through the same role and policy: same session.
	if c2 := retrieve(t, v, ctx, isolation.Bucket); c2.AccessKeyID != c.AccessKeyID || srv.Count() != 1 {
		t.Errorf("bucket session differs or cost another call")
	}
	p, err := v.Placement(ctx)
	if err != nil || p.KMSKey.Name != acmeKey {
		t.Errorf("placement %+v %v", p, err)
	}
}

func mustMerge(t testing.TB, ts ...*isolation.Template) *isolation.Template {
	m, err := isolation.Merge(ts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSiloAssumesTheTenantsRoleWithoutPolicy(t *testing.T) {
	v, srv := newTestVendor(t, nil)
	retrieve(t, v, tenantCtx(t, "t2", "premium"), isolation.Table)
	r := srv.Requests()[0]
	if r.RoleARN != siloRoleOf+"t2" || r.Policy != "" || r.RoleSessionName != "tenant-t2" {
		t.Errorf("silo request %+v", r)
	}

	v, srv = newTestVendor(t, nil, WithSiloPolicies(true))
	retrieve(t, v, tenantCtx(t, "t2", "premium"), isolation.Table)
	if p := srv.Requests()[0].Policy; !strings.Contains(p, `"arn:aws:dynamodb:us-east-1:111122223333:table/orders-t2"`) ||
		!strings.Contains(p, `arn:aws:s3:::example-silo-t2/t2/*`) {
		t.Errorf("silo policy %s", p)
	}
}

func TestBridgeSessionPerResource(t *testing.T) {
	v, srv := newTestVendor(t, nil)
	ctx := tenantCtx(t, "t3", "plus")
	table := retrieve(t, v, ctx, isolation.Table)
	bucket := retrieve(t, v, ctx, isolation.Bucket)
	key := retrieve(t, v, ctx, isolation.KMSKey)
	if table.AccessKeyID == bucket.AccessKeyID || bucket.AccessKeyID != key.AccessKeyID {
		t.Errorf("sessions: table %s bucket %s key %s", table.AccessKeyID, bucket.AccessKeyID, key.AccessKeyID)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d calls, want one per role", len(reqs))
	}
	wantPolicy, _ := isolation.DynamoDBLeadingKeyPrefix().Render(isolation.Values{TenantID: "t3", Tier: "plus", Partition: "aws", Region: "us-east-1",
		Account: "111122223333", Table: testTable})
	if reqs[0].RoleARN != poolRole || reqs[0].Policy != wantPolicy {
		t.Errorf("pooled table: %+v", reqs[0])
	}
	if reqs[1].RoleARN != siloRoleOf+"t3" || reqs[1].Policy != "" {
		t.Errorf("siloed bucket: %+v", reqs[1])
	}
}

func TestNotPlacedResource(t *testing.T) {
	v, srv := newTestVendor(t, nil)
	// Pooled tenants other than acme have no KMS key.
	_, err := v.Credentials(tenantCtx(t, "t1", "basic"), isolation.KMSKey)
	if !errors.Is(err, isolation.ErrIncompletePlacement) {
		t.Fatalf("got %v", err)
	}
	if _, err := v.Credentials(tenantCtx(t, "t1", "basic"), isolation.Resource(7)); err == nil {
		t.Fatal("unknown resource accepted")
	}
	if srv.Count() != 0 {
		t.Fatal("STS called")
	}
}

func TestNoTenantFailsClosed(t *testing.T) {
	v, srv := newTestVendor(t, nil)
	if _, err := v.Credentials(context.Background(), isolation.Table); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("Credentials: %v", err)
	}
	if _, err := v.ContextProvider(isolation.Table).Retrieve(tenant.WithoutTenant(context.Background())); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("ContextProvider: %v", err)
	}
	if _, err := v.Placement(context.Background()); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("Placement: %v", err)
	}
	if srv.Count() != 0 {
		t.Fatal("STS called")
	}
}

// TestIsolation100Tenants50Goroutines: 100 tenants × 50 goroutines start
// at once; each must receive credentials that STS issued for its own
// tenant only, and the first wave must cost exactly one AssumeRole per
// tenant.
func TestIsolation100Tenants50Goroutines(t *testing.T) {
	const tenants, perTenant = 100, 50
	v, srv := newTestVendor(t, nil)
	// Hold every STS answer until all goroutines have asked, so that the
	// first wave really is concurrent.
	var asked sync.WaitGroup
	asked.Add(tenants * perTenant)
	srv.SetHook(func(vendingtest.Request) *vendingtest.Error { asked.Wait(); return nil })

	start := make(chan struct{})
	errs := make(chan error, tenants*perTenant)
	var wg sync.WaitGroup
	for i := range tenants {
		id := fmt.Sprintf("tenant-%03d", i)
		ctx := tenantCtx(t, id, "basic")
		for range perTenant {
			wg.Go(func() {
				<-start
				p, err := v.Credentials(ctx, isolation.Table)
				asked.Done()
				if err != nil {
					errs <- err
					return
				}
				c, err := p.Retrieve(ctx)
				if err != nil {
					errs <- err
					return
				}
				iss, ok := srv.Issued(c.AccessKeyID)
				switch {
				case !ok:
					errs <- fmt.Errorf("%s: credentials %s were not issued by STS", id, c.AccessKeyID)
				case iss.Tenant() != id || iss.Request.RoleSessionName != "tenant-"+id ||
					!strings.Contains(iss.Request.Policy, `"dynamodb:LeadingKeys":["`+id+`","`+id+`#*"]`):
					errs <- fmt.Errorf("%s received credentials issued for %s (%s)", id, iss.Tenant(), iss.Request.RoleSessionName)
				case c.SecretAccessKey != iss.SecretAccessKey || c.SessionToken != iss.SessionToken:
					errs <- fmt.Errorf("%s: credentials mixed up", id)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	reqs := srv.Requests()
	perID := map[string]int{}
	for _, r := range reqs {
		tag, _ := r.Tag(TagTenantID)
		perID[tag]++
	}
	if len(reqs) != tenants || len(perID) != tenants {
		t.Fatalf("first wave: %d AssumeRole calls for %d tenants, want exactly one each", len(reqs), len(perID))
	}
	for id, n := range perID {
		if n != 1 {
			t.Errorf("%s: %d calls", id, n)
		}
	}
	// A second wave is served from the cache.
	for i := range tenants {
		retrieve(t, v, tenantCtx(t, fmt.Sprintf("tenant-%03d", i), "basic"), isolation.Table)
	}
	if n := srv.Count(); n != tenants {
		t.Errorf("second wave made %d more calls", n-tenants)
	}
}

// TestIsolationUnderEviction runs many tenants through a cache far smaller
// than their number: entries are evicted and rebuilt while in use, and no
// request may receive another tenant's credentials.
func TestIsolationUnderEviction(t *testing.T) {
	v, srv := newTestVendor(t, nil, WithCacheSize(5))
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("t%d", (g*7+i)%23)
				ctx := tenantCtx(t, id, "basic")
				p, err := v.Credentials(ctx, isolation.Table)
				if err != nil {
					t.Error(err)
					return
				}
				c, err := p.Retrieve(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if iss, _ := srv.Issued(c.AccessKeyID); iss.Tenant() != id {
					t.Errorf("%s received %s's credentials", id, iss.Tenant())
					return
				}
			}
		})
	}
	wg.Wait()
	if n := v.Len(); n > 5 {
		t.Errorf("cache holds %d entries, bound 5", n)
	}
}

func TestCacheBoundAndEviction(t *testing.T) {
	v, srv := newTestVendor(t, nil, WithCacheSize(8))
	for i := range 100 {
		retrieve(t, v, tenantCtx(t, fmt.Sprintf("t%d", i), "basic"), isolation.Table)
		if n := v.Len(); n > 8 {
			t.Fatalf("%d entries after %d tenants", n, i+1)
		}
	}
	if v.Len() != 8 {
		t.Errorf("Len %d, want 8", v.Len())
	}
	// t0 was evicted long ago: it costs a new call, and is cached again.
	before := srv.Count()
	retrieve(t, v, tenantCtx(t, "t0", "basic"), isolation.Table)
	retrieve(t, v, tenantCtx(t, "t0", "basic"), isolation.Table)
	if srv.Count() != before+1 {
		t.Errorf("evicted tenant: %d calls", srv.Count()-before)
	}
	// Invalidate drops a tenant.
	v.Invalidate("t0")
	retrieve(t, v, tenantCtx(t, "t0", "basic"), isolation.Table)
	if srv.Count() != before+2 {
		t.Errorf("after Invalidate: %d calls", srv.Count()-before)
	}
}

func TestClockKeepsRecentlyUsedEntries(t *testing.T) {
	c := newCacheShards(3, 1) // one shard, to test CLOCK itself
	s := c.shards.At(0)
	if s.cap != 3 {
		t.Fatalf("one shard of capacity %d, want 3", s.cap)
	}
	k := func(id string) entryKey { return entryKey{id: id} }
	for _, id := range []string{"a", "b", "c"} {
		s.getOrCreate(k(id))
	}
	s.get(k("a")) // a is used again: it survives the next eviction
	s.getOrCreate(k("d"))
	if s.get(k("a")) == nil || s.get(k("b")) != nil || len(s.m) != 3 || len(s.ring) != 3 {
		t.Errorf("CLOCK evicted the wrong entry: %v", s.m)
	}
	for _, e := range s.ring {
		if s.ring[e.slot] != e || s.m[e.key] != e {
			t.Fatalf("ring and map disagree")
		}
	}
	s.remove(s.get(k("c")))
	if len(s.m) != 2 || len(s.ring) != 2 {
		t.Errorf("remove: %d, %d", len(s.m), len(s.ring))
	}
	for i, e := range s.ring {
		if e.slot != i {
			t.Fatalf("slot %d at %d", e.slot, i)
		}
	}
}

func TestTierAndSourceIdentitySeparateSessions(t *testing.T) {
	var who atomic.Value
	who.Store("alice")
	v, srv := newTestVendor(t, nil, WithSourceIdentity(func(tenant.Tenant) string { return who.Load().(string) }))
	a := retrieve(t, v, tenantCtx(t, "acme", "basic"), isolation.Table)
	who.Store("bob")
	b := retrieve(t, v, tenantCtx(t, "acme", "basic"), isolation.Table)
	c := retrieve(t, v, tenantCtx(t, "acme", "premium"), isolation.Table)
	if a.AccessKeyID == b.AccessKeyID || b.AccessKeyID == c.AccessKeyID || srv.Count() != 3 {
		t.Fatalf("sessions not separated")
	}
	if reqs := srv.Requests(); reqs[0].SourceIdentity != "alice" || reqs[1].SourceIdentity != "bob" || reqs[2].RoleARN != siloRoleOf+"acme" {
		t.Errorf("requests %+v", reqs)
	}
	who.Store("not valid!")
	if _, err := v.Credentials(tenantCtx(t, "acme", "basic"), isolation.Table); !errors.Is(err, isolation.ErrInvalidValue) {
		t.Errorf("invalid source identity: %v", err)
	}
}

func TestNoTierTagWithoutTier(t *testing.T) {
	c := testConfig()
	c.DefaultTier = "basic"
	srv := vendingtest.NewServer()
	defer srv.Close()
	v, err := New(srv.Client(), mustResolver(t, c), WithTransitiveTags(TagTenantID, TagTier))
	if err != nil {
		t.Fatal(err)
	}
	retrieve(t, v, tenantCtx(t, "acme", ""), isolation.Table)
	r := srv.Requests()[0]
	if fmt.Sprint(r.Tags) != "[{TenantID acme}]" || fmt.Sprint(r.TransitiveTagKeys) != "[TenantID]" {
		t.Errorf("tags %v transitive %v", r.Tags, r.TransitiveTagKeys)
	}
}

func TestSessionName(t *testing.T) {
	valid := regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	long1, long2 := strings.Repeat("a", 64), strings.Repeat("a", 63)+"b"
	names := map[string]bool{}
	for _, tc := range []struct{ prefix, id string }{
		{"tenant-", "acme"}, {"tenant-", long1}, {"tenant-", long2}, {"", "a"}, {"", "ab"}, {"", long1}, {"x", "y"},
	} {
		n := sessionName(tc.prefix, tc.id)
		if !valid.MatchString(n) {
			t.Errorf("%q+%q: invalid session name %q", tc.prefix, tc.id, n)
		}
		if names[n] {
			t.Errorf("%q+%q: duplicate session name %q", tc.prefix, tc.id, n)
		}
		names[n] = true
	}
	if sessionName("tenant-", "acme") != "tenant-acme" || sessionName("", "a") != "a=" {
		t.Error("short names changed")
	}
}

// TestSessionNameCollisionResistance is a birthday search for two long
// tenant IDs that share a shortened session name. With a 32-bit hash it
// finds several among 300,000 IDs; with 80 bits the chance is about 4e-14.
func TestSessionNameCollisionResistance(t *testing.T) {
	const n = 300_000
	base := strings.Repeat("t", 56)
	seen := make(map[string]int, n)
	for i := range n {
		id := base + strconv.Itoa(i)
		name := sessionName("tenant-", id)
		if j, dup := seen[name]; dup {
			t.Fatalf("tenants %d and %d share session name %q", j, i, name)
		}
		seen[name] = i
	}
}

func TestSTSErrorsAreTyped(t *testing.T) {
	for _, tc := range []struct {
		inject vendingtest.Error
		want   error
	}{
		{vendingtest.Throttling, ErrThrottled},
		{vendingtest.PackedPolicyTooLarge, isolation.ErrPolicyTooLarge},
		{vendingtest.AccessDenied, ErrAccessDenied},
		{vendingtest.ExpiredToken, ErrExpiredToken},
		{vendingtest.MalformedPolicyDocument, ErrMalformedPolicy},
	} {
		v, srv := newTestVendor(t, nil)
		ctx := tenantCtx(t, "acme", "basic")
		srv.Inject(tc.inject, 1)
		p, err := v.Credentials(ctx, isolation.Table)
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.Retrieve(ctx)
		var se *STSError
		var ae smithy.APIError
		if !errors.Is(err, tc.want) || !errors.As(err, &se) || se.Code != tc.inject.Code || se.TenantID != "acme" ||
			se.RoleARN != poolRole || !errors.As(err, &ae) || c.HasKeys() {
			t.Errorf("%s: got %v (%+v)", tc.inject.Code, err, c)
		}
		for _, other := range []error{ErrThrottled, isolation.ErrPolicyTooLarge, ErrAccessDenied, ErrExpiredToken, ErrMalformedPolicy} {
			if other != tc.want && errors.Is(err, other) {
				t.Errorf("%s also matches %v", tc.inject.Code, other)
			}
		}
		if srv.Count() != 1 {
			t.Errorf("%s: %d calls", tc.inject.Code, srv.Count())
		}
		// Errors are not cached: the next request gets credentials.
		if c, err := p.Retrieve(ctx); err != nil || !c.HasKeys() {
			t.Errorf("%s: after the error: %v", tc.inject.Code, err)
		}
	}
}

func TestThrottlingThroughSDKRetries(t *testing.T) {
	srv := vendingtest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	}
	v, err := New(sts.NewFromConfig(cfg), mustResolver(t, testConfig()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenantCtx(t, "acme", "basic")

	srv.Inject(vendingtest.Throttling, 2) // retried away
	if c := retrieve(t, v, ctx, isolation.Table); !c.HasKeys() || srv.Count() != 3 {
		t.Fatalf("retries: %d calls", srv.Count())
	}
	v.Invalidate("acme")
	srv.Reset()
	srv.Inject(vendingtest.Throttling, -1) // persistent: surfaces typed after the retries
	defer srv.ClearInjected()
	p, err := v.Credentials(ctx, isolation.Table)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(ctx); !errors.Is(err, ErrThrottled) || srv.Count() != 3 {
		t.Fatalf("persistent throttling: %v after %d calls", err, srv.Count())
	}
}

// fakeSTS answers AssumeRole with a fixed output.
type fakeSTS struct{ out *sts.AssumeRoleOutput }

func (f fakeSTS) AssumeRole(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	return f.out, nil
}

func TestForeignAnswerIsRefused(t *testing.T) {
	creds := &types.Credentials{AccessKeyId: aws.String("ASIAX"), SecretAccessKey: aws.String("s"), SessionToken: aws.String("t"),
		Expiration: aws.Time(time.Now().Add(time.Hour))}
	for name, out := range map[string]*sts.AssumeRoleOutput{
		"other session": {Credentials: creds, AssumedRoleUser: &types.AssumedRoleUser{Arn: aws.String("arn:aws:sts::1:assumed-role/tenant-pool/tenant-other")}},
		"suffix trick":  {Credentials: creds, AssumedRoleUser: &types.AssumedRoleUser{Arn: aws.String("arn:aws:sts::1:assumed-role/tenant-pool/xtenant-acme")}},
		"no user":       {Credentials: creds},
		"no creds":      {AssumedRoleUser: &types.AssumedRoleUser{Arn: aws.String("arn:aws:sts::1:assumed-role/tenant-pool/tenant-acme")}},
	} {
		v, err := New(fakeSTS{out}, mustResolver(t, testConfig()))
		if err != nil {
			t.Fatal(err)
		}
		ctx := tenantCtx(t, "acme", "basic")
		p, _ := v.Credentials(ctx, isolation.Table)
		if c, err := p.Retrieve(ctx); !errors.Is(err, ErrCredentialsMismatch) || c.HasKeys() {
			t.Errorf("%s: got %+v, %v", name, c, err)
		}
	}
}

func TestPolicyTooLargeBeforeAnySTSCall(t *testing.T) {
	big := isolation.MustParseTemplate(`{"Version":"2012-10-17","Statement":[{"Sid":"Big","Effect":"Allow","Action":"dynamodb:GetItem",
		"Resource":"${table}","Condition":{"StringEquals":{"dynamodb:Attributes":["` + strings.Repeat("attribute-name-", 140) + `"]}}}]}`)
	v, srv := newTestVendor(t, nil, WithPolicy(isolation.Table, big))
	_, err := v.Credentials(tenantCtx(t, "acme", "basic"), isolation.Table)
	var se *isolation.PolicySizeError
	if !errors.Is(err, isolation.ErrPolicyTooLarge) || !errors.As(err, &se) || se.Len <= isolation.MaxSessionPolicyLen {
		t.Fatalf("got %v", err)
	}
	if srv.Count() != 0 {
		t.Fatalf("STS was called %d times", srv.Count())
	}
	// Failures are not cached either.
	if _, err := v.Credentials(tenantCtx(t, "acme", "basic"), isolation.Table); !errors.Is(err, isolation.ErrPolicyTooLarge) || v.Len() != 0 {
		t.Fatalf("second try: %v, %d entries", err, v.Len())
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	// Credentials last one minute plus 700ms; the window is one minute, no
	// jitter: they must be refreshed after 700ms, not before.
	v, srv := newTestVendor(t, []vendingtest.Option{vendingtest.WithLifetime(time.Minute + 700*time.Millisecond)},
		WithExpiryWindow(time.Minute, 0))
	ctx := tenantCtx(t, "acme", "basic")
	first := retrieve(t, v, ctx, isolation.Table)
	if again := retrieve(t, v, ctx, isolation.Table); again.AccessKeyID != first.AccessKeyID {
		t.Fatal("refreshed too early")
	}
	time.Sleep(time.Until(first.Expires) + 50*time.Millisecond)
	second := retrieve(t, v, ctx, isolation.Table)
	if second.AccessKeyID == first.AccessKeyID || srv.Count() != 2 {
		t.Fatalf("not refreshed: %d calls", srv.Count())
	}
	if iss, _ := srv.Issued(second.AccessKeyID); iss.Tenant() != "acme" {
		t.Fatal("refreshed credentials belong to another tenant")
	}
}

func TestExpiryJitter(t *testing.T) {
	now := time.Now()
	v, srv := newTestVendor(t, []vendingtest.Option{vendingtest.WithClock(func() time.Time { return now })},
		WithSessionDuration(2*time.Hour), WithExpiryWindow(10*time.Minute, 0.5))
	for i := range 20 {
		c := retrieve(t, v, tenantCtx(t, fmt.Sprintf("t%d", i), "basic"), isolation.Table)
		iss, _ := srv.Issued(c.AccessKeyID)
		early := iss.Expiration.Sub(c.Expires)
		if early < 5*time.Minute || early > 10*time.Minute {
			t.Errorf("refresh %v before expiry, want within [5m, 10m]", early)
		}
	}
	if d := srv.Requests()[0].DurationSeconds; d != 7200 {
		t.Errorf("DurationSeconds %d", d)
	}
}

func TestBoundProviderRefusesAnotherTenant(t *testing.T) {
	v, _ := newTestVendor(t, nil)
	p, err := v.Credentials(tenantCtx(t, "acme", "basic"), isolation.Table)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(tenantCtx(t, "globex", "basic")); !errors.Is(err, ErrTenantMismatch) {
		t.Errorf("other tenant: %v", err)
	}
	// A context without a tenant (a background job holding the provider)
	// gets the bound tenant's credentials.
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Errorf("no tenant: %v", err)
	}
}

func TestContextProvider(t *testing.T) {
	v, srv := newTestVendor(t, nil)
	p := v.ContextProvider(isolation.Table)
	for _, id := range []string{"acme", "globex", "acme"} {
		c, err := p.Retrieve(tenantCtx(t, id, "basic"))
		if err != nil {
			t.Fatal(err)
		}
		if iss, _ := srv.Issued(c.AccessKeyID); iss.Tenant() != id {
			t.Errorf("%s got %s's credentials", id, iss.Tenant())
		}
	}
	if srv.Count() != 2 {
		t.Errorf("%d calls", srv.Count())
	}
}

// A shared STS client used through the SDK: the context provider as the
// Credentials of a client that serves every tenant signs each call with
// the credentials of that call's tenant.
func TestContextProviderSignsPerCall(t *testing.T) {
	v, srv := newTestVendor(t, nil)
	data := vendingtest.NewServer()
	defer data.Close()
	cfg := data.Config()
	cfg.Credentials = v.ContextProvider(isolation.Table)
	client := sts.NewFromConfig(cfg)
	in := &sts.AssumeRoleInput{RoleArn: aws.String(poolRole), RoleSessionName: aws.String("probe")}
	// The data server refuses callers that are not its configured caller,
	// so signatures show up as InvalidClientTokenId; what matters is which
	// access key signed. Record it from the Authorization header.
	for _, id := range []string{"acme", "globex"} {
		_, err := client.AssumeRole(tenantCtx(t, id, "basic"), in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if _, err := client.AssumeRole(context.Background(), in); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("no tenant: %v", err)
	}
	if srv.Count() != 2 {
		t.Errorf("%d vendor calls", srv.Count())
	}
}

func TestConcurrentFirstRequestsResolveOnce(t *testing.T) {
	srv := vendingtest.NewServer()
	defer srv.Close()
	base := mustResolver(t, testConfig())
	var calls atomic.Int32
	release := make(chan struct{})
	r := isolation.ResolverFunc(func(ctx context.Context, tn tenant.Tenant) (isolation.Placement, error) {
		calls.Add(1)
		<-release
		return base.Resolve(ctx, tn)
	})
	v, err := New(srv.Client(), r)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenantCtx(t, "acme", "basic")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := v.Credentials(ctx, isolation.Table); err != nil {
				t.Error(err)
			}
		})
	}
	// A waiter whose context ends stops waiting; the others are unaffected.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := v.Credentials(canceled, isolation.Table); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled waiter: %v", err)
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("resolver called %d times", n)
	}
}

func TestResolverErrorsAreNotCached(t *testing.T) {
	srv := vendingtest.NewServer()
	defer srv.Close()
	base := mustResolver(t, testConfig())
	fail := errors.New("registry down")
	var n atomic.Int32
	r := isolation.ResolverFunc(func(ctx context.Context, tn tenant.Tenant) (isolation.Placement, error) {
		if n.Add(1) == 1 {
			return isolation.Placement{}, fail
		}
		return base.Resolve(ctx, tn)
	})
	v, _ := New(srv.Client(), r)
	ctx := tenantCtx(t, "acme", "basic")
	if _, err := v.Credentials(ctx, isolation.Table); !errors.Is(err, fail) {
		t.Fatalf("got %v", err)
	}
	if _, err := v.Credentials(ctx, isolation.Table); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestResolverReturningAnotherTenantIsRefused(t *testing.T) {
	srv := vendingtest.NewServer()
	defer srv.Close()
	base := mustResolver(t, testConfig())
	r := isolation.ResolverFunc(func(ctx context.Context, _ tenant.Tenant) (isolation.Placement, error) {
		return base.Resolve(ctx, mustTenant(t, "globex", "basic"))
	})
	v, _ := New(srv.Client(), r)
	if _, err := v.Credentials(tenantCtx(t, "acme", "basic"), isolation.Table); !errors.Is(err, isolation.ErrInvalidPlacement) {
		t.Fatalf("got %v", err)
	}
}

func TestResolverPanicDoesNotStrandWaiters(t *testing.T) {
	srv := vendingtest.NewServer()
	defer srv.Close()
	v, _ := New(srv.Client(), isolation.ResolverFunc(func(context.Context, tenant.Tenant) (isolation.Placement, error) { panic("boom") }))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		v.Credentials(tenantCtx(t, "acme", "basic"), isolation.Table)
	}()
	if v.Len() != 0 {
		t.Error("failed entry kept")
	}
}

// TestNewVendorValidatesOptions: every invalid option value fails New with
// an error wrapping ErrInvalidOption that names the option; none is
// ignored or replaced by a default.
func TestNewVendorValidatesOptions(t *testing.T) {
	srv := vendingtest.NewServer()
	defer srv.Close()
	r := mustResolver(t, testConfig())
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"WithSessionDuration", []Option{WithSessionDuration(time.Minute)}},
		{"WithSessionDuration", []Option{WithSessionDuration(13 * time.Hour)}},
		{"WithExpiryWindow", []Option{WithExpiryWindow(2*time.Hour, 0)}},
		{"WithExpiryWindow", []Option{WithSessionDuration(time.Hour), WithExpiryWindow(time.Hour, 0)}},
		{"WithExpiryWindow", []Option{WithExpiryWindow(-time.Second, 0)}},
		{"WithExpiryWindow", []Option{WithExpiryWindow(time.Minute, 1.5)}},
		{"WithExpiryWindow", []Option{WithExpiryWindow(time.Minute, -0.1)}},
		{"WithCacheSize", []Option{WithCacheSize(0)}},
		{"WithCacheSize", []Option{WithCacheSize(-1)}},
		{"WithTransitiveTags", []Option{WithTransitiveTags("Other")}},
		{"WithSessionNamePrefix", []Option{WithSessionNamePrefix("a/b")}},
		{"WithSessionNamePrefix", []Option{WithSessionNamePrefix(strings.Repeat("p", 33))}},
		{"WithPolicy", []Option{WithPolicy(isolation.Bucket, nil)}},
		{"WithPolicy", []Option{WithPolicy(isolation.Resource(9), isolation.S3Prefix())}},
		{"WithSourceIdentity", []Option{WithSourceIdentity(nil)}},
		{"WithSTSTimeout", []Option{WithSTSTimeout(0)}},
		{"WithSTSTimeout", []Option{WithSTSTimeout(-time.Second)}},
		{"a nil Option", []Option{nil}},
	} {
		v, err := New(srv.Client(), r, tc.opts...)
		if v != nil || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: %v, %v; want an error wrapping ErrInvalidOption that names it", tc.name, v, err)
		}
	}
	if _, err := New(srv.Client(), r, WithSessionDuration(2*time.Hour), WithExpiryWindow(time.Hour, 1), WithCacheSize(1)); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

// TestNewVendorRejectsNilDependencies: a nil client or resolver, or an
// interface holding a nil pointer, fails New with a message naming it
// instead of a nil dereference on the first request.
func TestNewVendorRejectsNilDependencies(t *testing.T) {
	srv := vendingtest.NewServer()
	defer srv.Close()
	r := mustResolver(t, testConfig())
	var nilSTS *sts.Client
	var nilResolver *isolation.ConfigResolver
	for _, tc := range []struct {
		name     string
		client   AssumeRoleAPIClient
		resolver isolation.Resolver
		want     string
	}{
		{"nil client", nil, r, "STS client is nil"},
		{"typed-nil client", nilSTS, r, "STS client is a nil *sts.Client"},
		{"nil resolver", srv.Client(), nil, "resolver is nil"},
		{"typed-nil resolver", srv.Client(), nilResolver, "resolver is a nil *isolation.ConfigResolver"},
	} {
		v, err := New(tc.client, tc.resolver)
		if v != nil || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, %v; want an error saying %q", tc.name, v, err, tc.want)
		}
	}
}

// TestKMSContextPolicyNamesTheVendorsTag: the encryption-context template
// compares with the very session tag the vendor sets, and is sent as the
// pooled session's policy when configured.
func TestKMSContextPolicyNamesTheVendorsTag(t *testing.T) {
	v, srv := newTestVendor(t, nil, WithPolicy(isolation.KMSKey, isolation.KMSTenantContext()))
	ctx := tenantCtx(t, "acme", "basic")
	retrieve(t, v, ctx, isolation.KMSKey)
	r := srv.Requests()[0]
	if !strings.Contains(r.Policy, `"kms:EncryptionContext:tenant_id":"${aws:PrincipalTag/`+TagTenantID+`}"`) {
		t.Errorf("policy %s does not compare with the %s tag", r.Policy, TagTenantID)
	}
	if tag, ok := r.Tag(TagTenantID); !ok || tag != "acme" {
		t.Errorf("tag %s = %q, %v", TagTenantID, tag, ok)
	}
}

package kmsenvelope

import (
	"context"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"go.uber.org/goleak"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/tenant"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// endpoint returns the KMS-compatible server of scripts/with-local-kms.sh.
// Without one the test skips, except under CI=true, where it fails: no KMS
// test may silently skip in CI.
func endpoint(tb testing.TB) string {
	tb.Helper()
	ep := os.Getenv("TENANTKIT_KMS_ENDPOINT")
	if ep == "" {
		const why = "TENANTKIT_KMS_ENDPOINT is not set (run the tests through scripts/with-local-kms.sh)"
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s; CI=true, so KMS tests may not skip", why)
		}
		tb.Skip(why)
	}
	return ep
}

func region() string {
	if r := os.Getenv("TENANTKIT_KMS_REGION"); r != "" {
		return r
	}
	return "us-east-1"
}

// newClient returns a real SDK client for the local server, with static
// credentials and its own HTTP transport, whose idle connections are closed
// when the test ends (goleak checks that nothing is left).
func newClient(tb testing.TB) *kms.Client {
	tb.Helper()
	ep := endpoint(tb)
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	tb.Cleanup(tr.CloseIdleConnections)
	return kms.New(kms.Options{
		Region:       region(),
		BaseEndpoint: aws.String(ep),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		HTTPClient:       &http.Client{Transport: tr, Timeout: 10 * time.Second},
		RetryMaxAttempts: 1,
	})
}

// createKey creates a symmetric key and returns its ARN.
func createKey(tb testing.TB, c *kms.Client) string {
	tb.Helper()
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String(tb.Name())})
	if err != nil {
		tb.Fatalf("CreateKey: %v", err)
	}
	return *out.KeyMetadata.Arn
}

// counting wraps the real client and counts the calls this package makes.
type counting struct {
	c        KMSAPI
	generate atomic.Int64
	decrypt  atomic.Int64

	mu        sync.Mutex
	generated map[string]time.Time // encrypted data key -> when GenerateDataKey returned it
	contexts  []map[string]string  // the encryption context of every call
	keyIDs    []string             // the KeyId of every call
}

func newCounting(c KMSAPI) *counting {
	return &counting{c: c, generated: map[string]time.Time{}}
}

func (c *counting) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.generate.Add(1)
	c.record(in.EncryptionContext, in.KeyId)
	out, err := c.c.GenerateDataKey(ctx, in, opts...)
	if err == nil {
		c.mu.Lock()
		c.generated[string(out.CiphertextBlob)] = time.Now()
		c.mu.Unlock()
	}
	return out, err
}

func (c *counting) Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.decrypt.Add(1)
	c.record(in.EncryptionContext, in.KeyId)
	return c.c.Decrypt(ctx, in, opts...)
}

func (c *counting) record(ec map[string]string, keyID *string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.contexts = append(c.contexts, maps.Clone(ec))
	c.keyIDs = append(c.keyIDs, aws.ToString(keyID))
}

func (c *counting) calls() int64 { return c.generate.Load() + c.decrypt.Load() }

func (c *counting) generatedAt(encrypted []byte) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.generated[string(encrypted)]
	return t, ok
}

// tenantCtx returns a context carrying tenant id.
func tenantCtx(tb testing.TB, id string) context.Context {
	tb.Helper()
	t, err := tenant.New(id, "basic")
	if err != nil {
		tb.Fatal(err)
	}
	return tenant.NewContext(context.Background(), t)
}

// placements returns an isolation resolver that gives each tenant of keys
// its own pooled KMS key.
func placements(tb testing.TB, keys map[string]string) isolation.Resolver {
	tb.Helper()
	cfg := isolation.Config{
		Region: region(),
		Pool: isolation.Resources{
			RoleARN: "arn:aws:iam::111122223333:role/tenant-pool",
			Table:   "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
		},
		Tiers:         map[string]isolation.Deployment{"basic": {Model: isolation.Pool}},
		Tenants:       map[string]isolation.Override{},
		RequireListed: true,
	}
	for id, key := range keys {
		cfg.Tenants[id] = isolation.Override{Pool: isolation.Resources{KMSKeyARN: key}}
	}
	r, err := isolation.NewConfigResolver(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func mustNew(tb testing.TB, c KMSAPI, keys KeyResolver, opts ...Option) *Envelope {
	tb.Helper()
	e, err := New(c, keys, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

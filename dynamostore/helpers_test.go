package dynamostore_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// endpoint returns the DynamoDB-compatible server of
// scripts/with-dynalite.sh. Without one the test skips, except under
// CI=true, where it fails: no DynamoDB test may silently skip in CI.
func endpoint(tb testing.TB) string {
	tb.Helper()
	ep := os.Getenv("TENANTKIT_DYNAMODB_ENDPOINT")
	if ep == "" {
		const why = "TENANTKIT_DYNAMODB_ENDPOINT is not set (run the tests through scripts/with-dynalite.sh)"
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s; CI=true, so DynamoDB tests may not skip", why)
		}
		tb.Skip(why)
	}
	return ep
}

// newClient returns a real SDK client for the endpoint, with static
// credentials and its own HTTP transport, whose idle connections are closed
// when the test ends (goleak checks that nothing is left). Options in
// extra are applied last.
func newClient(tb testing.TB, ep string, extra ...func(*dynamodb.Options)) *dynamodb.Client {
	tb.Helper()
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	tb.Cleanup(tr.CloseIdleConnections)
	opts := dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(ep),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		HTTPClient: &http.Client{Transport: tr},
	}
	return dynamodb.New(opts, extra...)
}

var tableSeq atomic.Int64

// tableName returns a table name of its own for tb.
func tableName(tb testing.TB) string {
	name := strings.Map(func(r rune) rune {
		if r == '_' || r == '.' || r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return r
		}
		return '-'
	}, tb.Name())
	if len(name) > 180 {
		name = name[:180]
	}
	return fmt.Sprintf("%s-%d-%d", name, os.Getpid(), tableSeq.Add(1))
}

// createTable creates the package's default single-table layout (pk, sk and
// the key index gsi1 on gsi1pk, gsi1sk) and waits until it is active.
func createTable(tb testing.TB, c *dynamodb.Client) string {
	tb.Helper()
	name := tableName(tb)
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("gsi1pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("gsi1sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String("gsi1"),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("gsi1pk"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("gsi1sk"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	if err != nil {
		tb.Fatalf("CreateTable %s: %v", name, err)
	}
	waitActive(tb, c, name)
	return name
}

// createHashTable creates a table keyed by the string attribute key alone,
// as a control plane's tenant table may be.
func createHashTable(tb testing.TB, c *dynamodb.Client, key string) string {
	tb.Helper()
	name := tableName(tb)
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		tb.Fatalf("CreateTable %s: %v", name, err)
	}
	waitActive(tb, c, name)
	return name
}

func waitActive(tb testing.TB, c *dynamodb.Client, name string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := c.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			tb.Fatalf("DescribeTable %s: %v", name, err)
		}
		active := out.Table.TableStatus == types.TableStatusActive
		for _, g := range out.Table.GlobalSecondaryIndexes {
			active = active && g.IndexStatus == types.IndexStatusActive
		}
		if active {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("table %s not active after 10 s: %v", name, out.Table.TableStatus)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Cleanup(func() {
		_, _ = c.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
}

// put writes item as the control plane would, with a plain PutItem.
func put(tb testing.TB, c *dynamodb.Client, table string, item map[string]types.AttributeValue) {
	tb.Helper()
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		tb.Fatalf("PutItem: %v", err)
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

// tenantItem is a control plane's tenant item in the default layout.
func tenantItem(id string, attrs map[string]types.AttributeValue) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{"pk": s("TENANT#" + id), "sk": s("TENANT")}
	for k, v := range attrs {
		item[k] = v
	}
	return item
}

// closedEndpoint returns the address of a loopback port that nothing
// listens on.
func closedEndpoint(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// noRetry makes a client try once, so a test of a failure does not wait
// through the retryer's backoff.
func noRetry(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }

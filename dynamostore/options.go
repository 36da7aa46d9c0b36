package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/internal/nilarg"
)

// DynamoDBAPI is the part of *dynamodb.Client that this package uses; a
// *dynamodb.Client satisfies it.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, params *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Defaults of the table layout; see the package documentation.
const (
	DefaultPartitionKey    = "pk"
	DefaultSortKey         = "sk"
	DefaultTenantKeyPrefix = "TENANT#"
	DefaultTenantSortValue = "TENANT"
	DefaultStatusAttribute = "status"
	DefaultTierAttribute   = "tier"
	DefaultPlanAttribute   = "plan"
	DefaultKeyPrefix       = "KEY#"
	DefaultKeySortValue    = "KEY"
	DefaultKeyIndex        = "gsi1"
	DefaultIndexPartition  = "gsi1pk"
	DefaultIndexSort       = "gsi1sk"
	DefaultMaxUpdateTries  = 5
)

// ErrInvalidOption is wrapped by the error [NewDirectory] and [NewKeyStore]
// return for an option with an invalid value, an option that does not apply
// to what is being built, a nil client or an empty table name; the message
// names the option or parameter.
var ErrInvalidOption = errors.New("dynamostore: invalid option")

// Option configures a [Directory] or a [KeyStore]. The layout options
// ([WithPartitionKey], [WithSortKey], [WithConsistentRead]) apply to both;
// the others say which one they configure, and given to the other
// constructor they are an error.
type Option func(*config)

type kind int

const (
	kindDirectory kind = iota + 1
	kindKeyStore
)

func (k kind) String() string {
	if k == kindDirectory {
		return "NewDirectory"
	}
	return "NewKeyStore"
}

type config struct {
	kind       kind
	pk, sk     string
	consistent bool

	// Directory.
	tenantPrefix string
	tenantSort   string
	statusAttr   string
	tierAttr     string
	planAttr     string
	statuses     map[string]directory.Status

	// Key store.
	keyPrefix  string
	keySort    string
	index      string
	indexPK    string
	indexSK    string
	maxUpdates int

	err error // the first invalid option
}

func newConfig(k kind, client DynamoDBAPI, table string, opts []Option) (config, error) {
	c := config{
		kind:         k,
		pk:           DefaultPartitionKey,
		sk:           DefaultSortKey,
		tenantPrefix: DefaultTenantKeyPrefix,
		tenantSort:   DefaultTenantSortValue,
		statusAttr:   DefaultStatusAttribute,
		tierAttr:     DefaultTierAttribute,
		planAttr:     DefaultPlanAttribute,
		statuses:     defaultStatuses(),
		keyPrefix:    DefaultKeyPrefix,
		keySort:      DefaultKeySortValue,
		index:        DefaultKeyIndex,
		indexPK:      DefaultIndexPartition,
		indexSK:      DefaultIndexSort,
		maxUpdates:   DefaultMaxUpdateTries,
	}
	if d := nilarg.Describe(client); d != "" {
		c.fail("%v: the client is %s", k, d)
	}
	if table == "" {
		c.fail("%v: an empty table name", k)
	}
	for _, o := range opts {
		if o == nil {
			c.fail("a nil Option")
			continue
		}
		o(&c)
	}
	if c.err == nil && c.kind == kindKeyStore {
		names := map[string]string{c.pk: "partition key"}
		for _, a := range []struct{ name, what string }{
			{c.sk, "sort key"}, {c.indexPK, "index partition key"}, {c.indexSK, "index sort key"},
		} {
			if a.name == "" {
				continue
			}
			if other, ok := names[a.name]; ok {
				c.fail("%v: the %s and the %s are both attribute %q", k, other, a.what, a.name)
				break
			}
			names[a.name] = a.what
		}
		for _, a := range keyAttributes {
			if what, ok := names[a]; ok && c.err == nil {
				c.fail("%v: the %s %q is an attribute of the key item", k, what, a)
			}
		}
	}
	if c.err == nil && c.kind == kindDirectory {
		seen := map[string]bool{c.pk: true, c.sk: true}
		for _, a := range []string{c.statusAttr, c.tierAttr, c.planAttr} {
			if seen[a] {
				c.fail("%v: attribute %q is used twice", k, a)
				break
			}
			seen[a] = true
		}
	}
	return c, c.err
}

// fail records the first invalid option; the constructor returns it.
func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// only fails unless the option applies to what is being built.
func (c *config) only(k kind, name string) bool {
	if c.kind != k {
		c.fail("%s is an option of %v, not of %v", name, k, c.kind)
		return false
	}
	return true
}

// WithPartitionKey names the table's partition key attribute (a string).
// Default "pk".
func WithPartitionKey(name string) Option {
	return func(c *config) {
		if name == "" {
			c.fail("WithPartitionKey(%q): an empty attribute name", name)
			return
		}
		c.pk = name
	}
}

// WithSortKey names the table's sort key attribute (a string), or with ""
// says that the table has none (a control-plane table keyed by the tenant
// ID alone). Default "sk".
func WithSortKey(name string) Option {
	return func(c *config) { c.sk = name }
}

// WithConsistentRead makes a Directory's lookups and a KeyStore's Get
// strongly consistent reads (twice the read capacity of the default,
// eventually consistent, reads). A KeyStore's Update always reads
// consistently; its List reads a global secondary index, which is always
// eventually consistent.
func WithConsistentRead(on bool) Option {
	return func(c *config) { c.consistent = on }
}

// WithTenantKey sets how a Directory finds a tenant's item: the partition
// key is prefix followed by the tenant ID, and the sort key (when the table
// has one) is sortValue. Defaults "TENANT#" and "TENANT"; a control-plane
// table keyed by the bare tenant ID is WithTenantKey("", "") with
// WithSortKey("").
func WithTenantKey(prefix, sortValue string) Option {
	return func(c *config) {
		if !c.only(kindDirectory, "WithTenantKey") {
			return
		}
		c.tenantPrefix, c.tenantSort = prefix, sortValue
	}
}

// WithStatusAttribute names the attribute that holds a tenant's status (a
// string; see [WithStatusValues]). Default "status".
func WithStatusAttribute(name string) Option {
	return func(c *config) {
		if !c.only(kindDirectory, "WithStatusAttribute") {
			return
		}
		if name == "" {
			c.fail("WithStatusAttribute(%q): an empty attribute name", name)
			return
		}
		c.statusAttr = name
	}
}

// WithTierAttribute names the attribute that holds a tenant's tier (a
// string; absent or empty means no tier). Default "tier".
func WithTierAttribute(name string) Option {
	return func(c *config) {
		if !c.only(kindDirectory, "WithTierAttribute") {
			return
		}
		if name == "" {
			c.fail("WithTierAttribute(%q): an empty attribute name", name)
			return
		}
		c.tierAttr = name
	}
}

// WithPlanAttribute names the attribute that holds a tenant's plan (a
// string; absent or empty means no plan). Default "plan".
func WithPlanAttribute(name string) Option {
	return func(c *config) {
		if !c.only(kindDirectory, "WithPlanAttribute") {
			return
		}
		if name == "" {
			c.fail("WithPlanAttribute(%q): an empty attribute name", name)
			return
		}
		c.planAttr = name
	}
}

// WithStatusValues maps the strings the control plane writes in the status
// attribute to statuses, replacing the default map ("active", "suspended",
// "offboarded" and their upper-case forms). A value outside the map is an
// error wrapping [ErrMalformedItem], never taken as active.
func WithStatusValues(m map[string]directory.Status) Option {
	return func(c *config) {
		if !c.only(kindDirectory, "WithStatusValues") {
			return
		}
		if len(m) == 0 {
			c.fail("WithStatusValues: an empty map")
			return
		}
		c.statuses = make(map[string]directory.Status, len(m))
		for k, v := range m {
			if !knownStatus(v) {
				c.fail("WithStatusValues: %q maps to an unknown status %v", k, v)
				return
			}
			c.statuses[k] = v
		}
	}
}

// WithKeyItem sets how a KeyStore finds a key's item: the partition key is
// prefix followed by the key ID, and the sort key (when the table has one)
// is sortValue. Defaults "KEY#" and "KEY". The prefix must not be empty, so
// that a key item can never be read as a tenant item.
func WithKeyItem(prefix, sortValue string) Option {
	return func(c *config) {
		if !c.only(kindKeyStore, "WithKeyItem") {
			return
		}
		if prefix == "" {
			c.fail("WithKeyItem(%q, %q): an empty prefix", prefix, sortValue)
			return
		}
		c.keyPrefix, c.keySort = prefix, sortValue
	}
}

// WithKeyIndex names the global secondary index that lists a tenant's keys
// and its partition and sort key attributes (strings). Defaults "gsi1",
// "gsi1pk" and "gsi1sk". A key item holds "TENANT#<tenant ID>" (the
// tenant prefix of [DefaultTenantKeyPrefix]) in the first and "KEY#<key
// ID>" in the second.
func WithKeyIndex(name, partitionKey, sortKey string) Option {
	return func(c *config) {
		if !c.only(kindKeyStore, "WithKeyIndex") {
			return
		}
		if name == "" || partitionKey == "" || sortKey == "" || partitionKey == sortKey {
			c.fail("WithKeyIndex(%q, %q, %q): an empty or repeated name", name, partitionKey, sortKey)
			return
		}
		c.index, c.indexPK, c.indexSK = name, partitionKey, sortKey
	}
}

// WithMaxUpdateTries bounds how often a KeyStore's Update reads, applies
// its function and tries its conditional write when other writers keep
// changing the item. Default 5.
func WithMaxUpdateTries(n int) Option {
	return func(c *config) {
		if !c.only(kindKeyStore, "WithMaxUpdateTries") {
			return
		}
		if n < 1 {
			c.fail("WithMaxUpdateTries(%d): at least 1", n)
			return
		}
		c.maxUpdates = n
	}
}

package isolation

import (
	"context"
	"strings"

	"github.com/tenantkit/tenantkit/tenant"
)

// Separators between the tenant ID and the rest of a key. Neither can occur
// in a tenant ID, so the prefix of tenant "a" ("a#", "a/") is never a
// prefix of tenant "ab"'s keys.
const (
	PartitionKeySeparator = "#"
	ObjectKeySeparator    = "/"
)

const (
	kindPartitionKey = "partition key"
	kindObjectKey    = "object key"
)

// PartitionKey returns a DynamoDB partition key for the tenant in ctx: the
// tenant ID, then each part after a '#' ("acme#order#42"). With no parts it
// is the tenant ID alone. These are the keys [DynamoDBLeadingKeyPrefix]
// allows.
func PartitionKey(ctx context.Context, parts ...string) (string, error) {
	t, err := tenant.Require(ctx)
	if err != nil {
		return "", err
	}
	n := len(t.ID())
	for _, p := range parts {
		n += len(PartitionKeySeparator) + len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(t.ID())
	for _, p := range parts {
		b.WriteString(PartitionKeySeparator)
		b.WriteString(p)
	}
	return b.String(), nil
}

// CheckPartitionKey verifies that key, read back from DynamoDB, belongs to
// the tenant in ctx (it is the tenant ID, or starts with the ID and '#')
// and returns what follows the tenant's prefix. A key of another tenant is
// a *[KeyError] matching [ErrKeyMismatch]. A key that belongs costs no
// allocation.
func CheckPartitionKey(ctx context.Context, key string) (rest string, err error) {
	t, err := tenant.Require(ctx)
	if err != nil {
		return "", err
	}
	id := t.ID()
	if key == id {
		return "", nil
	}
	if rest, ok := cutTenantPrefix(key, id, PartitionKeySeparator); ok {
		return rest, nil
	}
	return "", &KeyError{TenantID: id, Kind: kindPartitionKey}
}

// ObjectKey returns an S3 object key for the tenant in ctx: the tenant ID,
// '/', then name ("acme/invoices/2024/7.pdf"), which [S3Prefix] allows.
// name may end with '/' (a folder marker) but may not be empty, start with
// '/', or contain an empty, "." or ".." segment, which some clients
// normalize out of a path ([ErrInvalidObjectName]).
func ObjectKey(ctx context.Context, name string) (string, error) {
	t, err := tenant.Require(ctx)
	if err != nil {
		return "", err
	}
	if name == "" || name[0] == '/' {
		return "", ErrInvalidObjectName
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(name, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", ErrInvalidObjectName
		}
	}
	return t.ID() + ObjectKeySeparator + name, nil
}

// CheckObjectKey verifies that key, read back from S3 (for example from a
// listing), belongs to the tenant in ctx and returns the name after the
// tenant's prefix. A key of another tenant is a *[KeyError] matching
// [ErrKeyMismatch]. It does not allocate.
func CheckObjectKey(ctx context.Context, key string) (name string, err error) {
	t, err := tenant.Require(ctx)
	if err != nil {
		return "", err
	}
	if name, ok := cutTenantPrefix(key, t.ID(), ObjectKeySeparator); ok && name != "" {
		return name, nil
	}
	return "", &KeyError{TenantID: t.ID(), Kind: kindObjectKey}
}

// cutTenantPrefix cuts id+sep from the front of key.
func cutTenantPrefix(key, id, sep string) (string, bool) {
	if len(key) < len(id)+len(sep) || key[:len(id)] != id || key[len(id):len(id)+len(sep)] != sep {
		return "", false
	}
	return key[len(id)+len(sep):], true
}

package dynamostore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/tenant"
)

// Directory is a [directory.Directory] on a DynamoDB table that the control
// plane keeps: one GetItem per Lookup. Put a [directory.Cache] in front of
// it. It is safe for concurrent use.
type Directory struct {
	client     DynamoDBAPI
	table      string
	c          config
	projection *string
	names      map[string]string
}

var _ directory.Directory = (*Directory)(nil)

// NewDirectory returns a Directory on table through client. An invalid
// option is an error wrapping [ErrInvalidOption].
func NewDirectory(client DynamoDBAPI, table string, opts ...Option) (*Directory, error) {
	c, err := newConfig(kindDirectory, client, table, opts)
	if err != nil {
		return nil, err
	}
	return &Directory{
		client: client,
		table:  table,
		c:      c,
		// Read only the three attributes, whatever else the control plane
		// keeps in the item.
		projection: aws.String("#s, #t, #p"),
		names:      map[string]string{"#s": c.statusAttr, "#t": c.tierAttr, "#p": c.planAttr},
	}, nil
}

func defaultStatuses() map[string]directory.Status {
	m := make(map[string]directory.Status, 6)
	for s := directory.Active; s <= directory.Offboarded; s++ {
		name := s.String()
		m[name] = s
		m[upper(name)] = s
	}
	return m
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func knownStatus(s directory.Status) bool { return s.Valid() }

// Lookup implements directory.Directory. A tenant without an item is an
// error wrapping [directory.ErrNotFound]; an item without a known status,
// or with a tier or plan that is not a valid tier name, wraps
// [ErrMalformedItem]; DynamoDB not answering wraps [ErrUnavailable] and
// [tenant.ErrUnavailable]; a done ctx is ctx's error. Every error but
// ErrNotFound is, to a [directory.Cache], the directory not answering.
func (d *Directory) Lookup(ctx context.Context, tenantID string) (directory.Entry, error) {
	if err := ctx.Err(); err != nil {
		return directory.Entry{}, err
	}
	if err := tenant.ValidateID(tenantID); err != nil {
		// No control plane holds an invalid ID, and it must not reach a key.
		return directory.Entry{}, fmt.Errorf("dynamostore: tenant %s: %w", strconv.QuoteToASCII(tenantID[:min(len(tenantID), 64)]), directory.ErrNotFound)
	}
	key := map[string]types.AttributeValue{d.c.pk: &types.AttributeValueMemberS{Value: d.c.tenantPrefix + tenantID}}
	if d.c.sk != "" {
		key[d.c.sk] = &types.AttributeValueMemberS{Value: d.c.tenantSort}
	}
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(d.table),
		Key:                      key,
		ConsistentRead:           aws.Bool(d.c.consistent),
		ProjectionExpression:     d.projection,
		ExpressionAttributeNames: d.names,
	})
	if err != nil {
		return directory.Entry{}, unavailable(ctx, "GetItem", err)
	}
	if out.Item == nil {
		return directory.Entry{}, fmt.Errorf("dynamostore: tenant %q: %w", tenantID, directory.ErrNotFound)
	}
	e, err := d.decode(out.Item)
	if err != nil {
		return directory.Entry{}, fmt.Errorf("dynamostore: tenant %q: %w", tenantID, err)
	}
	return e, nil
}

func (d *Directory) decode(item map[string]types.AttributeValue) (directory.Entry, error) {
	var e directory.Entry
	sv, ok := item[d.c.statusAttr].(*types.AttributeValueMemberS)
	if !ok {
		if v, present := item[d.c.statusAttr]; present {
			return e, malformed("attribute %q is a %s, not a string", d.c.statusAttr, typeName(v))
		}
		return e, malformed("no attribute %q", d.c.statusAttr)
	}
	if e.Status, ok = d.c.statuses[sv.Value]; !ok {
		return e, malformed("attribute %q: unknown status %s", d.c.statusAttr, strconv.QuoteToASCII(sv.Value[:min(len(sv.Value), 32)]))
	}
	for _, a := range []struct {
		name string
		dst  *string
	}{{d.c.tierAttr, &e.Tier}, {d.c.planAttr, &e.Plan}} {
		switch v := item[a.name].(type) {
		case nil, *types.AttributeValueMemberNULL:
		case *types.AttributeValueMemberS:
			*a.dst = v.Value
		default:
			return directory.Entry{}, malformed("attribute %q is a %s, not a string", a.name, typeName(v))
		}
	}
	if err := e.Validate(); err != nil {
		return directory.Entry{}, malformed("%v", err)
	}
	return e, nil
}

package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/tenant"
)

// The attributes of a key item besides its keys; see the package
// documentation.
const (
	attrTenant    = "tenantId"
	attrKeyID     = "keyId"
	attrTier      = "tier"
	attrScopes    = "scopes"
	attrHash      = "hash"
	attrCreated   = "createdAt"
	attrExpires   = "expiresAt"
	attrRevoked   = "revokedAt"
	attrSuccessor = "successor"
	attrVersion   = "version"
)

// maxKeyIDLen bounds a key ID, well inside DynamoDB's 2,048 bytes of a
// partition key value.
const maxKeyIDLen = 1024

var keyAttributes = []string{attrTenant, attrKeyID, attrTier, attrScopes, attrHash, attrCreated, attrExpires, attrRevoked, attrSuccessor, attrVersion}

// KeyStore is an [apikey.Store] on a DynamoDB table. It is safe for
// concurrent use.
type KeyStore struct {
	client DynamoDBAPI
	table  string
	c      config
}

var _ apikey.Store = (*KeyStore)(nil)

// NewKeyStore returns a KeyStore on table through client. The table needs
// the partition key (and sort key, unless [WithSortKey]("")) of the layout
// and, for List, the global secondary index of [WithKeyIndex]. An invalid
// option is an error wrapping [ErrInvalidOption].
func NewKeyStore(client DynamoDBAPI, table string, opts ...Option) (*KeyStore, error) {
	c, err := newConfig(kindKeyStore, client, table, opts)
	if err != nil {
		return nil, err
	}
	return &KeyStore{client: client, table: table, c: c}, nil
}

func (s *KeyStore) key(keyID string) map[string]types.AttributeValue {
	k := map[string]types.AttributeValue{s.c.pk: &types.AttributeValueMemberS{Value: s.c.keyPrefix + keyID}}
	if s.c.sk != "" {
		k[s.c.sk] = &types.AttributeValueMemberS{Value: s.c.keySort}
	}
	return k
}

// Get implements apikey.Store.
func (s *KeyStore) Get(ctx context.Context, keyID string) (apikey.Record, error) {
	r, _, err := s.get(ctx, keyID, s.c.consistent)
	return r, err
}

func (s *KeyStore) get(ctx context.Context, keyID string, consistent bool) (apikey.Record, int64, error) {
	if err := ctx.Err(); err != nil {
		return apikey.Record{}, 0, err
	}
	if keyID == "" || len(keyID) > maxKeyIDLen {
		return apikey.Record{}, 0, apikey.ErrNotFound
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            s.key(keyID),
		ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return apikey.Record{}, 0, unavailable(ctx, "GetItem", err)
	}
	if out.Item == nil {
		return apikey.Record{}, 0, fmt.Errorf("dynamostore: key %q: %w", keyID, apikey.ErrNotFound)
	}
	r, ver, err := s.decode(out.Item)
	if err != nil {
		return apikey.Record{}, 0, fmt.Errorf("dynamostore: key %q: %w", keyID, err)
	}
	if r.KeyID != keyID {
		return apikey.Record{}, 0, malformed("key %q: the item holds key ID %q", keyID, r.KeyID)
	}
	return r, ver, nil
}

// Put implements apikey.Store: a conditional write that never replaces an
// item of the same key ID.
func (s *KeyStore) Put(ctx context.Context, r apikey.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkRecord(r); err != nil {
		return err
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     s.encode(r, 1),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": s.c.pk},
	})
	var cf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &cf):
		return fmt.Errorf("dynamostore: key %q: %w", r.KeyID, apikey.ErrExists)
	case err != nil:
		return unavailable(ctx, "PutItem", err)
	}
	return nil
}

// Update implements apikey.Store: a consistent read, f, and a write on the
// condition that the item's version is still the one read; on a lost race
// it starts again, up to [WithMaxUpdateTries] times.
func (s *KeyStore) Update(ctx context.Context, keyID string, f func(*apikey.Record) error) (apikey.Record, error) {
	var lastErr error
	for range s.c.maxUpdates {
		r, ver, err := s.get(ctx, keyID, true)
		if err != nil {
			return apikey.Record{}, err
		}
		if err := f(&r); err != nil {
			return apikey.Record{}, err
		}
		r.KeyID = keyID
		if err := checkRecord(r); err != nil {
			return apikey.Record{}, err
		}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(s.table),
			Item:                      s.encode(r, ver+1),
			ConditionExpression:       aws.String("#v = :v"),
			ExpressionAttributeNames:  map[string]string{"#v": attrVersion},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": number(ver)},
		})
		var cf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return r, nil
		case errors.As(err, &cf):
			// Changed (or deleted: the next read says so) since our read.
			lastErr = err
			continue
		default:
			return apikey.Record{}, unavailable(ctx, "PutItem", err)
		}
	}
	return apikey.Record{}, unavailable(ctx, "Update", fmt.Errorf("key %q changed under %d tries: %w", keyID, s.c.maxUpdates, lastErr))
}

// List implements apikey.Store with a Query of the key index, which is
// eventually consistent: a key put a moment ago may be missing.
func (s *KeyStore) List(ctx context.Context, tenantID string) ([]apikey.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if tenant.ValidateID(tenantID) != nil {
		return nil, nil // Put stores no key of an invalid tenant ID
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(s.c.index),
		KeyConditionExpression:   aws.String("#ipk = :t AND begins_with(#isk, :k)"),
		ExpressionAttributeNames: map[string]string{"#ipk": s.c.indexPK, "#isk": s.c.indexSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberS{Value: DefaultTenantKeyPrefix + tenantID},
			":k": &types.AttributeValueMemberS{Value: DefaultKeyPrefix},
		},
	}
	var out []apikey.Record
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, unavailable(ctx, "Query", err)
		}
		for _, item := range page.Items {
			r, _, err := s.decode(item)
			if err != nil {
				return nil, fmt.Errorf("dynamostore: keys of tenant %q: %w", tenantID, err)
			}
			if r.TenantID != tenantID {
				return nil, malformed("keys of tenant %q: key %q belongs to tenant %q", tenantID, r.KeyID, r.TenantID)
			}
			out = append(out, r)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func checkRecord(r apikey.Record) error {
	switch {
	case r.KeyID == "":
		return errors.New("dynamostore: a record without a key ID")
	case len(r.KeyID) > maxKeyIDLen:
		return fmt.Errorf("dynamostore: a key ID of %d bytes (at most %d)", len(r.KeyID), maxKeyIDLen)
	case r.TenantID == "":
		return fmt.Errorf("dynamostore: key %q: a record without a tenant ID", r.KeyID)
	case tenant.ValidateID(r.TenantID) != nil:
		return fmt.Errorf("dynamostore: key %q: %w", r.KeyID, tenant.ValidateID(r.TenantID))
	case len(r.Hash) == 0:
		return fmt.Errorf("dynamostore: key %q: a record without a hash", r.KeyID)
	}
	return nil
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func (s *KeyStore) encode(r apikey.Record, ver int64) map[string]types.AttributeValue {
	item := s.key(r.KeyID)
	item[s.c.indexPK] = str(DefaultTenantKeyPrefix + r.TenantID)
	item[s.c.indexSK] = str(DefaultKeyPrefix + r.KeyID)
	item[attrKeyID] = str(r.KeyID)
	item[attrTenant] = str(r.TenantID)
	item[attrHash] = &types.AttributeValueMemberB{Value: append([]byte(nil), r.Hash...)}
	item[attrVersion] = number(ver)
	if r.Tier != "" {
		item[attrTier] = str(r.Tier)
	}
	if r.Scopes != nil {
		l := make([]types.AttributeValue, len(r.Scopes))
		for i, sc := range r.Scopes {
			l[i] = str(sc)
		}
		item[attrScopes] = &types.AttributeValueMemberL{Value: l}
	}
	for name, t := range map[string]time.Time{attrCreated: r.CreatedAt, attrExpires: r.ExpiresAt, attrRevoked: r.RevokedAt} {
		if !t.IsZero() {
			item[name] = str(t.UTC().Format(time.RFC3339Nano))
		}
	}
	if r.Successor != "" {
		item[attrSuccessor] = str(r.Successor)
	}
	return item
}

func (s *KeyStore) decode(item map[string]types.AttributeValue) (apikey.Record, int64, error) {
	var r apikey.Record
	var err error
	getS := func(name string, required bool) string {
		v, ok := item[name]
		if !ok {
			if required && err == nil {
				err = malformed("no attribute %q", name)
			}
			return ""
		}
		sv, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			if err == nil {
				err = malformed("attribute %q is a %s, not a string", name, typeName(v))
			}
			return ""
		}
		return sv.Value
	}
	getT := func(name string) time.Time {
		v := getS(name, false)
		if v == "" {
			return time.Time{}
		}
		t, perr := time.Parse(time.RFC3339Nano, v)
		if perr != nil && err == nil {
			err = malformed("attribute %q: %v", name, perr)
		}
		return t
	}
	r.KeyID = getS(attrKeyID, true)
	r.TenantID = getS(attrTenant, true)
	r.Tier = getS(attrTier, false)
	r.Successor = getS(attrSuccessor, false)
	r.CreatedAt = getT(attrCreated)
	r.ExpiresAt = getT(attrExpires)
	r.RevokedAt = getT(attrRevoked)
	if err == nil && r.TenantID == "" {
		err = malformed("an empty %q", attrTenant)
	}
	switch h := item[attrHash].(type) {
	case *types.AttributeValueMemberB:
		if len(h.Value) == 0 && err == nil {
			err = malformed("an empty %q", attrHash)
		}
		r.Hash = append([]byte(nil), h.Value...)
	case nil:
		if err == nil {
			err = malformed("no attribute %q", attrHash)
		}
	default:
		if err == nil {
			err = malformed("attribute %q is a %s, not binary", attrHash, typeName(h))
		}
	}
	switch l := item[attrScopes].(type) {
	case nil:
	case *types.AttributeValueMemberL:
		r.Scopes = make([]string, 0, len(l.Value))
		for _, v := range l.Value {
			sv, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				if err == nil {
					err = malformed("attribute %q holds a %s, not a string", attrScopes, typeName(v))
				}
				break
			}
			r.Scopes = append(r.Scopes, sv.Value)
		}
	default:
		if err == nil {
			err = malformed("attribute %q is a %s, not a list", attrScopes, typeName(l))
		}
	}
	var ver int64
	switch n := item[attrVersion].(type) {
	case *types.AttributeValueMemberN:
		v, perr := strconv.ParseInt(n.Value, 10, 64)
		if perr != nil && err == nil {
			err = malformed("attribute %q: %v", attrVersion, perr)
		}
		ver = v
	default:
		if err == nil {
			err = malformed("attribute %q is missing or not a number", attrVersion)
		}
	}
	if err != nil {
		return apikey.Record{}, 0, err
	}
	return r, ver, nil
}

// typeName names an attribute value's DynamoDB type.
func typeName(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "string"
	case *types.AttributeValueMemberN:
		return "number"
	case *types.AttributeValueMemberB:
		return "binary"
	case *types.AttributeValueMemberBOOL:
		return "boolean"
	case *types.AttributeValueMemberNULL:
		return "null"
	case *types.AttributeValueMemberL:
		return "list"
	case *types.AttributeValueMemberM:
		return "map"
	case *types.AttributeValueMemberSS, *types.AttributeValueMemberNS, *types.AttributeValueMemberBS:
		return "set"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", v), "*types.AttributeValueMember")
}

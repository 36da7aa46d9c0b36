package dynamostore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/dynamostore"
	"github.com/tenantkit/tenantkit/tenant"
)

func newKeyStore(t *testing.T, opts ...dynamostore.Option) (*dynamostore.KeyStore, *dynamodb.Client, string) {
	t.Helper()
	c := newClient(t, endpoint(t))
	table := createTable(t, c)
	ks, err := dynamostore.NewKeyStore(c, table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ks, c, table
}

func record(keyID, tenantID string) apikey.Record {
	h := bytes.Repeat([]byte{byte(len(keyID))}, 32)
	return apikey.Record{
		KeyID:     keyID,
		TenantID:  tenantID,
		Tier:      "gold",
		Scopes:    []string{"orders:read", "orders:write", "orders:read"},
		Hash:      h,
		CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600)),
		ExpiresAt: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
	}
}

func sameRecord(a, b apikey.Record) bool {
	return a.KeyID == b.KeyID && a.TenantID == b.TenantID && a.Tier == b.Tier &&
		slices.Equal(a.Scopes, b.Scopes) && bytes.Equal(a.Hash, b.Hash) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.RevokedAt.Equal(b.RevokedAt) && a.Successor == b.Successor
}

func TestKeyStorePutGet(t *testing.T) {
	for _, consistent := range []bool{false, true} {
		t.Run(fmt.Sprint("consistent=", consistent), func(t *testing.T) {
			ks, _, _ := newKeyStore(t, dynamostore.WithConsistentRead(consistent))
			ctx := context.Background()
			r := record("k1", "acme")
			if err := ks.Put(ctx, r); err != nil {
				t.Fatal(err)
			}
			got, err := ks.Get(ctx, "k1")
			if err != nil || !sameRecord(got, r) {
				t.Fatalf("Get = %+v, %v; want %+v", got, err, r)
			}
			// A record with only what is required comes back as it went in.
			min := apikey.Record{KeyID: "k2", TenantID: "acme", Hash: []byte{1}}
			if err := ks.Put(ctx, min); err != nil {
				t.Fatal(err)
			}
			if got, err := ks.Get(ctx, "k2"); err != nil || !sameRecord(got, min) || got.Scopes != nil || !got.CreatedAt.IsZero() {
				t.Errorf("Get(k2) = %+v, %v; want %+v", got, err, min)
			}

			// Put never replaces a key ID, whatever the new record says.
			other := record("k1", "globex")
			if err := ks.Put(ctx, other); !errors.Is(err, apikey.ErrExists) {
				t.Errorf("Put of an existing key ID: %v; want ErrExists", err)
			}
			if got, _ := ks.Get(ctx, "k1"); got.TenantID != "acme" {
				t.Errorf("after a refused Put the key belongs to %q", got.TenantID)
			}

			for _, id := range []string{"nope", "", strings.Repeat("k", 4096)} {
				if _, err := ks.Get(ctx, id); !errors.Is(err, apikey.ErrNotFound) || errors.Is(err, tenant.ErrUnavailable) {
					t.Errorf("Get(%q): %v; want ErrNotFound", id, err)
				}
			}
			for _, bad := range []apikey.Record{{TenantID: "a", Hash: []byte{1}}, {KeyID: "x", Hash: []byte{1}}, {KeyID: "x", TenantID: "a"}, {KeyID: "x", TenantID: "a#b", Hash: []byte{1}}, {KeyID: strings.Repeat("k", 4096), TenantID: "a", Hash: []byte{1}}} {
				if err := ks.Put(ctx, bad); err == nil {
					t.Errorf("Put(%+v) = nil; want an error", bad)
				}
			}
		})
	}
}

func TestKeyStoreUpdate(t *testing.T) {
	ks, _, table := newKeyStore(t)
	ctx := context.Background()
	if err := ks.Put(ctx, record("k1", "acme")); err != nil {
		t.Fatal(err)
	}
	revoked := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	got, err := ks.Update(ctx, "k1", func(r *apikey.Record) error {
		r.RevokedAt = revoked
		r.Successor = "k2"
		r.KeyID = "changed" // ignored: Update keeps the key ID
		return nil
	})
	if err != nil || got.KeyID != "k1" || !got.RevokedAt.Equal(revoked) || got.Successor != "k2" {
		t.Fatalf("Update = %+v, %v", got, err)
	}
	if read, err := ks.Get(ctx, "k1"); err != nil || !sameRecord(read, got) {
		t.Errorf("Get after Update = %+v, %v; want %+v", read, err, got)
	}
	if _, err := ks.Get(ctx, "changed"); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("Update wrote a new key ID: %v", err)
	}

	if _, err := ks.Update(ctx, "nope", func(*apikey.Record) error { return nil }); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("Update(nope): %v; want ErrNotFound", err)
	}
	boom := errors.New("boom")
	if _, err := ks.Update(ctx, "k1", func(r *apikey.Record) error { r.Tier = "x"; return boom }); !errors.Is(err, boom) {
		t.Errorf("Update with a failing f: %v; want boom", err)
	}
	if read, _ := ks.Get(ctx, "k1"); read.Tier != "gold" {
		t.Errorf("a failed Update changed the tier to %q", read.Tier)
	}

	// Concurrent updates: each one's change survives (the conditional write
	// on the version makes the losers read again).
	const writers = 8
	ks2, err := dynamostore.NewKeyStore(newClient(t, endpoint(t)), table, dynamostore.WithMaxUpdateTries(50))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			_, err := ks2.Update(ctx, "k1", func(r *apikey.Record) error {
				r.Scopes = append(r.Scopes, fmt.Sprintf("w%d", i))
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Update: %v", err)
		}
	}
	read, err := ks.Get(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range writers {
		if !slices.Contains(read.Scopes, fmt.Sprintf("w%d", i)) {
			t.Errorf("the update of writer %d was lost: %v", i, read.Scopes)
		}
	}
}

func TestKeyStoreList(t *testing.T) {
	ks, c, table := newKeyStore(t)
	ctx := context.Background()
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("acme%d", i)
		want = append(want, id)
		if err := ks.Put(ctx, record(id, "acme")); err != nil {
			t.Fatal(err)
		}
	}
	if err := ks.Put(ctx, record("g1", "globex")); err != nil {
		t.Fatal(err)
	}
	// A tenant item of the directory in the same table is not a key.
	put(t, c, table, tenantItem("acme", map[string]types.AttributeValue{"status": s("active")}))

	got, err := ks.List(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		if r.TenantID != "acme" {
			t.Errorf("List(acme) holds a key of %q", r.TenantID)
		}
		ids = append(ids, r.KeyID)
	}
	sort.Strings(ids)
	if !slices.Equal(ids, want) {
		t.Errorf("List(acme) = %v; want %v", ids, want)
	}
	if got, err := ks.List(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Errorf("List(nobody) = %v, %v; want none", got, err)
	}
	if got, err := ks.List(ctx, "acme#"); err != nil || len(got) != 0 {
		t.Errorf("List(acme#) = %v, %v; want none", got, err)
	}
	// A prefix of a tenant ID does not list that tenant's keys.
	if got, err := ks.List(ctx, "acm"); err != nil || len(got) != 0 {
		t.Errorf("List(acm) = %v, %v; want none", got, err)
	}
}

func TestKeyStoreMalformedItems(t *testing.T) {
	ks, c, table := newKeyStore(t)
	ctx := context.Background()
	base := func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": s("KEY#" + id), "sk": s("KEY"), "gsi1pk": s("TENANT#acme"), "gsi1sk": s("KEY#" + id),
			"keyId": s(id), "tenantId": s("acme"), "hash": &types.AttributeValueMemberB{Value: []byte{1, 2}}, "version": n("1"),
		}
	}
	cases := map[string]func(map[string]types.AttributeValue){
		"no-tenant":     func(m map[string]types.AttributeValue) { delete(m, "tenantId") },
		"empty-tenant":  func(m map[string]types.AttributeValue) { m["tenantId"] = s("") },
		"number-tenant": func(m map[string]types.AttributeValue) { m["tenantId"] = n("7") },
		"no-hash":       func(m map[string]types.AttributeValue) { delete(m, "hash") },
		"string-hash":   func(m map[string]types.AttributeValue) { m["hash"] = s("abc") },
		"bad-time":      func(m map[string]types.AttributeValue) { m["createdAt"] = s("yesterday") },
		"set-scopes": func(m map[string]types.AttributeValue) {
			m["scopes"] = &types.AttributeValueMemberSS{Value: []string{"a"}}
		},
		"number-scope": func(m map[string]types.AttributeValue) {
			m["scopes"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{n("1")}}
		},
		"no-version":     func(m map[string]types.AttributeValue) { delete(m, "version") },
		"other-key-id":   func(m map[string]types.AttributeValue) { m["keyId"] = s("someone-else") },
		"no-key-id":      func(m map[string]types.AttributeValue) { delete(m, "keyId") },
		"bool-successor": func(m map[string]types.AttributeValue) { m["successor"] = &types.AttributeValueMemberBOOL{} },
	}
	for id, f := range cases {
		item := base(id)
		f(item)
		put(t, c, table, item)
		if r, err := ks.Get(ctx, id); !errors.Is(err, dynamostore.ErrMalformedItem) || r.KeyID != "" {
			t.Errorf("Get(%s) = %+v, %v; want ErrMalformedItem", id, r, err)
		}
		if _, err := ks.Update(ctx, id, func(*apikey.Record) error { return nil }); !errors.Is(err, dynamostore.ErrMalformedItem) {
			t.Errorf("Update(%s): %v; want ErrMalformedItem", id, err)
		}
	}
	if _, err := ks.List(ctx, "acme"); !errors.Is(err, dynamostore.ErrMalformedItem) {
		t.Errorf("List over malformed items: %v; want ErrMalformedItem", err)
	}
}

func TestKeyStoreUnavailable(t *testing.T) {
	ks, err := dynamostore.NewKeyStore(newClient(t, closedEndpoint(t), noRetry), "keys")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, dynamostore.ErrUnavailable) || !errors.Is(err, tenant.ErrUnavailable) || errors.Is(err, apikey.ErrNotFound) {
			t.Errorf("%s: %v; want ErrUnavailable", op, err)
		}
	}
	_, err = ks.Get(ctx, "k1")
	check("Get", err)
	check("Put", ks.Put(ctx, record("k1", "acme")))
	_, err = ks.Update(ctx, "k1", func(*apikey.Record) error { return nil })
	check("Update", err)
	_, err = ks.List(ctx, "acme")
	check("List", err)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = ks.Get(canceled, "k1")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: %v", err)
	}
}

// The apikey Manager and Verifier on the DynamoDB store: a key is created,
// verified, rotated and revoked as it would be in production.
func TestKeyStoreWithManager(t *testing.T) {
	ks, _, _ := newKeyStore(t, dynamostore.WithConsistentRead(true))
	ctx := context.Background()
	m, err := apikey.NewManager(ks)
	if err != nil {
		t.Fatal(err)
	}
	v, err := apikey.NewVerifier(ks)
	if err != nil {
		t.Fatal(err)
	}
	key, r, err := m.Create(ctx, "acme", apikey.CreateOptions{Tier: "gold", Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := v.Verify(ctx, key)
	if err != nil || tn.ID() != "acme" || tn.Tier() != "gold" {
		t.Fatalf("Verify = %+v, %v", tn, err)
	}
	if _, err := v.Verify(ctx, key[:len(key)-1]+"x"); err == nil {
		t.Error("Verify of a changed key succeeded")
	}
	list, err := m.List(ctx, "acme")
	if err != nil || len(list) != 1 || list[0].KeyID != r.KeyID {
		t.Errorf("List = %+v, %v", list, err)
	}
	key2, r2, err := m.Rotate(ctx, r.KeyID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if old, err := ks.Get(ctx, r.KeyID); err != nil || old.Successor != r2.KeyID {
		t.Errorf("after Rotate the old record is %+v, %v", old, err)
	}
	if err := m.Revoke(ctx, r2.KeyID); err != nil {
		t.Fatal(err)
	}
	v2, err := apikey.NewVerifier(ks) // without the first one's cache
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(ctx, key2); !errors.Is(err, tenant.ErrInvalidToken) {
		t.Errorf("Verify of a revoked key: %v; want ErrInvalidToken", err)
	}
}

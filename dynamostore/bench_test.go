package dynamostore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/dynamostore"
)

// BenchmarkDirectoryLookupCold measures a lookup that no cache answers: one
// GetItem to the DynamoDB-compatible server on loopback (dynalite, a
// Node.js process, so the figure is the client's and the local server's
// cost, not DynamoDB's), straight on the Directory and as a
// directory.Cache miss.
func BenchmarkDirectoryLookupCold(b *testing.B) {
	c := newClient(b, endpoint(b))
	table := createTable(b, c)
	const tenants = 64
	for i := range tenants {
		put(b, c, table, tenantItem(fmt.Sprintf("t%d", i), map[string]types.AttributeValue{"status": s("active"), "tier": s("gold")}))
	}
	ctx := context.Background()
	for _, consistent := range []bool{false, true} {
		d, err := dynamostore.NewDirectory(c, table, dynamostore.WithConsistentRead(consistent))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("direct/consistent=%v", consistent), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := d.Lookup(ctx, fmt.Sprintf("t%d", i%tenants)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	d, err := dynamostore.NewDirectory(c, table)
	if err != nil {
		b.Fatal(err)
	}
	cache, err := directory.NewCache(d)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cache-miss", func(b *testing.B) {
		i := 0
		for b.Loop() {
			id := fmt.Sprintf("t%d", i%tenants)
			cache.Invalidate(id)
			if _, err := cache.Lookup(ctx, id); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkKeyStoreGet measures a KeyStore Get (one GetItem) against the
// local server: what a key verification costs when the Verifier's cache
// does not hold the key.
func BenchmarkKeyStoreGet(b *testing.B) {
	c := newClient(b, endpoint(b))
	table := createTable(b, c)
	ks, err := dynamostore.NewKeyStore(c, table)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const keys = 64
	for i := range keys {
		r := apikey.Record{KeyID: fmt.Sprintf("k%d", i), TenantID: "acme", Scopes: []string{"orders:read"}, Hash: make([]byte, 32)}
		if err := ks.Put(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		if _, err := ks.Get(ctx, fmt.Sprintf("k%d", i%keys)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

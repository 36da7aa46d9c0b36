package redisfeed_test

import (
	"context"
	"errors"
	"log"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/directory/redisfeed"
)

// Every replica subscribes its directory cache at startup; the control
// plane publishes a tenant's ID once it changed the tenant in the
// directory, and every replica refuses the suspended tenant at once.
func Example() {
	addr := os.Getenv("TENANTKIT_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:       []string{addr}, // one address, a Cluster's seeds, or Sentinels with MasterName
		DialTimeout: 200 * time.Millisecond,
	})
	defer client.Close()

	// Each replica, at startup.
	dir := directory.NewMemory(map[string]directory.Entry{"acme": {Status: directory.Active, Tier: "pro"}})
	cache, err := directory.NewCache(dir)
	if err != nil {
		log.Fatal(err)
	}
	feed, err := redisfeed.NewSubscriber(client, redisfeed.DirectoryChannel, cache,
		redisfeed.WithErrorHandler(func(err error) {
			log.Printf("invalidation feed: %v", err) // count it in your metrics
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer feed.Close()
	// ... httpmw.Authenticate(directory.Verifier(verifier, cache)) ...

	// The control plane, after suspending acme.
	dir.Set("acme", directory.Entry{Status: directory.Suspended})
	if err := redisfeed.Publish(context.Background(), client, redisfeed.DirectoryChannel, "acme"); err != nil {
		log.Printf("publish: %v (the replicas' TTL still bounds the lag)", err)
	}
}

// The API-key verifier's cache takes its own channel and the key ID rule;
// the control plane publishes a key's ID when it revokes the key.
func ExampleWithIDCheck() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	keys, err := apikey.NewVerifier(apikey.NewMemory())
	if err != nil {
		log.Fatal(err)
	}
	keyID := func(id string) error { // apikey's key ID: IDLen base62 characters
		if len(id) != apikey.IDLen || strings.Trim(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
			return errors.New("not an API key ID")
		}
		return nil
	}
	feed, err := redisfeed.NewSubscriber(client, redisfeed.APIKeyChannel, keys, redisfeed.WithIDCheck(keyID))
	if err != nil {
		log.Fatal(err)
	}
	defer feed.Close()
}

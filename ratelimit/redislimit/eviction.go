package redislimit

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrEvictionPolicy is wrapped by the error of [CheckEvictionPolicy] when a
// Redis node may evict the limiter's keys (its maxmemory-policy is not
// noeviction) or does not say which policy it has.
var ErrEvictionPolicy = errors.New("redislimit: Redis may evict limiter keys (maxmemory-policy is not noeviction)")

// CheckEvictionPolicy reads maxmemory-policy from every node the client
// reaches (every master of a Cluster, every shard of a Ring, the master of
// a Sentinel failover client, or the one server) and returns an error
// wrapping [ErrEvictionPolicy] unless every node says noeviction. Any
// other policy, volatile-* ones included (every limiter key has an
// expiry), lets Redis drop quota counts under memory pressure. Call it at
// startup; a node that refuses CONFIG GET (as managed services may) is
// reported too, with the reason.
func CheckEvictionPolicy(ctx context.Context, client redis.UniversalClient) error {
	if client == nil {
		return fmt.Errorf("%w: a nil client", ErrEvictionPolicy)
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	check := func(ctx context.Context, node *redis.Client) error {
		if err := checkNode(ctx, node); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return nil // check every node
	}
	var err error
	switch c := client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, check)
	case *redis.Ring:
		err = c.ForEachShard(ctx, check)
	default:
		// A *redis.Client: one server, or the master that a Sentinel
		// failover client is connected to.
		err = checkNode(ctx, client)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrEvictionPolicy, err))
	}
	return errors.Join(errs...)
}

type configGetter interface {
	ConfigGet(ctx context.Context, parameter string) *redis.MapStringStringCmd
}

func checkNode(ctx context.Context, node configGetter) error {
	where := ""
	if n, ok := node.(interface{ Options() *redis.Options }); ok {
		where = " on " + n.Options().Addr
	}
	m, err := node.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return fmt.Errorf("%w: reading maxmemory-policy%s: %w", ErrEvictionPolicy, where, err)
	}
	if p := m["maxmemory-policy"]; p != "noeviction" {
		return fmt.Errorf("%w: maxmemory-policy is %q%s", ErrEvictionPolicy, p, where)
	}
	return nil
}

// Package redislimit shares tenantkit's rate limits and quotas between the
// replicas of a service through Redis (a Redis server, Redis Cluster,
// Sentinel, or Amazon ElastiCache), on github.com/redis/go-redis/v9.
//
// [New] takes a redis.UniversalClient (or another go-redis Scripter, such
// as the client's AutoPipeliner) and returns a [Limiter] that
// implements ratelimit.Limiter, so the httpmw and grpcmw adapters take it as
// they take the in-process limiter. Every decision is one round trip: one
// Lua script checks the GCRA rate and the calendar quota on the Redis
// server's clock, atomically, and writes only when the request is allowed.
//
// # Redis settings
//
// Quota counts are ordinary keys: if Redis evicts one under memory
// pressure, that tenant's quota silently starts again from zero, and an
// evicted rate key hands out a fresh burst. Every limiter key has an
// expiry, so the volatile-* policies evict them as readily as the
// allkeys-* ones: run the limiter on a Redis whose maxmemory-policy is
// noeviction, and check it at startup with [CheckEvictionPolicy] (it asks
// every master of a Cluster). Under noeviction a full Redis refuses
// writes; each decision that needs to write then gets its plan's failure
// policy, while denials (which write nothing) still hold. Size it for one
// hash per active tenant key: 104 bytes without a quota, 136 with one kind
// of quota period, 152 with two (MEMORY USAGE on Redis 7).
// Persistence (AOF or RDB) keeps quotas across a restart; without it a
// restart resets them.
//
// Each decision waits at most the decision timeout ([WithDecisionTimeout],
// 250 ms by default) for Redis, whatever the client's retries; past it, or
// on a transport error, the plan's failure policy applies and the node is
// skipped for the retry interval ([WithRetryInterval]). Under a Cluster
// client each master is skipped on its own, and the limiter has the client
// reload its slot map, so a failover is followed within about a second. An
// error reply, such as OOM, fails only its own decision. Client settings:
// ContextTimeoutEnabled true, DialTimeout, ReadTimeout and WriteTimeout of
// 100 to 250 ms, MaxRetries -1 (none; 0 means go-redis's default of 3) or
// 1, DialerRetries 1, and for a Cluster
// ReadOnly, RouteByLatency and RouteRandomly false.
//
// Under [ratelimit.FallbackLocal] the in-process limiter starts from the
// share of the last quota count Redis reported for the key, and what it
// allows is added to the Redis count once Redis answers again, so an outage
// gives back no spent quota (up to what other replicas spent since this
// one's last answer).
//
//	client := redis.NewClient(&redis.Options{Addr: addr,
//		ContextTimeoutEnabled: true, ReadTimeout: 200 * time.Millisecond,
//		WriteTimeout: 200 * time.Millisecond, DialTimeout: 200 * time.Millisecond,
//		MaxRetries: -1, DialerRetries: 1})
//	if err := redislimit.CheckEvictionPolicy(ctx, client); err != nil {
//		log.Fatal(err)
//	}
//	limiter, err := redislimit.New(client)
package redislimit

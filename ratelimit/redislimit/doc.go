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
// Quota counters are ordinary keys: if Redis evicts one under memory
// pressure, that tenant's quota silently starts again from zero, and an
// evicted rate key hands out a fresh burst. Run the limiter on a Redis
// whose maxmemory-policy is noeviction (writes then fail when memory is
// full, and each plan's failure policy applies), or on a dedicated instance
// sized for its keys: one per active tenant key and kind of plan (with a quota
// or without), each about 100 to 120 bytes (MEMORY USAGE on Redis 7).
// Every key has an expiry (rate keys when their bucket is full again, quota
// keys a margin after their period), so the key count follows the active
// tenants. Persistence (AOF or RDB) keeps quotas across a restart; without
// it a restart resets them. Give the client short dial, read and write
// timeouts (100–250 ms): the failure policy starts only once a call fails.
package redislimit

// Package redislimit shares tenantkit's rate limits and quotas between the
// replicas of a service through Redis (a server, Redis Cluster, Sentinel, or
// Amazon ElastiCache), on github.com/redis/go-redis/v9.
//
// [New] returns a [Limiter], a [ratelimit.Limiter] that the httpmw and
// grpcmw adapters take as they take the in-process one:
//
//	client := redis.NewClient(&redis.Options{Addr: addr,
//		ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1,
//		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
//		WriteTimeout: 200 * time.Millisecond})
//	if err := redislimit.CheckEvictionPolicy(ctx, client); err != nil {
//		log.Fatal(err)
//	}
//	limiter, err := redislimit.New(client)
//	...
//	d, err := limiter.Take(ctx, tenantID, plan, 1) // what the adapters call
//
// Every decision is one round trip: a Lua script checks the GCRA rate and
// the calendar quota on the Redis server's clock and writes only when the
// request is allowed.
//
// # Redis settings
//
// Run the limiter on a Redis whose maxmemory-policy is noeviction: an
// evicted key resets its tenant's quota or hands out a fresh burst.
// [CheckEvictionPolicy] checks it (on every master of a Cluster). Size
// Redis for one hash per active key: 104 bytes without a quota, 136 with
// one kind of quota period, 152 with two (MEMORY USAGE on Redis 7).
// Persistence (AOF or RDB) keeps quotas across a restart.
//
// Client settings, as above: ContextTimeoutEnabled true, so that the
// decision timeout cuts a read or write in progress; dial, read and write
// timeouts of 100 to 250 ms; MaxRetries -1 (none; 0 means go-redis's
// default of 3) or 1, and DialerRetries 1, since a script retried after a
// lost reply counts its request twice; PoolTimeout under the decision
// timeout; for a Cluster, ReadOnly, RouteByLatency and RouteRandomly false.
//
// # Failures
//
// A decision waits at most the decision timeout ([WithDecisionTimeout]) for
// Redis. Past it, or on a node fault, the plan's [ratelimit.FailurePolicy]
// applies and the node is skipped for the retry interval
// ([WithRetryInterval]); the first answer after it resumes shared limiting.
// Under [ratelimit.FallbackLocal], what the in-process limiter allows during
// an outage is added to the Redis count once Redis answers again. A
// decision whose reply is lost (a reset connection, an EOF or a timeout
// after the script was sent, as when a Sentinel's master dies) may have
// been counted by Redis although the caller got an error: such a request
// can spend rate and quota it was not allowed. With the client settings
// above a node client never resends it; go-redis's Cluster client does
// (on a lost reply it tries the slot's master again, up to MaxRedirects
// times, whatever MaxRetries says), so at a Cluster failover a decision in
// flight may be counted twice.
package redislimit

// Package redisfeed carries cache invalidations to every replica of a
// service through Redis pub/sub (a server, Redis Cluster, Sentinel, or
// Amazon ElastiCache, on github.com/redis/go-redis/v9): the control plane
// publishes an ID once, and each replica's [Subscriber] drops it from its
// cache, the tenant directory's or the API-key verifier's ([Invalidator]).
//
// Each replica subscribes at startup; the control plane publishes after a
// change:
//
//	cache, err := directory.NewCache(dir)
//	feed, err := redisfeed.NewSubscriber(client, redisfeed.DirectoryChannel, cache)
//	defer feed.Close()
//	mw := httpmw.Authenticate(directory.Verifier(verifier, cache))
//	...
//	// control plane, after suspending acme in the directory:
//	err = redisfeed.Publish(ctx, client, redisfeed.DirectoryChannel, "acme")
//
// # Messages
//
// A message is the ID itself, or [All] to invalidate everything, on one
// channel per kind of cache ([DirectoryChannel], [APIKeyChannel]). A
// Subscriber invalidates an ID only if it passes the subscriber's check
// ([WithIDCheck]; tenant IDs by default); it ignores and counts the others
// ([Stats]). It keeps nothing of a message once handled.
//
// # Delivery
//
// Redis pub/sub delivers at most once: a replica that is not subscribed when
// a message is published never sees it. So a Subscriber calls the target's
// InvalidateAll each time its subscription is confirmed, the first included,
// and makes a lost subscription again after a bounded backoff
// ([WithBackoff]). A closed connection is seen at once, a silent one
// within twice the health-check interval ([WithHealthCheck]). While no
// subscription can be made, the cache's TTL bounds how stale an answer
// gets.
//
// On a Redis Cluster the feed uses PUBLISH and SUBSCRIBE, which the Cluster
// broadcasts to every node, not sharded pub/sub. Grant PUBLISH on the
// feed's channels (ACL channel permissions) to the control plane only.
package redisfeed

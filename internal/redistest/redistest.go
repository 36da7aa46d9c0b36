// Package redistest gives tests a real Redis server.
//
// [Addr] returns the shared throwaway server that scripts/with-redis.sh
// starts for make test (TENANTKIT_REDIS_ADDR). [Start] runs a private
// redis-server that a test may kill, restart, pause (SIGSTOP) and
// reconfigure, for outage tests. [StartCluster] runs a Redis Cluster of six
// nodes and [StartSentinel] a master, a replica and three sentinels, for
// failover tests. Every process listens on 127.0.0.1 only and is killed
// when the test ends; every wait is bounded. Without a redis-server binary
// they all skip the test, except under CI=true, where they fail it: no
// Redis test may silently skip in CI.
package redistest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// AddrEnv names the environment variable holding the shared server's
// host:port.
const AddrEnv = "TENANTKIT_REDIS_ADDR"

// ServerEnv names the environment variable holding the path of the
// redis-server binary for [Start]; without it, redis-server is looked up
// in PATH.
const ServerEnv = "TENANTKIT_REDIS_SERVER"

// unavailable skips t, or fails it under CI=true.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("redistest: %s; CI=true, so Redis tests may not skip (run them through scripts/with-redis.sh)", why)
	}
	t.Skipf("redistest: %s; run through scripts/with-redis.sh (make test does)", why)
}

// Addr returns the host:port of the shared test Redis server. It skips the
// test when TENANTKIT_REDIS_ADDR is unset, and fails it instead under
// CI=true. Tests sharing the server must use keys of their own (see
// [Prefix]).
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(AddrEnv)
	if addr == "" {
		unavailable(t, AddrEnv+" is not set")
	}
	return addr
}

// Prefix returns a key prefix unique to this test run and test, so that
// tests sharing one server never see each other's keys.
func Prefix(t testing.TB) string {
	return fmt.Sprintf("test:%d:%d:", os.Getpid(), nextID())
}

var (
	idMu sync.Mutex
	id   int
)

func nextID() int {
	idMu.Lock()
	defer idMu.Unlock()
	id++
	return id
}

// Server is a private redis-server process on a loopback port. Stop and
// Restart keep the port, so clients configured with Addr reconnect to the
// restarted server by themselves; Pause and Resume stall it (SIGSTOP,
// SIGCONT) without closing anything.
type Server struct {
	*Node
}

// Start runs a private redis-server (maxmemory-policy noeviction, nothing
// saved) on a free loopback port and kills it when the test ends. It skips
// the test when no redis-server binary is found (TENANTKIT_REDIS_SERVER,
// then PATH), and fails it under CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := serverBin(t)
	t.Cleanup(waitDialers) // last: after the clients made later are closed
	return &Server{newNode(t, bin, false, (*Node).serverArgs)}
}

// Stop kills the server at once, as a crash or a network cut would, and
// waits for it to exit. Clients see refused connections until Restart.
func (s *Server) Stop() { s.Kill() }

// Client returns a client of the node with short timeouts (250 ms; no
// retry, one dial attempt, context deadlines obeyed), closed when the test
// ends.
func (n *Node) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:         n.Addr,
		DialTimeout:  250 * time.Millisecond,
		ReadTimeout:  250 * time.Millisecond,
		WriteTimeout: 250 * time.Millisecond,
		MaxRetries:   -1,
		// As redislimit advises: a context deadline cuts a read in
		// progress, one dial attempt, a pool wait under a decision's time.
		ContextTimeoutEnabled: true,
		DialerRetries:         1,
		PoolTimeout:           200 * time.Millisecond,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// ConfigSet runs CONFIG SET param value on the node (for example
// "maxmemory" "1mb", "maxmemory-policy" "allkeys-lru"), failing the test on
// an error.
func (n *Node) ConfigSet(t testing.TB, param, value string) {
	t.Helper()
	if err := configSet(n.admin(), param, value); err != nil {
		t.Fatalf("redistest: %v", err)
	}
}

// configSet runs CONFIG SET with the admin client c.
func configSet(c *redis.Client, param, value string) error {
	addr := c.Options().Addr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.ConfigSet(ctx, param, value).Err(); err != nil {
		return fmt.Errorf("CONFIG SET %s %s on %s: %w", param, value, addr, err)
	}
	return nil
}

// adminClient returns a client for the helpers' own commands: one
// connection, short timeouts, a retry or two (the commands are idempotent,
// and the first after a restart meets a dead connection).
func adminClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:         addr,
		DialTimeout:  500 * time.Millisecond,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		MaxRetries:   2,
		PoolSize:     1,
		// No HELLO or CLIENT SETINFO on connect: a connection's first
		// command is the helper's own.
		DisableIdentity: true,
		Protocol:        2,
	})
}

package redistest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAddrAndPrefix(t *testing.T) {
	addr := Addr(t)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("%s=%q: %v", AddrEnv, addr, err)
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("shared server not reachable: %v", err)
	}
	defer c.Close()
	if !ping(c) {
		t.Fatal("shared server does not answer PING")
	}
	a, b := Prefix(t), Prefix(t)
	if a == b || !strings.HasSuffix(a, ":") {
		t.Errorf("prefixes %q and %q", a, b)
	}
}

func TestServerStopRestart(t *testing.T) {
	s := Start(t)
	reachable := func() bool {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		return ping(c)
	}
	if !reachable() {
		t.Fatal("server not up after Start")
	}
	s.Stop()
	if reachable() {
		t.Fatal("server still up after Stop")
	}
	s.Stop() // idempotent
	s.Restart()
	if !reachable() {
		t.Fatal("server not up after Restart")
	}
	s.Restart() // no-op while running
}

func TestServerPauseResumeConfig(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	s.Pause()
	if s.Running() {
		t.Fatal("Running() is true while paused")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := c.Ping(ctx).Err()
	cancel()
	if err == nil {
		t.Fatal("a paused server answered PING")
	}
	s.Resume()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}
	s.ConfigSet(t, "maxmemory-policy", "allkeys-lru")
	if got := c.ConfigGet(context.Background(), "maxmemory-policy").Val()["maxmemory-policy"]; got != "allkeys-lru" {
		t.Fatalf("maxmemory-policy %q after ConfigSet", got)
	}
	s.Pause()
	s.Kill() // a paused server is killed too
}

func TestSlot(t *testing.T) {
	for key, want := range map[string]int{
		"":             0,
		"123456789":    12739, // the CRC16/XMODEM check value 0x31C3, mod 16384
		"foo":          12182,
		"{user1000}.a": Slot("user1000"),
		"a{}b":         Slot("a{}b"),
	} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestCluster(t *testing.T) {
	c := StartCluster(t)
	cc := c.NewClient(t, nil)
	ctx := context.Background()
	for _, key := range []string{"foo", "{acme}:q", "tk:rl:{globex}:r"} {
		got, err := cc.ClusterKeySlot(ctx, key).Result()
		if err != nil || int(got) != Slot(key) {
			t.Errorf("CLUSTER KEYSLOT %q = %d, %v; Slot says %d", key, got, err, Slot(key))
		}
	}
	masters := c.Masters()
	if len(masters) != 3 {
		t.Fatalf("%d masters", len(masters))
	}
	for i, n := range c.Nodes() {
		want := "master"
		if i >= 3 {
			want = "replica"
		}
		if got := c.Role(n); got != want {
			t.Errorf("node %d (%s): role %s, want %s", i, n.Addr, got, want)
		}
	}
	const key = "{acme}:q"
	m := c.MasterFor(key)
	// Replication is asynchronous: WAIT, on the connection that wrote, for
	// the replica to have the key before its master dies.
	if _, err := m.Client(t).Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, key, "1", 0)
		p.Do(ctx, "WAIT", 1, 5000)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	replica := c.ReplicaOf(m)
	if replica == nil {
		t.Fatalf("no replica of %s", m.Addr)
	}
	c.Kill(m)
	if err := c.WaitState(false, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.WaitState(true, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("failover took %v after the Cluster noticed", time.Since(start))
	if got := c.MasterFor(key); got != replica {
		t.Fatalf("after the failover %s serves %q, want its replica %s", got.Addr, key, replica.Addr)
	}
	c.Restart(m)
	if err := c.WaitState(true, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := c.Role(m); got != "replica" {
		t.Fatalf("the restarted master is %s, want replica", got)
	}
	if v, err := cc.Get(ctx, key).Result(); err != nil || v != "1" {
		t.Fatalf("GET after the failover: %q, %v", v, err)
	}
}

func TestSentinel(t *testing.T) {
	s := StartSentinel(t)
	c := s.NewClient(t, nil)
	ctx := context.Background()
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "k", "1", 0)
		p.Do(ctx, "WAIT", 1, 5000) // the replica has it before the master dies
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	old := s.KillMaster()
	m, err := s.WaitFailover(old, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m != s.Nodes()[1] {
		t.Fatalf("new master %s, want the replica", m.Addr)
	}
	s.Restart(old)
	err = poll(10*time.Second, 50*time.Millisecond, func() error {
		return c.Get(ctx, "k").Err()
	})
	if err != nil {
		t.Fatalf("GET through the failover client: %v", err)
	}
	info, err := nodeInfo(old, "INFO", "replication")
	if err != nil || info["role"] != "slave" {
		t.Fatalf("restarted master: role %q, %v", info["role"], err)
	}
}

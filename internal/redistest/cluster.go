package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterNodeTimeout is the cluster-node-timeout of [StartCluster]'s
// nodes: a master that answers nothing for this long is failed over.
const ClusterNodeTimeout = 1000 * time.Millisecond

// ClusterSlots is the number of hash slots of a Redis Cluster.
const ClusterSlots = 16384

// Cluster is a Redis Cluster of three masters with one replica each, on
// loopback ports, started by [StartCluster].
//
// Its nodes run with cluster-require-full-coverage no: while a master is
// down, the other masters keep serving their slots, as a deployment that
// wants a fault to stay on its shard would configure them. A replica is
// promoted whatever the age of its data (cluster-replica-validity-factor 0).
type Cluster struct {
	t     testing.TB
	nodes []*Node
}

// StartCluster runs six redis-server nodes with cluster-enabled yes and
// cluster-node-timeout [ClusterNodeTimeout], assigns the slots in three
// equal ranges to the first three, makes each of the others the replica of
// one of them, and waits (at most 30 s) until every node reports
// cluster_state:ok with every slot served and every replica in sync. The
// nodes are killed when the test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := serverBin(t)
	t.Cleanup(waitDialers) // last: after the clients made later are closed
	c := &Cluster{t: t}
	for range 6 {
		c.nodes = append(c.nodes, newNode(t, bin, true, func(n *Node) []string {
			return append(n.serverArgs(),
				"--cluster-enabled", "yes",
				"--cluster-port", strconv.Itoa(n.BusPort),
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", strconv.Itoa(int(ClusterNodeTimeout/time.Millisecond)),
				"--cluster-require-full-coverage", "no",
				"--cluster-replica-validity-factor", "0",
				"--repl-diskless-sync", "yes",
				"--repl-diskless-sync-delay", "0",
			)
		}))
	}
	if err := c.create(); err != nil {
		t.Fatalf("redistest: creating the Cluster: %v", err)
	}
	if err := c.WaitState(true, 30*time.Second); err != nil {
		t.Fatalf("redistest: the new Cluster: %v", err)
	}
	return c
}

// create joins the nodes into one Cluster with CLUSTER commands.
func (c *Cluster) create() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admins := make([]*redis.Client, len(c.nodes))
	for i, n := range c.nodes {
		admins[i] = n.admin()
	}
	ids := make([]string, len(c.nodes))
	for i, a := range admins {
		id, err := a.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return fmt.Errorf("CLUSTER MYID on %s: %w", c.nodes[i].Addr, err)
		}
		ids[i] = id
		// Distinct epochs, so that no node has to resolve a collision.
		if err := a.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return fmt.Errorf("CLUSTER SET-CONFIG-EPOCH on %s: %w", c.nodes[i].Addr, err)
		}
	}
	per := ClusterSlots / 3
	for i := range 3 {
		lo, hi := i*per, (i+1)*per-1
		if i == 2 {
			hi = ClusterSlots - 1
		}
		if err := admins[i].Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			return fmt.Errorf("CLUSTER ADDSLOTSRANGE %d %d on %s: %w", lo, hi, c.nodes[i].Addr, err)
		}
	}
	for _, n := range c.nodes[1:] {
		if err := admins[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.Port, n.BusPort).Err(); err != nil {
			return fmt.Errorf("CLUSTER MEET %s: %w", n.Addr, err)
		}
	}
	// A replica can follow its master once it knows it.
	for i := 3; i < 6; i++ {
		err := poll(10*time.Second, 20*time.Millisecond, func() error {
			return admins[i].Do(ctx, "CLUSTER", "REPLICATE", ids[i-3]).Err()
		})
		if err != nil {
			return fmt.Errorf("CLUSTER REPLICATE on %s: %w", c.nodes[i].Addr, err)
		}
	}
	return nil
}

// Nodes returns the six nodes, in their starting order: the first three
// started as masters, each of the others as the replica of the one three
// places before it. Roles change with failovers; see Role.
func (c *Cluster) Nodes() []*Node { return slices.Clone(c.nodes) }

// Addrs returns the addresses of the six nodes.
func (c *Cluster) Addrs() []string { return addrs(c.nodes) }

// Role returns "master" or "replica" as node n says (ROLE), or "down" when
// it is not running or does not answer within a second.
func (c *Cluster) Role(n *Node) string {
	if !n.Running() {
		return "down"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := n.admin().Do(ctx, "ROLE").Slice()
	if err != nil || len(r) == 0 {
		return "down"
	}
	if r[0] == "slave" {
		return "replica"
	}
	return fmt.Sprint(r[0])
}

// Masters returns the nodes that serve slots, as a running node sees them
// (CLUSTER SHARDS), in the order of their slots.
func (c *Cluster) Masters() []*Node {
	c.t.Helper()
	ranges, err := c.slots()
	if err != nil {
		c.t.Fatalf("redistest: %v", err)
	}
	var ms []*Node
	for _, r := range ranges {
		if !slices.Contains(ms, r.master) {
			ms = append(ms, r.master)
		}
	}
	return ms
}

// MasterFor returns the node serving the slot of key, as a running node
// sees it.
func (c *Cluster) MasterFor(key string) *Node {
	c.t.Helper()
	return c.MastersFor(key)[0]
}

// MastersFor returns the node serving the slot of each key, as a running
// node sees it (one CLUSTER SHARDS for all the keys).
func (c *Cluster) MastersFor(keys ...string) []*Node {
	c.t.Helper()
	ranges, err := c.slots()
	if err != nil {
		c.t.Fatalf("redistest: %v", err)
	}
	ms := make([]*Node, len(keys))
	for i, key := range keys {
		s := Slot(key)
		for _, r := range ranges {
			if s >= r.lo && s <= r.hi {
				ms[i] = r.master
				break
			}
		}
		if ms[i] == nil {
			c.t.Fatalf("redistest: no node serves slot %d (key %q)", s, key)
		}
	}
	return ms
}

// ReplicaOf returns a running node that replicates master, or nil.
func (c *Cluster) ReplicaOf(master *Node) *Node {
	for _, n := range c.nodes {
		if n == master || !n.Running() {
			continue
		}
		info, err := nodeInfo(n, "INFO", "replication")
		if err != nil {
			continue
		}
		if info["role"] == "slave" && info["master_port"] == strconv.Itoa(master.Port) {
			return n
		}
	}
	return nil
}

type slotRange struct {
	lo, hi int
	master *Node
}

// slots reads CLUSTER SHARDS from the first running node that answers.
func (c *Cluster) slots() ([]slotRange, error) {
	var last error = errors.New("no node is running")
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		shards, err := n.admin().ClusterShards(ctx).Result()
		cancel()
		if err != nil {
			last = fmt.Errorf("CLUSTER SHARDS on %s: %w", n.Addr, err)
			continue
		}
		var rs []slotRange
		for _, sh := range shards {
			var m *Node
			for _, sn := range sh.Nodes {
				if sn.Role == "master" {
					if m = c.byAddr(net.JoinHostPort(sn.IP, strconv.FormatInt(sn.Port, 10))); m == nil {
						return nil, fmt.Errorf("CLUSTER SHARDS on %s names %s:%d, not a node of this Cluster", n.Addr, sn.IP, sn.Port)
					}
				}
			}
			if m == nil {
				continue
			}
			for _, r := range sh.Slots {
				rs = append(rs, slotRange{int(r.Start), int(r.End), m})
			}
		}
		slices.SortFunc(rs, func(a, b slotRange) int { return a.lo - b.lo })
		return rs, nil
	}
	return nil, last
}

// byAddr returns the node at addr (host and port: a node that names a
// peer by an address other than 127.0.0.1 names none of them).
func (c *Cluster) byAddr(addr string) *Node {
	for _, n := range c.nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// Kill sends SIGKILL to n; see [Node.Kill].
func (c *Cluster) Kill(n *Node) { n.Kill() }

// Restart starts a killed node again. It keeps its nodes.conf, so it
// rejoins the Cluster, as a replica if its slots were failed over.
func (c *Cluster) Restart(n *Node) { n.Restart() }

// Pause stalls n with SIGSTOP; see [Node.Pause].
func (c *Cluster) Pause(n *Node) { n.Pause() }

// Resume sends SIGCONT to a paused node.
func (c *Cluster) Resume(n *Node) { n.Resume() }

// WaitState waits at most timeout for the Cluster to be whole (ok true) or
// broken (ok false), as its running, unpaused nodes report it.
//
// Whole: every such node says cluster_state:ok with all 16384 slots ok
// (none pfail or fail), and none of them flags another running node as
// failing; every replica among them is in sync with its master.
//
// Broken: some such node reports a slot pfail or fail, or cluster_state:fail
// (with cluster-require-full-coverage no, a node whose peers' slots are
// down still says cluster_state:ok, so the slot counts are what tell).
func (c *Cluster) WaitState(ok bool, timeout time.Duration) error {
	return poll(timeout, 50*time.Millisecond, func() error {
		whole, why := c.whole()
		if whole == ok {
			return nil
		}
		if ok {
			return fmt.Errorf("the Cluster is not whole: %s", why)
		}
		return errors.New("the Cluster still reports every slot ok")
	})
}

// whole reports whether the Cluster is whole and, when not, why.
func (c *Cluster) whole() (bool, string) {
	running := 0
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		running++
		info, err := nodeInfo(n, "CLUSTER", "INFO")
		if err != nil {
			return false, err.Error()
		}
		if info["cluster_state"] != "ok" || info["cluster_slots_ok"] != strconv.Itoa(ClusterSlots) {
			return false, fmt.Sprintf("%s: cluster_state:%s cluster_slots_ok:%s cluster_slots_pfail:%s cluster_slots_fail:%s",
				n.Addr, info["cluster_state"], info["cluster_slots_ok"], info["cluster_slots_pfail"], info["cluster_slots_fail"])
		}
		nodes, err := nodeText(n, "CLUSTER", "NODES")
		if err != nil {
			return false, err.Error()
		}
		for _, line := range strings.Split(strings.TrimSpace(nodes), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			addr, _, _ := strings.Cut(f[1], "@")
			if peer := c.byAddr(addr); peer != nil && peer.Running() && strings.Contains(f[2], "fail") {
				return false, fmt.Sprintf("%s flags running node %s %s", n.Addr, addr, f[2])
			}
		}
		repl, err := nodeInfo(n, "INFO", "replication")
		if err != nil {
			return false, err.Error()
		}
		if repl["role"] == "slave" && repl["master_link_status"] != "up" {
			return false, fmt.Sprintf("replica %s: master_link_status:%s", n.Addr, repl["master_link_status"])
		}
	}
	if running == 0 {
		return false, "no node is running"
	}
	return true, ""
}

// NewClient returns a Cluster client of all six nodes with short timeouts
// (dial, read and write 150 ms; no retry, one dial attempt, a pool wait
// of 200 ms; context deadlines obeyed) and tune applied if it is not nil;
// it is closed when the test ends.
func (c *Cluster) NewClient(t testing.TB, tune func(*redis.ClusterOptions)) *redis.ClusterClient {
	o := &redis.ClusterOptions{
		Addrs:        c.Addrs(),
		DialTimeout:  150 * time.Millisecond,
		ReadTimeout:  150 * time.Millisecond,
		WriteTimeout: 150 * time.Millisecond,
		PoolSize:     16,
		// No retry: a script whose reply timed out may have run, and
		// running it again would spend twice. (-1: go-redis reads 0 as
		// its default of 3 retries for a node client.)
		MaxRetries: -1,
		// As redislimit advises: a context deadline cuts a read in
		// progress, one dial attempt, a pool wait under a decision's time.
		ContextTimeoutEnabled: true,
		DialerRetries:         1,
		PoolTimeout:           200 * time.Millisecond,
	}
	if tune != nil {
		tune(o)
	}
	cc := redis.NewClusterClient(o)
	t.Cleanup(func() { cc.Close() })
	return cc
}

// nodeText runs an admin command returning text on n.
func nodeText(n *Node, args ...any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := n.admin().Do(ctx, args...).Text()
	if err != nil {
		return "", fmt.Errorf("%v on %s: %w", args, n.Addr, err)
	}
	return s, nil
}

// nodeInfo runs an admin command returning "field:value" lines (INFO,
// CLUSTER INFO) on n and parses them.
func nodeInfo(n *Node, args ...any) (map[string]string, error) {
	s, err := nodeText(n, args...)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string)
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// Slot returns the Redis Cluster hash slot of key: CRC16 (XMODEM) of its
// hash tag (the part between the first '{' and the next '}', if not empty)
// or of the whole key, modulo 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % ClusterSlots
}

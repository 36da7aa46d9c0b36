package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMasterName is the name the sentinels of [StartSentinel] monitor
// their master under.
const SentinelMasterName = "tenantkit"

// SentinelDownAfter is the down-after-milliseconds of [StartSentinel]'s
// sentinels: a master that answers nothing for this long is failed over.
const SentinelDownAfter = 1000 * time.Millisecond

// Sentinel is a master, its replica and three sentinels (quorum 2) on
// loopback ports, started by [StartSentinel].
type Sentinel struct {
	t         testing.TB
	data      []*Node // the two redis-servers
	sentinels []*Node

	mu     sync.Mutex
	follow map[*Node]int // the port of the master a data node starts as a replica of
}

// dataArgs returns the command line of data node n.
func (s *Sentinel) dataArgs(n *Node) []string {
	s.mu.Lock()
	port := s.follow[n]
	s.mu.Unlock()
	if port == 0 {
		return n.serverArgs()
	}
	return append(n.serverArgs(), "--replicaof", "127.0.0.1", strconv.Itoa(port))
}

// StartSentinel runs a redis-server master, one replica of it and three
// sentinels monitoring it (quorum 2, down-after-milliseconds
// [SentinelDownAfter], failover-timeout 3 s), and waits (at most 30 s)
// until the replica is in sync and every sentinel knows the replica and
// the two other sentinels. Everything is killed when the test ends.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	bin := serverBin(t)
	t.Cleanup(waitDialers) // last: after the clients made later are closed
	s := &Sentinel{t: t, follow: map[*Node]int{}}
	master := newNode(t, bin, false, s.dataArgs)
	var replica *Node
	replica = newNode(t, bin, false, func(n *Node) []string {
		if replica == nil { // the first start
			s.mu.Lock()
			s.follow[n] = master.Port
			s.mu.Unlock()
		}
		return s.dataArgs(n)
	})
	s.data = []*Node{master, replica}

	sbin, flag := sentinelCmd(t)
	for range 3 {
		s.sentinels = append(s.sentinels, newNode(t, sbin, false, func(n *Node) []string {
			// A sentinel rewrites its configuration file as it learns: the
			// file is written once and kept across restarts.
			conf := filepath.Join(n.dir, "sentinel.conf")
			if _, err := os.Stat(conf); err != nil {
				text := fmt.Sprintf(`bind 127.0.0.1
port %d
daemonize no
dir %s
logfile %s
sentinel monitor %s 127.0.0.1 %d 2
sentinel down-after-milliseconds %[4]s %[6]d
sentinel failover-timeout %[4]s 3000
sentinel parallel-syncs %[4]s 1
`, n.Port, n.dir, n.logFile(), SentinelMasterName, master.Port, SentinelDownAfter.Milliseconds())
				_ = os.WriteFile(conf, []byte(text), 0o644)
			}
			if flag {
				return []string{conf, "--sentinel"}
			}
			return []string{conf}
		}))
	}
	if err := poll(30*time.Second, 50*time.Millisecond, s.ready); err != nil {
		t.Fatalf("redistest: the Sentinel group did not get ready: %v", err)
	}
	return s
}

// ready reports, as an error, what the group still lacks before a failover
// can work.
func (s *Sentinel) ready() error {
	repl, err := nodeInfo(s.data[1], "INFO", "replication")
	if err != nil {
		return err
	}
	if repl["master_link_status"] != "up" {
		return fmt.Errorf("replica %s: master_link_status:%s", s.data[1].Addr, repl["master_link_status"])
	}
	for _, sn := range s.sentinels {
		m, err := sentinelMaster(sn)
		if err != nil {
			return err
		}
		if m["num-other-sentinels"] != "2" || m["num-slaves"] != "1" || m["flags"] != "master" {
			return fmt.Errorf("sentinel %s: flags %s, num-other-sentinels %s, num-slaves %s",
				sn.Addr, m["flags"], m["num-other-sentinels"], m["num-slaves"])
		}
	}
	return nil
}

// sentinelMaster returns SENTINEL MASTER of the monitored master as the
// sentinel at addr sees it.
func sentinelMaster(sn *Node) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := sn.admin().Do(ctx, "SENTINEL", "MASTER", SentinelMasterName).Slice()
	if err != nil {
		return nil, fmt.Errorf("SENTINEL MASTER on %s: %w", sn.Addr, err)
	}
	m := make(map[string]string)
	for i := 0; i+1 < len(r); i += 2 {
		m[fmt.Sprint(r[i])] = fmt.Sprint(r[i+1])
	}
	return m, nil
}

// Nodes returns the two redis-servers: the first started as the master,
// the second as its replica. Roles change with failovers; see Master.
func (s *Sentinel) Nodes() []*Node { return slices.Clone(s.data) }

// Sentinels returns the three sentinel processes.
func (s *Sentinel) Sentinels() []*Node { return slices.Clone(s.sentinels) }

// SentinelAddrs returns the addresses of the three sentinels.
func (s *Sentinel) SentinelAddrs() []string { return addrs(s.sentinels) }

// Master returns the node that a majority of the running sentinels name
// as the master (SENTINEL GET-MASTER-ADDR-BY-NAME), or nil when there is
// no majority.
func (s *Sentinel) Master() *Node {
	votes := map[string]int{}
	for _, sn := range s.sentinels {
		if !sn.Running() {
			continue
		}
		if addr, err := sentinelMasterAddr(sn); err == nil {
			votes[addr]++
		}
	}
	for addr, v := range votes {
		if v >= 2 {
			for _, n := range s.data {
				if n.Addr == addr {
					return n
				}
			}
		}
	}
	return nil
}

func sentinelMasterAddr(sn *Node) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := sn.admin().Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMasterName).StringSlice()
	if err != nil {
		return "", err
	}
	if len(r) != 2 {
		return "", fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME on %s: %v", sn.Addr, r)
	}
	return net.JoinHostPort(r[0], r[1]), nil
}

// Kill sends SIGKILL to n; see [Node.Kill].
func (s *Sentinel) Kill(n *Node) { n.Kill() }

// KillMaster kills the current master and returns it.
func (s *Sentinel) KillMaster() *Node {
	s.t.Helper()
	m := s.Master()
	if m == nil {
		s.t.Fatal("redistest: the sentinels agree on no master")
	}
	m.Kill()
	return m
}

// WaitFailover waits at most timeout until a majority of the sentinels
// name a master other than old, and that node answers ROLE as a master;
// it returns the new master.
func (s *Sentinel) WaitFailover(old *Node, timeout time.Duration) (*Node, error) {
	var m *Node
	err := poll(timeout, 20*time.Millisecond, func() error {
		m = s.Master()
		if m == nil || m == old {
			return errors.New("the sentinels still name the old master, or none")
		}
		info, err := nodeInfo(m, "INFO", "replication")
		if err != nil {
			return err
		}
		if info["role"] != "master" {
			return fmt.Errorf("the sentinels name %s, which says role:%s", m.Addr, info["role"])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("no failover from %s: %w\nfirst sentinel's log:\n%s", old.Addr, err, s.sentinels[0].logTail())
	}
	return m, nil
}

// Restart starts a killed node again as a replica of the current master,
// so that it never comes back as a second master with no data.
func (s *Sentinel) Restart(n *Node) {
	s.t.Helper()
	m := s.Master()
	if m == nil || m == n {
		s.t.Fatalf("redistest: restarting %s: the sentinels name no other master", n.Addr)
	}
	s.mu.Lock()
	s.follow[n] = m.Port
	s.mu.Unlock()
	n.Restart()
}

// NewClient returns a Sentinel failover client of the group (master only)
// with short timeouts (dial, read and write 150 ms; no retry, one dial
// attempt, a pool wait of 200 ms; context deadlines obeyed) and tune
// applied if it is not nil; it is closed when the test ends.
func (s *Sentinel) NewClient(t testing.TB, tune func(*redis.FailoverOptions)) *redis.Client {
	o := &redis.FailoverOptions{
		MasterName:    SentinelMasterName,
		SentinelAddrs: s.SentinelAddrs(),
		DialTimeout:   150 * time.Millisecond,
		ReadTimeout:   150 * time.Millisecond,
		WriteTimeout:  150 * time.Millisecond,
		PoolSize:      16,
		// No retry, as for the Cluster client: a script whose reply timed
		// out may have run, and running it again would spend twice.
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
	c := redis.NewFailoverClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

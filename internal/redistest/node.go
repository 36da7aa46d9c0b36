package redistest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelEnv names the environment variable holding the path of a binary
// that runs Redis Sentinel (redis-sentinel); without it, redis-sentinel is
// looked up in PATH, and then the redis-server binary is run with
// --sentinel, which every redis-server build supports.
const SentinelEnv = "TENANTKIT_REDIS_SENTINEL"

// startTimeout bounds how long a process may take to answer PING.
const startTimeout = 10 * time.Second

// serverBin returns the redis-server binary, or skips t (fails it under
// CI=true).
func serverBin(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(ServerEnv); bin != "" {
		return bin
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "no redis-server binary ("+ServerEnv+" unset and none in PATH)")
	}
	return p
}

// sentinelCmd returns the binary and the leading arguments that run a
// sentinel with a configuration file.
func sentinelCmd(t testing.TB) (bin string, sentinelFlag bool) {
	t.Helper()
	if bin := os.Getenv(SentinelEnv); bin != "" {
		return bin, false
	}
	if p, err := exec.LookPath("redis-sentinel"); err == nil {
		return p, false
	}
	return serverBin(t), true
}

// Node is one redis-server (or sentinel) process on a loopback port of its
// own. Kill and Restart keep the port and the working directory, so clients
// configured with Addr reach the restarted process, and a Cluster node finds
// its nodes.conf again.
type Node struct {
	Addr string // 127.0.0.1:port
	Port int
	// BusPort is the Cluster bus port of a Cluster node; 0 otherwise.
	BusPort int

	t    testing.TB
	bin  string
	args func() []string // evaluated at each (re)start
	dir  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	paused bool
	adm    *redis.Client // the helpers' own client, made on first use
}

// admin returns the node's client for the helpers' own commands.
func (n *Node) admin() *redis.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.adm == nil {
		n.adm = adminClient(n.Addr)
	}
	return n.adm
}

func (n *Node) closeAdmin() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.adm != nil {
		n.adm.Close()
		n.adm = nil
	}
}

// newNode makes a Node in a fresh temporary directory; it is killed when
// the test ends. args builds the command line from the node itself (its
// Port, BusPort and dir).
func newNode(t testing.TB, bin string, bus bool, args func(n *Node) []string) *Node {
	t.Helper()
	n := &Node{t: t, bin: bin, dir: t.TempDir()}
	n.args = func() []string { return args(n) }
	t.Cleanup(n.closeAdmin)
	t.Cleanup(n.Kill)
	// A port picked by freePort may be taken by someone else before the
	// server binds it; pick again a few times.
	var err error
	for range 3 {
		if n.Port, err = freePort(); err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		if bus {
			if n.BusPort, err = freePort(); err != nil {
				t.Fatalf("redistest: no free port: %v", err)
			}
		}
		n.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port))
		if err = n.start(); err == nil {
			return n
		}
		if !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	t.Fatalf("redistest: %v", err)
	return nil
}

func (n *Node) logFile() string { return filepath.Join(n.dir, "redis.log") }

// start runs the process and waits until it answers PING.
func (n *Node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return nil
	}
	out, err := os.OpenFile(filepath.Join(n.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(n.bin, n.args()...)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	n.cmd, n.exited, n.paused = cmd, exited, false
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", n.Addr, 100*time.Millisecond)
		if err == nil {
			ok := ping(c)
			c.Close()
			if ok {
				return nil
			}
		}
		select {
		case <-exited:
			n.cmd = nil
			return fmt.Errorf("%s on %s exited at start:\n%s", filepath.Base(n.bin), n.Addr, n.logTail())
		default:
		}
		if time.Now().After(deadline) {
			n.killLocked()
			return fmt.Errorf("%s on %s did not answer PING within %v:\n%s", filepath.Base(n.bin), n.Addr, startTimeout, n.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logTail returns the end of the process's log, for error messages.
func (n *Node) logTail() string {
	var b []byte
	for _, f := range []string{filepath.Join(n.dir, "stdout.log"), n.logFile()} {
		data, _ := os.ReadFile(f)
		b = append(b, data...)
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Restart starts the process again (or the first time) on the same port
// and waits until it answers PING; it is a no-op while the process runs.
// Data is not kept across restarts (nothing is saved), but a Cluster
// node's configuration is.
func (n *Node) Restart() {
	n.t.Helper()
	if err := n.start(); err != nil {
		n.t.Fatalf("redistest: %v", err)
	}
}

// Kill sends SIGKILL, as a crash would, and waits for the process to exit;
// it works on a paused process too. Clients see refused connections until
// Restart. It is a no-op when the process is not running.
func (n *Node) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.killLocked()
}

func (n *Node) killLocked() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.t.Errorf("redistest: %s did not exit 10 s after SIGKILL", n.Addr)
	}
	n.cmd, n.paused = nil, false
}

// Pause sends SIGSTOP: the process keeps its port and its connections but
// answers nothing (the kernel still accepts new connections), as a server
// stalled by a long fork, a swap storm or a hung disk would. Resume ends it;
// Kill works too.
func (n *Node) Pause() { n.signal(syscall.SIGSTOP, true) }

// Resume sends SIGCONT to a paused process.
func (n *Node) Resume() { n.signal(syscall.SIGCONT, false) }

func (n *Node) signal(sig syscall.Signal, paused bool) {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		n.t.Fatalf("redistest: %v to %s, which is not running", sig, n.Addr)
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		n.t.Fatalf("redistest: %v to %s: %v", sig, n.Addr, err)
	}
	n.paused = paused
}

// Running reports whether the process runs and is not paused.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil && !n.paused
}

// addrs returns the addresses of nodes.
func addrs(nodes []*Node) []string {
	a := make([]string, len(nodes))
	for i, n := range nodes {
		a[i] = n.Addr
	}
	return a
}

// Dir returns the node's working directory (its log is redis.log there).
func (n *Node) Dir() string { return n.dir }

// serverArgs are the arguments every redis-server of this package gets.
func (n *Node) serverArgs() []string {
	return []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(n.Port),
		"--save", "",
		"--appendonly", "no",
		"--maxmemory-policy", "noeviction",
		"--dir", n.dir,
		"--daemonize", "no",
		"--logfile", n.logFile(),
	}
}

func ping(c net.Conn) bool {
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 16)
	n, _ := c.Read(buf)
	return bytes.HasPrefix(buf[:n], []byte("+PONG"))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// poll calls f every interval until it returns nil or timeout passes; it
// returns f's last error.
func poll(timeout, interval time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(interval)
	}
}

// waitDialers waits (at most 2 s) until no go-redis connection pool of
// this process is retrying a failed dial in the background. Such a
// goroutine notices that its pool was closed only after its sleep of one
// second, which goleak, run at the end of the test binary, would report.
func waitDialers() {
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		if !bytes.Contains(buf[:n], []byte("internal/pool.(*ConnPool).tryDial")) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Package redistest gives tests a real Redis server.
//
// [Addr] returns the shared throwaway server that scripts/with-redis.sh
// starts for make test (TENANTKIT_REDIS_ADDR). [Start] runs a private
// redis-server that a test may stop and restart, for outage tests. Without a
// server both skip the test, except under CI=true, where they fail it: no
// Redis test may silently skip in CI.
package redistest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
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
// restarted server by themselves.
type Server struct {
	Addr string // 127.0.0.1:port

	t    testing.TB
	bin  string
	dir  string
	port int

	mu  sync.Mutex
	cmd *exec.Cmd
	log bytes.Buffer
}

// Start runs a private redis-server on a free loopback port and stops it
// when the test ends. It skips the test when no redis-server binary is
// found (TENANTKIT_REDIS_SERVER, then PATH), and fails it under CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv(ServerEnv)
	if bin == "" {
		p, err := exec.LookPath("redis-server")
		if err != nil {
			unavailable(t, "no redis-server binary ("+ServerEnv+" unset and none in PATH)")
		}
		bin = p
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("redistest: no free port: %v", err)
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		t:    t,
		bin:  bin,
		dir:  t.TempDir(),
		port: port,
	}
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Restart starts the server again on the same port (or the first time) and
// waits until it accepts connections. Data is not kept across restarts.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin,
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(s.port),
		"--save", "",
		"--appendonly", "no",
		"--maxmemory-policy", "noeviction",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	)
	cmd.Stdout = &s.log
	cmd.Stderr = &s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start %s: %v", s.bin, err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err == nil {
			ok := ping(c)
			c.Close()
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.stopLocked()
			s.t.Fatalf("redistest: redis-server on %s did not come up: %v\n%s%s", s.Addr, err, s.log.String(), logs)
		}
		time.Sleep(20 * time.Millisecond)
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

// Stop kills the server at once, as a crash or a network cut would, and
// waits for it to exit. Clients see refused connections until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

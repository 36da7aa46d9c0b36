package redistest

import (
	"net"
	"strings"
	"testing"
	"time"

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

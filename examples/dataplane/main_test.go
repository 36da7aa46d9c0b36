package main

import (
	"bytes"
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tenantkit/tenantkit/apikey"

	"github.com/tenantkit/tenantkit/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// virtualClock is a clock that moves only when the demo pauses: the rate
// limiter then sees a burst as one instant however slowly a loaded machine
// serves it (a CI run saw more than nine of twenty requests pass a burst
// of 5 at 20/s).
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *virtualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = time.Now()
	}
	return c.t
}

func (c *virtualClock) sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = time.Now()
	}
	c.t = c.t.Add(d)
}

// The demo is part of the contract: it must run, exit cleanly and show each
// case with the status a user would expect.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	var clock virtualClock
	if err := run(context.Background(), &out, options{now: clock.now, sleep: clock.sleep}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`acme \(enterprise\)\s+200\s+acme\s+enterprise\s+acme`,
		`globex \(pro\)\s+200\s+globex\s+pro\s+globex`,
		`initech \+ X-Tenant-ID: acme\s+200\s+initech\s+free\s+initech`,
		`context.Background\(\):\s+.*no tenant in context`,
		`context.WithoutCancel: backend saw acme`,
		`acme\s+enterprise\s+.*15 in a row\s+15\s+0\s+0`,
		`initech\s+free\s+.*15 in a row\s+3\s+12\s+0`,             // the burst of 5 trips the rate limit (2 went to section 1)
		`initech\s+free\s+.*10, 100ms apart\s+\d+\s+0\s+[1-9]`,    // the trickle trips the quota
		`globex\s+pro\s+\d+\s+\S+\s+\d+\s+\$\d+\.\d\d\s+\$99\.00`, // usage and cost table`
		`forged signature\s+401`,
		`expired token\s+401`,
		`wrong issuer\s+401`,
		`wildcard tenant ID\s+401`,
		`no token\s+401`,
		// 4. suspension: refused once the event invalidates the cached answer
		`umbrella active\s+200\s+umbrella\s+umbrella`,
		`answer still cached \(TTL 10s\)\s+200\s+umbrella`,
		`event "Tenant Suspended" to the edge\s+204`,
		`next request\s+403\s+-\s+-\s+urn:tenantkit:problem:tenant-suspended`,
		// 5. downgrade: same token, the directory's tier and its limit
		`before\s+pro\s+600/min, burst 50\s+20 in a row\s+20\s+0\s+-`,
		`after\s+free\s+20/s, burst 5\s+20 in a row\s+5\s+15\s+request 6`,
		// 6. machine client: the key is masked, acts for its tenant, and is
		// refused once revoked
		`created for acme: tk_live_[0-9A-Za-z]{16}…`,
		`Authorization: Bearer <key>\s+200\s+acme\s+enterprise\s+acme`,
		`X-API-Key: <key>\s+200\s+acme\s+enterprise\s+acme`,
		`mistyped key\s+401\s+.*malformed key`,
		`key of suspended umbrella\s+403\s+.*tenant-suspended`,
		`same key, revoked\s+401\s+.*key revoked`,
		`7\. Usage and cost`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The secret of the key is printed nowhere.
	if m := regexp.MustCompile(apikey.ScannerPattern(apikey.DefaultPrefix)).Find(out.Bytes()); m != nil {
		t.Errorf("output shows an API key: %s", m)
	}
}

// With -redis the same demo shares its limits through a real Redis.
func TestDemoRedis(t *testing.T) {
	addr := redistest.Addr(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, options{redisAddr: addr}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`shared through Redis at ` + regexp.QuoteMeta(addr),
		`initech\s+free\s+.*15 in a row\s+\d+\s+([1-9]|1[0-2])\s+0`,
		`initech\s+free\s+.*10, 100ms apart\s+\d+\s+0\s+[1-9]`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

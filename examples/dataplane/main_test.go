package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"go.uber.org/goleak"

	"github.com/tenantkit/tenantkit/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The demo is part of the contract: it must run, exit cleanly and show each
// case with the status a user would expect.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, options{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`acme \(enterprise\)\s+200\s+acme\s+enterprise\s+acme`,
		`globex \(pro\)\s+200\s+globex\s+pro\s+globex`,
		`initech \+ X-Tenant-ID: acme\s+200\s+initech\s+free\s+initech`,
		`context.Background\(\):\s+.*no tenant in context`,
		`context.WithoutCancel: backend saw acme`,
		`acme\s+enterprise\s+.*15 in a row\s+15\s+0\s+0`,
		`initech\s+free\s+.*15 in a row\s+\d+\s+([1-9]|1[0-2])\s+0`, // the burst trips the rate limit
		`initech\s+free\s+.*10, 100ms apart\s+\d+\s+0\s+[1-9]`,      // the trickle trips the quota
		`globex\s+pro\s+\d+\s+\S+\s+\d+\s+\$\d+\.\d\d\s+\$99\.00`,   // usage and cost table`
		`forged signature\s+401`,
		`expired token\s+401`,
		`wrong issuer\s+401`,
		`wildcard tenant ID\s+401`,
		`no token\s+401`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
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

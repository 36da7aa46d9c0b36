package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The demo is part of the contract: it must run, exit cleanly and show each
// case with the status a user would expect.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`acme \(enterprise\)\s+200\s+acme\s+enterprise\s+acme`,
		`globex \(pro\)\s+200\s+globex\s+pro\s+globex`,
		`initech \+ X-Tenant-ID: acme\s+200\s+initech\s+free\s+initech`,
		`context.Background\(\):\s+.*no tenant in context`,
		`context.WithoutCancel: backend saw acme`,
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

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// need returns the variable the repository's scripts export. Without it
// the test skips, except under CI=true, where it fails.
func need(t *testing.T, name, script string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		why := name + " is not set (run the test through " + script + ")"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI=true, so this test may not skip", why)
		}
		t.Skip(why)
	}
	return v
}

// The example is part of the contract: against the test servers it must
// run, leave nothing behind and show each tenant only its own rows, the
// cross-tenant write refused and the shredded tenant's secret unreadable.
func TestSharedTable(t *testing.T) {
	cfg := config{
		ownerURL:    need(t, "TENANTKIT_POSTGRES_URL", "scripts/with-postgres.sh"),
		appURL:      need(t, "TENANTKIT_POSTGRES_APP_URL", "scripts/with-postgres.sh"),
		kmsEndpoint: need(t, "TENANTKIT_KMS_ENDPOINT", "scripts/with-local-kms.sh"),
		kmsRegion:   os.Getenv("TENANTKIT_KMS_REGION"),
		schema:      fmt.Sprintf("sharedtable_test_%d", os.Getpid()),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, cfg); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		`FORCE ROW LEVEL SECURITY`,
		`audit of schema \S+ as the application role: no finding`,
		`acme runs "select ... from notes" and sees 2 row\(s\):\n  acme \| acme: launch plan \| secret: launch on the 14th\n  acme \| acme: supplier \| secret: supplier is Initech\n`,
		`globex runs "select ... from notes" and sees 1 row\(s\):\n  globex \| globex: merger \| secret: merger with Umbrella\n`,
		`acme inserts a row for globex: refused \(SQLSTATE 42501: new row violates row-level security policy`,
		`a read without a tenant: .*\(ErrNoTenant: true\)`,
		`a plain query on the pool sees 0 row\(s\)`,
		`globex's key disabled`,
		`  globex \| globex: merger \| secret: unreadable, .* \(ErrShredded: true\)\n  acme \| acme: launch plan \| secret: launch on the 14th\n`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if bytes.Contains(out.Bytes(), []byte("acme | globex")) || regexp.MustCompile(`(?m)^  globex .*\n  acme .*\n  globex`).Match(out.Bytes()) {
		t.Errorf("a tenant saw another's rows:\n%s", out.String())
	}
}

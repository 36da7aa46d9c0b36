package directory_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/directory"
)

func TestMemory(t *testing.T) {
	src := map[string]directory.Entry{"acme": active}
	m := directory.NewMemory(src)
	src["acme"] = suspended // NewMemory copied
	ctx := context.Background()
	if e, err := m.Lookup(ctx, "acme"); err != nil || e != active {
		t.Fatalf("Lookup = %+v, %v", e, err)
	}
	m.Set("acme", suspended)
	if e, _ := m.Lookup(ctx, "acme"); e != suspended {
		t.Fatalf("after Set: %+v", e)
	}
	m.Delete("acme")
	if _, err := m.Lookup(ctx, "acme"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("after Delete: %v, want ErrNotFound", err)
	}
	if _, err := directory.NewMemory(nil).Lookup(ctx, "x"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tenants.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFile(t *testing.T) {
	m, err := directory.LoadFile(writeFile(t, `{
		"acme": {"status": "active", "tier": "pro"},
		"initech": {"status": "suspended"},
		"globex": {"status": "active", "tier": "free", "plan": "pro"},
		"hooli": {"status": "offboarded"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]directory.Entry{
		"acme":    {Status: directory.Active, Tier: "pro"},
		"initech": {Status: directory.Suspended},
		"globex":  {Status: directory.Active, Tier: "free", Plan: "pro"},
		"hooli":   {Status: directory.Offboarded},
	}
	for id, w := range want {
		if e, err := m.Lookup(context.Background(), id); err != nil || e != w {
			t.Errorf("%s: %+v, %v; want %+v", id, e, err, w)
		}
	}
}

func TestLoadFileRefusesBadFiles(t *testing.T) {
	for name, body := range map[string]string{
		"not json":        `{`,
		"unknown field":   `{"acme": {"status": "active", "teir": "pro"}}`,
		"unknown status":  `{"acme": {"status": "paused"}}`,
		"no status":       `{"acme": {"tier": "pro"}}`,
		"bad id":          `{"a*": {"status": "active"}}`,
		"bad tier":        `{"acme": {"status": "active", "tier": "p r o"}}`,
		"bad plan":        `{"acme": {"status": "active", "plan": "*"}}`,
		"trailing object": `{} {}`,
		"array":           `[]`,
	} {
		if _, err := directory.LoadFile(writeFile(t, body)); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "p r o") {
			t.Errorf("%s: error echoes the value: %v", name, err)
		}
	}
	if _, err := directory.LoadFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestStatusText(t *testing.T) {
	for _, s := range []directory.Status{directory.Active, directory.Suspended, directory.Offboarded} {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back directory.Status
		if err := back.UnmarshalText(b); err != nil || back != s || s.String() != string(b) {
			t.Errorf("%v: %q, %v, %v", s, b, back, err)
		}
	}
	if _, err := directory.Status(0).MarshalText(); err == nil {
		t.Error("the zero Status marshals")
	}
	if directory.Status(7).String() != "Status(7)" {
		t.Error(directory.Status(7).String())
	}
}

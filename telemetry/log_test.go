package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/slogtest"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

func mustTenant(t testing.TB, id, tier string) tenant.Tenant {
	t.Helper()
	tn, err := tenant.New(id, tier)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// ctxHandler passes a fixed context to the handler it wraps, whatever the
// caller passed, so that slogtest (which logs with a background context)
// runs the tenant path of LogHandler. With warm set it first handles each
// record a dozen times and calls warm (which empties the output) before
// handling it for real: that takes the LogHandler past the records it logs
// before it derives per-tenant handlers, so slogtest checks that path too.
type ctxHandler struct {
	ctx  context.Context
	h    slog.Handler
	warm func()
}

func (c ctxHandler) Enabled(_ context.Context, l slog.Level) bool { return c.h.Enabled(c.ctx, l) }
func (c ctxHandler) Handle(_ context.Context, r slog.Record) error {
	if c.warm != nil {
		for range 12 {
			if err := c.h.Handle(c.ctx, r.Clone()); err != nil {
				return err
			}
		}
		c.warm()
	}
	return c.h.Handle(c.ctx, r)
}
func (c ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{c.ctx, c.h.WithAttrs(as), c.warm}
}
func (c ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{c.ctx, c.h.WithGroup(name), c.warm}
}

func TestLogHandlerSlogtest(t *testing.T) {
	acme := mustTenant(t, "acme", "pro")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		warm bool
	}{
		{"no tenant", context.Background(), false},
		{"tenant", tenant.NewContext(context.Background(), acme), false},
		{"tenant warm", tenant.NewContext(context.Background(), acme), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			slogtest.Run(t, func(*testing.T) slog.Handler {
				buf.Reset()
				h := ctxHandler{ctx: tc.ctx, h: telemetry.NewLogHandler(slog.NewJSONHandler(&buf, nil))}
				if tc.warm {
					h.warm = buf.Reset
				}
				return h
			}, func(t *testing.T) map[string]any {
				var m map[string]any
				if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
					t.Fatalf("%v: %s", err, buf.Bytes())
				}
				_, hasTenant := m["tenant.id"]
				if want := tc.ctx != context.Background(); hasTenant != want {
					t.Errorf("top-level tenant.id present = %v, want %v: %s", hasTenant, want, buf.Bytes())
				}
				if hasTenant && (m["tenant.id"] != "acme" || m["tenant.tier"] != "pro") {
					t.Errorf("tenant attrs = %v %v", m["tenant.id"], m["tenant.tier"])
				}
				// slogtest checks the record's own keys; the tenant's are ours.
				delete(m, "tenant.id")
				delete(m, "tenant.tier")
				return m
			})
		})
	}
}

// TestLogHandlerGroups checks that the tenant stays at the top level while
// the caller's groups and attributes come out exactly as the wrapped handler
// writes them without the wrapper. It logs enough records through one
// logger to cover both the records before the handler derives per-tenant
// handlers and those after.
func TestLogHandlerGroups(t *testing.T) {
	ctx := tenant.NewContext(context.Background(), mustTenant(t, "acme", "pro"))
	for _, tc := range []struct {
		name   string
		derive func(*slog.Logger) *slog.Logger
	}{
		{"nested", func(l *slog.Logger) *slog.Logger {
			return l.With("a", 1).WithGroup("g").With("b", 2).WithGroup("h").With("c", 3)
		}},
		{"attrs split", func(l *slog.Logger) *slog.Logger {
			return l.With("a", 1).With("a2", 1).WithGroup("g").With("b", 2).With("b2", 2).WithGroup("h")
		}},
		{"empty groups", func(l *slog.Logger) *slog.Logger {
			return l.WithGroup("g").WithGroup("h").With(slog.Group("empty"))
		}},
		{"no group", func(l *slog.Logger) *slog.Logger { return l.With("a", 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var base, wrapped bytes.Buffer
			bl := tc.derive(slog.New(slog.NewJSONHandler(&base, nil)))
			wl := tc.derive(slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&wrapped, nil))))
			for i := range 20 {
				for _, l := range []*slog.Logger{bl, wl} {
					l.InfoContext(ctx, "msg", "d", i, slog.Group("e", "f", 5), slog.Group("none"))
				}
			}
			bls := strings.Split(strings.TrimSpace(base.String()), "\n")
			wls := strings.Split(strings.TrimSpace(wrapped.String()), "\n")
			if len(bls) != 20 || len(wls) != 20 {
				t.Fatalf("%d and %d lines, want 20", len(bls), len(wls))
			}
			for i := range wls {
				var want, got map[string]any
				if err := json.Unmarshal([]byte(bls[i]), &want); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal([]byte(wls[i]), &got); err != nil {
					t.Fatal(err)
				}
				if got["tenant.id"] != "acme" || got["tenant.tier"] != "pro" {
					t.Errorf("record %d: top level lacks the tenant: %s", i, wls[i])
				}
				delete(got, "tenant.id")
				delete(got, "tenant.tier")
				delete(got, "time")
				delete(want, "time")
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				if string(gj) != string(wj) {
					t.Errorf("record %d differs from the base handler's:\n got %s\nwant %s", i, gj, wj)
				}
				if strings.Count(wls[i], "tenant.id") != 1 {
					t.Errorf("record %d: tenant.id not exactly once: %s", i, wls[i])
				}
			}
		})
	}

	// Without a tenant the record passes through untouched.
	var wrapped bytes.Buffer
	l := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&wrapped, nil))).WithGroup("g")
	for range 20 {
		l.InfoContext(context.Background(), "msg", "x", 1)
	}
	if strings.Contains(wrapped.String(), "tenant") {
		t.Errorf("tenant attrs without a tenant: %s", wrapped.Bytes())
	}
}

// logLine is the part of a JSON record the tests below check.
type logLine struct {
	ID   string `json:"tenant.id"`
	Tier string `json:"tenant.tier"`
	Want string `json:"want"` // "id/tier" as the caller logged it
	G    *struct {
		X    int    `json:"x"`
		Want string `json:"want"`
	} `json:"g"`
}

// checkLines parses the JSON records in out and checks that each carries, at
// the top level, the tenant its want attribute names. With grouped set the
// want attribute and x=1 must be inside group g. It returns the number of
// records.
func checkLines(t *testing.T, out []byte, grouped bool) int {
	t.Helper()
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	for _, line := range lines {
		var l logLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		want := l.Want
		if grouped {
			if l.G == nil || l.G.X != 1 || l.Want != "" {
				t.Fatalf("group g wrong: %s", line)
			}
			want = l.G.Want
		}
		if got := l.ID + "/" + l.Tier; got != want {
			t.Fatalf("tenant %s, want %s: %s", got, want, line)
		}
	}
	return len(lines)
}

// TestLogHandlerTierChange logs for one tenant ID whose tier changes, back
// and forth, as it does while tokens issued before and after the change are
// both in use: every record must carry the tier of its own context.
func TestLogHandlerTierChange(t *testing.T) {
	for _, grouped := range []bool{false, true} {
		var buf bytes.Buffer
		l := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&buf, nil)))
		if grouped {
			l = l.WithGroup("g").With("x", 1)
		}
		tiers := []string{"free", "pro"}
		for i := range 60 {
			tier := tiers[i/20%2] // runs of 20, then alternating below
			if i >= 40 {
				tier = tiers[i%2]
			}
			ctx := tenant.NewContext(context.Background(), mustTenant(t, "acme", tier))
			l.InfoContext(ctx, "msg", "want", "acme/"+tier)
		}
		if n := checkLines(t, buf.Bytes(), grouped); n != 60 {
			t.Errorf("%d records, want 60", n)
		}
	}
}

// TestLogHandlerManyTenants logs for more tenants than a LogHandler derives
// handlers for: the tenants past the bound must come out right too, through
// a handler with no group open and one with a group open.
func TestLogHandlerManyTenants(t *testing.T) {
	n := telemetry.DefaultMaxTenants + 50
	tenants := make([]tenant.Tenant, n)
	for i := range tenants {
		tier := "pro"
		if i%3 == 0 {
			tier = ""
		}
		tenants[i] = mustTenant(t, fmt.Sprintf("t%d", i), tier)
	}
	for _, grouped := range []bool{false, true} {
		var buf bytes.Buffer
		var derived atomic.Int32
		l := slog.New(telemetry.NewLogHandler(countingHandler{slog.NewJSONHandler(&buf, nil), &derived}))
		if grouped {
			l = l.WithGroup("g").With("x", 1)
		}
		for range 2 { // the second round finds the admitted tenants cached
			for _, tn := range tenants {
				l.InfoContext(tenant.NewContext(context.Background(), tn), "msg", "want", tn.ID()+"/"+tn.Tier())
			}
		}
		if got := checkLines(t, buf.Bytes(), grouped); got != 2*n {
			t.Errorf("%d records, want %d", got, 2*n)
		}
		if d := derived.Load(); d != telemetry.DefaultMaxTenants {
			t.Errorf("derived %d tenant handlers for %d tenants, want the bound, %d", d, n, telemetry.DefaultMaxTenants)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// TestLogHandlerConcurrent logs from several goroutines through shared
// handlers, for more tenants than the bound and with tiers that change, so
// that admissions, tier rebuilds and lookups race (run it with -race).
func TestLogHandlerConcurrent(t *testing.T) {
	const workers, perWorker = 4, 700
	n := telemetry.DefaultMaxTenants + 200
	for _, grouped := range []bool{false, true} {
		var out syncBuffer
		l := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&out, nil)))
		if grouped {
			l = l.WithGroup("g").With("x", 1)
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range perWorker {
					// Each round over the tenants uses another tier.
					k := i*workers + w
					id := fmt.Sprintf("t%d", k%n)
					tier := []string{"free", "pro"}[k/n%2]
					ctx := tenant.NewContext(context.Background(), mustTenant(t, id, tier))
					l.InfoContext(ctx, "msg", "want", id+"/"+tier)
				}
			})
		}
		wg.Wait()
		if got := checkLines(t, out.buf.Bytes(), grouped); got != workers*perWorker {
			t.Errorf("%d records, want %d", got, workers*perWorker)
		}
	}
}

// countingHandler counts the WithAttrs calls that add tenant.id, made on it
// and on the handlers derived from it: the per-tenant handlers a LogHandler
// derives.
type countingHandler struct {
	slog.Handler
	derived *atomic.Int32
}

func (c countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if slices.ContainsFunc(as, func(a slog.Attr) bool { return a.Key == string(telemetry.TenantIDKey) }) {
		c.derived.Add(1)
	}
	return countingHandler{c.Handler.WithAttrs(as), c.derived}
}

func (c countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{c.Handler.WithGroup(name), c.derived}
}

// TestLogHandlerPerRequest covers loggers made per request with With: each
// record carries the tenant, and a logger that logs once does not derive a
// per-tenant handler for it, while a long-lived logger derives one for its
// tenant and reuses it.
func TestLogHandlerPerRequest(t *testing.T) {
	var buf bytes.Buffer
	var derived atomic.Int32
	l := slog.New(telemetry.NewLogHandler(countingHandler{slog.NewJSONHandler(&buf, nil), &derived}))
	ctx := tenant.NewContext(context.Background(), mustTenant(t, "acme", "pro"))
	for i := range 100 {
		l.With("request_id", i).InfoContext(ctx, "served", "want", "acme/pro")
	}
	if n := checkLines(t, buf.Bytes(), false); n != 100 {
		t.Errorf("%d records, want 100", n)
	}
	if !strings.Contains(buf.String(), `"request_id":99`) {
		t.Errorf("request_id missing: %s", buf.Bytes())
	}
	if n := derived.Load(); n != 0 {
		t.Errorf("100 one-record loggers derived %d tenant handlers, want 0", n)
	}

	buf.Reset()
	long := l.With("component", "api")
	for range 100 {
		long.InfoContext(ctx, "served", "want", "acme/pro")
	}
	checkLines(t, buf.Bytes(), false)
	if n := derived.Load(); n != 1 {
		t.Errorf("a logger logging 100 records for one tenant derived %d tenant handlers, want 1", n)
	}
}

func TestLogHandlerNoTier(t *testing.T) {
	var buf bytes.Buffer
	ctx := tenant.NewContext(context.Background(), mustTenant(t, "solo", ""))
	slog.New(telemetry.NewLogHandler(slog.NewTextHandler(&buf, nil))).InfoContext(ctx, "hi")
	if s := buf.String(); !strings.Contains(s, "tenant.id=solo") || strings.Contains(s, "tenant.tier") {
		t.Errorf("got %q", s)
	}
}

func TestLogHandlerEnabled(t *testing.T) {
	h := telemetry.NewLogHandler(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled does not follow the wrapped handler")
	}
}

// NewLogHandler refuses a nil handler, and an interface holding a nil
// pointer, at construction with a message naming it, instead of failing on
// the first record.
func TestNewLogHandlerRejectsNil(t *testing.T) {
	var typed *slog.JSONHandler
	for name, h := range map[string]slog.Handler{"nil": nil, "typed nil": typed} {
		func() {
			defer func() {
				r := recover()
				if err, ok := r.(error); !ok || !strings.Contains(err.Error(), "NewLogHandler") || !strings.Contains(err.Error(), "handler") {
					t.Errorf("%s: recovered %v, want an error naming NewLogHandler's handler", name, r)
				}
			}()
			telemetry.NewLogHandler(h)
		}()
	}
}

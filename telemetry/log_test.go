package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
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
// runs the tenant path of LogHandler.
type ctxHandler struct {
	ctx context.Context
	h   slog.Handler
}

func (c ctxHandler) Enabled(_ context.Context, l slog.Level) bool { return c.h.Enabled(c.ctx, l) }
func (c ctxHandler) Handle(_ context.Context, r slog.Record) error {
	return c.h.Handle(c.ctx, r)
}
func (c ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{c.ctx, c.h.WithAttrs(as)}
}
func (c ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{c.ctx, c.h.WithGroup(name)}
}

func TestLogHandlerSlogtest(t *testing.T) {
	acme := mustTenant(t, "acme", "pro")
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"no tenant", context.Background()},
		{"tenant", tenant.NewContext(context.Background(), acme)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			slogtest.Run(t, func(*testing.T) slog.Handler {
				buf.Reset()
				return ctxHandler{tc.ctx, telemetry.NewLogHandler(slog.NewJSONHandler(&buf, nil))}
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
// writes them without the wrapper.
func TestLogHandlerGroups(t *testing.T) {
	ctx := tenant.NewContext(context.Background(), mustTenant(t, "acme", "pro"))
	log := func(h slog.Handler, ctx context.Context) {
		l := slog.New(h).With("a", 1).WithGroup("g").With("b", 2).WithGroup("h").With("c", 3)
		l.InfoContext(ctx, "msg", "d", 4, slog.Group("e", "f", 5))
	}
	var base, wrapped bytes.Buffer
	log(slog.NewJSONHandler(&base, nil), ctx)
	log(telemetry.NewLogHandler(slog.NewJSONHandler(&wrapped, nil)), ctx)
	var want, got map[string]any
	if err := json.Unmarshal(base.Bytes(), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wrapped.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["tenant.id"] != "acme" || got["tenant.tier"] != "pro" {
		t.Errorf("top level lacks the tenant: %s", wrapped.Bytes())
	}
	delete(got, "tenant.id")
	delete(got, "tenant.tier")
	delete(got, "time")
	delete(want, "time")
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("wrapped output differs from the base handler's:\n got %s\nwant %s", gj, wj)
	}
	if strings.Contains(wrapped.String(), `"g":{"b":2,"h":{"c":3,"tenant`) {
		t.Errorf("tenant inside a group: %s", wrapped.Bytes())
	}

	// Without a tenant the record passes through untouched.
	wrapped.Reset()
	slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&wrapped, nil))).WithGroup("g").InfoContext(context.Background(), "msg", "x", 1)
	if strings.Contains(wrapped.String(), "tenant") {
		t.Errorf("tenant attrs without a tenant: %s", wrapped.Bytes())
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

package telemetry

import (
	"context"
	"log/slog"
	"slices"

	"github.com/tenantkit/tenantkit/tenant"
)

// LogHandler is a [slog.Handler] that adds tenant.id and tenant.tier to every
// record logged with a context that carries a tenant (use the
// slog.Logger methods that take a context: InfoContext, LogAttrs, ...),
// then passes the record to the handler it wraps. Records logged without a
// tenant pass through unchanged.
//
// The tenant attributes always go at the top level of the record, never
// inside a group the caller opened with WithGroup: a query for tenant.id must
// find every record of a tenant whatever the code that logged it did with
// groups. With no group open the wrapper just appends the two attributes to
// the record. With a group open it hands the record to the wrapped handler
// as it was before the first WithGroup, with the open groups (and the
// attributes added inside them) rebuilt as nested group attributes and the
// tenant attributes beside them; the output is the same as the wrapped
// handler's own WithGroup output plus the top-level tenant attributes.
//
// The wrapper passes the standard library's testing/slogtest suite, with and
// without a tenant in the context.
type LogHandler struct {
	inner slog.Handler // the wrapped handler with every WithAttrs and WithGroup applied
	// With a group open: the wrapped handler as it was before the first
	// WithGroup, and the groups opened since, outermost first.
	top    slog.Handler
	groups []logGroup
}

// logGroup is one open group and the attributes added inside it.
type logGroup struct {
	name  string
	attrs []slog.Attr
}

// NewLogHandler wraps h so that records logged with a tenant context carry the
// tenant. It panics if h is nil.
func NewLogHandler(h slog.Handler) *LogHandler {
	if h == nil {
		panic("telemetry: NewLogHandler with a nil handler")
	}
	return &LogHandler{inner: h}
}

// Enabled reports whether the wrapped handler handles records at level.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle adds the tenant of ctx, if any, to r and passes it on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	t, ok := tenant.FromContext(ctx)
	if !ok {
		return h.inner.Handle(ctx, r)
	}
	if len(h.groups) == 0 {
		// The Logger made r for this call only, so adding to it is safe.
		addTenant(&r, t)
		return h.inner.Handle(ctx, r)
	}
	// Rebuild the open groups around the record's attributes, innermost
	// first, and log that beside the tenant through the pre-group handler.
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	for i := len(h.groups) - 1; i >= 0; i-- {
		g := h.groups[i]
		nested := make([]slog.Attr, 0, len(g.attrs)+len(attrs))
		nested = append(append(nested, g.attrs...), attrs...)
		attrs = []slog.Attr{{Key: g.name, Value: slog.GroupValue(nested...)}}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(attrs...)
	addTenant(&out, t)
	return h.top.Handle(ctx, out)
}

func addTenant(r *slog.Record, t tenant.Tenant) {
	if t.Tier() == "" {
		r.AddAttrs(slog.String(string(TenantIDKey), t.ID()))
		return
	}
	r.AddAttrs(slog.String(string(TenantIDKey), t.ID()), slog.String(string(TenantTierKey), t.Tier()))
}

// WithAttrs returns a LogHandler whose wrapped handler has attrs added.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.inner = h.inner.WithAttrs(attrs)
	if n := len(h.groups); n > 0 {
		h2.groups = slices.Clone(h.groups)
		last := &h2.groups[n-1]
		last.attrs = append(slices.Clip(last.attrs), attrs...)
	}
	return &h2
}

// WithGroup returns a LogHandler whose wrapped handler has the group name
// open. The tenant attributes stay outside it.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.inner = h.inner.WithGroup(name)
	if len(h.groups) == 0 {
		h2.top = h.inner
	}
	h2.groups = append(slices.Clip(h.groups), logGroup{name: name})
	return &h2
}

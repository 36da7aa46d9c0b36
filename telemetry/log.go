package telemetry

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/internal/tenantcache"
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
// groups. Where they appear among the other top-level attributes is not
// fixed; the output is otherwise the same as the wrapped handler's own.
//
// It passes the standard library's testing/slogtest suite, with and without
// a tenant in the context.
type LogHandler struct {
	// Adding the two attributes to each record would make the wrapped handler
	// encode them again for every record, and for the standard JSON and text
	// handlers that is most of what a wrapper costs. So a LogHandler that keeps
	// logging keeps, for each tenant, a handler derived from the one it wraps
	// with the tenant attributes added through WithAttrs: those handlers format
	// such attributes once and afterwards only copy the bytes. To keep the
	// tenant at the top level, the derived handler starts from the wrapped
	// handler as it was before the first WithGroup, adds the tenant attributes,
	// then opens the same groups with the same attributes as the caller did;
	// records pass through it unchanged. This works with any wrapped handler; one
	// that does not pre-format WithAttrs attributes just gains nothing by it.
	//
	// Deriving a handler costs about as much as encoding the attributes a few
	// times over, and a logger made per request (logger.With("request_id", id))
	// often logs only once or twice before it is dropped. So a new LogHandler
	// starts by adding the attributes to the records, as a plain wrapper would,
	// and only derives handlers once it has handled eight tenant records. It
	// derives them for at most [DefaultMaxTenants] tenants; the records of
	// later tenants get the attributes added to them.

	inner slog.Handler // the wrapped handler with every WithAttrs and WithGroup applied
	group *logGroup    // the innermost open group, nil when none is open

	// records counts the tenant records handled until derived is set,
	// which happens when the count reaches logWarmup.
	records atomic.Int32
	derived atomic.Pointer[tenantcache.Cache[slog.Handler]]
}

// logWarmup is the number of tenant records a LogHandler handles by adding
// the tenant attributes to each before it starts deriving per-tenant
// handlers: a handler that has logged this many is likely to log many more.
const logWarmup = 8

// logGroup is one open group and the attributes added inside it. Groups are
// immutable and shared by the handlers derived from the one that opened
// them; each points to the group it is nested in.
type logGroup struct {
	outer *logGroup
	top   slog.Handler // the wrapped handler as it was before the outermost WithGroup
	name  string
	attrs []slog.Attr
}

// NewLogHandler wraps h so that records logged with a tenant context carry the
// tenant. It panics if h is nil or holds a nil pointer.
func NewLogHandler(h slog.Handler) *LogHandler {
	// It returns no error, as slog's own handler constructors do; a nil
	// handler would only fail on the first record.
	if err := nilarg.Check("telemetry: NewLogHandler", "the handler", h); err != nil {
		panic(err)
	}
	return &LogHandler{inner: h}
}

// Enabled reports whether the wrapped handler handles records at level.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle passes r on with the tenant attributes of ctx, if it carries a
// tenant: through the tenant's derived handler when there is one, otherwise
// added to r (with a group open, beside r's attributes regrouped).
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	t, ok := tenant.FromContext(ctx)
	if !ok {
		return h.inner.Handle(ctx, r)
	}
	if c := h.derived.Load(); c != nil {
		if d, ok := c.Get(&t, h.derive); ok {
			return d.Handle(ctx, r)
		}
	} else if h.records.Add(1) == logWarmup {
		// Exactly one call sees the count reach logWarmup; records
		// handled meanwhile by others just take the path below.
		h.derived.Store(tenantcache.New[slog.Handler](DefaultMaxTenants))
	}
	if h.group == nil {
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
	for g := h.group; g != nil; g = g.outer {
		nested := make([]slog.Attr, 0, len(g.attrs)+len(attrs))
		nested = append(append(nested, g.attrs...), attrs...)
		attrs = []slog.Attr{{Key: g.name, Value: slog.GroupValue(nested...)}}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(attrs...)
	addTenant(&out, t)
	return h.group.top.Handle(ctx, out)
}

// derive returns the wrapped handler with the attributes of t added at the
// top level and the open groups, with their attributes, replayed after them.
func (h *LogHandler) derive(t tenant.Tenant) slog.Handler {
	if h.group == nil {
		return h.inner.WithAttrs(tenantAttrs(t))
	}
	return h.group.replay(t)
}

// replay opens g, and the groups it is nested in, on the pre-group handler
// with the tenant attributes added, outermost group first.
func (g *logGroup) replay(t tenant.Tenant) slog.Handler {
	var d slog.Handler
	if g.outer == nil {
		d = g.top.WithAttrs(tenantAttrs(t))
	} else {
		d = g.outer.replay(t)
	}
	d = d.WithGroup(g.name)
	if len(g.attrs) > 0 {
		d = d.WithAttrs(g.attrs)
	}
	return d
}

// tenantAttrs returns the tenant's log attributes for deriving a handler.
func tenantAttrs(t tenant.Tenant) []slog.Attr {
	if t.Tier() == "" {
		return []slog.Attr{slog.String(string(TenantIDKey), t.ID())}
	}
	return []slog.Attr{slog.String(string(TenantIDKey), t.ID()), slog.String(string(TenantTierKey), t.Tier())}
}

// addTenant adds the same attributes to r. It does not call tenantAttrs:
// the slice that returns escapes to the heap, one allocation per record on
// the paths that run without a derived handler.
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
	g := h.group
	if g != nil {
		// Groups are shared: replace the innermost with a copy that
		// has the attributes too.
		g = &logGroup{outer: g.outer, top: g.top, name: g.name, attrs: append(slices.Clip(g.attrs), attrs...)}
	}
	return &LogHandler{inner: h.inner.WithAttrs(attrs), group: g}
}

// WithGroup returns a LogHandler whose wrapped handler has the group name
// open. The tenant attributes stay outside it.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	top := h.inner
	if h.group != nil {
		top = h.group.top
	}
	return &LogHandler{inner: h.inner.WithGroup(name), group: &logGroup{outer: h.group, top: top, name: name}}
}

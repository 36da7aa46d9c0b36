package httpmw

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// Telemetry returns middleware that records the per-tenant request metrics
// of every request in m (requests, duration, request and response size),
// with the outcome taken from the status. Place it after [Authenticate] and
// before [RateLimit], so that rejected requests count as rate_limited:
//
//	otelhttp.NewHandler(Authenticate(v)(Telemetry(m)(RateLimit(l, plans)(app))), "api")
//
// Telemetry panics if m is nil or if an option is invalid
// ([ErrInvalidOption]).
func Telemetry(m *telemetry.Metrics, opts ...TelemetryOption) func(http.Handler) http.Handler {
	// The instruments are tenantkit.server.requests, .duration (handler
	// time), .request.size (request body bytes the handler read) and
	// .response.size (response body bytes written). Outcomes: 1xx-3xx ok,
	// 429 rate_limited, 499 and other 4xx client_error, 5xx server_error; a
	// handler that panics counts as server_error. With telemetry.WithUsage
	// the same call meters the request in the usage table. A request without
	// a tenant is recorded without tenant attributes. The ResponseWriter
	// handed on keeps http.Flusher and http.Hijacker when the server's
	// writer has them, and unwraps for http.ResponseController.
	mustDependency("Telemetry", "metrics", m)
	var cfg telemetryConfig
	for _, o := range opts {
		if o == nil {
			cfg.fail("a nil TelemetryOption")
			continue
		}
		o(&cfg)
	}
	mustValidOptions("Telemetry", cfg.invalid)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			t, _ := tenant.FromContext(ctx)
			if cfg.labeler != nil {
				if attrs := m.TenantAttributes(ctx); attrs != nil {
					cfg.labeler(ctx, attrs)
				}
			}

			st := &telemetryState{}
			st.w.ResponseWriter = w
			if r.Body != nil && r.Body != http.NoBody {
				st.body.ReadCloser = r.Body
				orig := r.Body
				r.Body = &st.body
				// Hand the server its own body back: net/http looks at its
				// type after the handler returns.
				defer func() { r.Body = orig }()
			}
			start := time.Now()
			done := false
			defer func() {
				if !done { // the handler panicked; count it and let the panic go on
					end := time.Now()
					m.RecordRequest(ctx, t, telemetry.Request{Duration: end.Sub(start), RequestBytes: st.body.n,
						ResponseBytes: st.w.bytes, Outcome: telemetry.OutcomeServerError, End: end})
				}
			}()
			next.ServeHTTP(st.w.wrap(), r)
			done = true
			end := time.Now()
			m.RecordRequest(ctx, t, telemetry.Request{Duration: end.Sub(start), RequestBytes: st.body.n,
				ResponseBytes: st.w.bytes, Outcome: httpOutcome(st.w.status), End: end})
		})
	}
}

// TelemetryOption configures [Telemetry].
type TelemetryOption func(*telemetryConfig)

type telemetryConfig struct {
	labeler func(ctx context.Context, attrs []attribute.KeyValue)
	invalid string // the first invalid option
}

func (c *telemetryConfig) fail(option string) {
	if c.invalid == "" {
		c.invalid = option
	}
}

// WithLabeler makes Telemetry call fn with the tenant attributes of each
// request whose tenant the cardinality guard admits, for another
// instrumentation's labels, such as otelhttp's outside Telemetry:
//
//	httpmw.WithLabeler(func(ctx context.Context, attrs []attribute.KeyValue) {
//		if l, ok := otelhttp.LabelerFromContext(ctx); ok {
//			l.Add(attrs...)
//		}
//	})
//
// fn must not keep attrs.
func WithLabeler(fn func(ctx context.Context, attrs []attribute.KeyValue)) TelemetryOption {
	return func(c *telemetryConfig) {
		if fn == nil {
			c.fail("WithLabeler(nil)")
			return
		}
		c.labeler = fn
	}
}

// httpOutcome maps a response status to an outcome; 0 means the handler
// wrote nothing, which net/http answers with 200.
func httpOutcome(status int) telemetry.Outcome {
	switch {
	case status == http.StatusTooManyRequests:
		return telemetry.OutcomeRateLimited
	case status == statusClientClosedRequest:
		// The client gave up (outcome.Canceled): not the server's failure.
		return telemetry.OutcomeClientError
	case status >= 500:
		// 504 included: a request that ran out of time waiting upstream.
		return telemetry.OutcomeServerError
	case status >= 400:
		return telemetry.OutcomeClientError
	default:
		return telemetry.OutcomeOK
	}
}

// telemetryState is the per-request state of Telemetry, allocated once.
type telemetryState struct {
	w    telemetryWriter
	body telemetryBody
}

// telemetryBody counts the request body bytes the handler reads.
type telemetryBody struct {
	io.ReadCloser
	n int64
}

func (b *telemetryBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// telemetryWriter counts response body bytes and remembers the status.
type telemetryWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// wrap returns w as the ResponseWriter to hand on, with the optional
// interfaces of the underlying writer that matter (Flusher, Hijacker). The
// wrappers hold a single pointer, so the conversion does not allocate.
func (w *telemetryWriter) wrap() http.ResponseWriter {
	_, fl := w.ResponseWriter.(http.Flusher)
	_, hj := w.ResponseWriter.(http.Hijacker)
	switch {
	case fl && hj:
		return telemetryFlushHijacker{w}
	case fl:
		return telemetryFlusher{w}
	case hj:
		return telemetryHijacker{w}
	default:
		return w
	}
}

func (w *telemetryWriter) WriteHeader(code int) {
	// 1xx responses other than 101 are informational; the final status
	// comes later.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *telemetryWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the server's sendfile path (io.Copy into the writer) while
// counting the bytes.
func (w *telemetryWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *telemetryWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *telemetryWriter) flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.ResponseWriter.(http.Flusher).Flush()
}

func (w *telemetryWriter) hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

type telemetryFlusher struct{ *telemetryWriter }

func (w telemetryFlusher) Flush() { w.flush() }

type telemetryHijacker struct{ *telemetryWriter }

func (w telemetryHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

type telemetryFlushHijacker struct{ *telemetryWriter }

func (w telemetryFlushHijacker) Flush() { w.flush() }

func (w telemetryFlushHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

package directory_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/telemetry"
)

// reply is what a request got, the same for both transports.
type reply struct {
	kind   string // ok, forbidden, unavailable, limited or the raw status
	reason string // the refusal's reason (tenant-suspended, ...) or the denying policy
	tier   string // the tenant.tier of the handler's log record ("" if it did not run)
}

// world is one server stack on one transport: an issuer, a controlled
// directory behind a cache on a fake clock, an in-process limiter with
// per-tier plans, and a handler that logs through telemetry's handler.
type world struct {
	iss   *authntest.Issuer
	dir   *ctlDir
	clk   *clock
	cache *directory.Cache
	logs  *logSink
	call  func(t *testing.T, token string) reply
}

var transports = []string{"http", "grpc"}

// newWorld returns a world whose cache runs on the fake clock w.clk.
func newWorld(t *testing.T, transport string, entries map[string]directory.Entry, opts ...directory.Option) *world {
	t.Helper()
	clk := newClock()
	w := newRealWorld(t, transport, entries, append([]directory.Option{directory.WithClock(clk.Now)}, opts...)...)
	w.clk = clk
	return w
}

// newRealWorld returns a world whose cache runs on the real clock, unless
// opts say otherwise.
func newRealWorld(t *testing.T, transport string, entries map[string]directory.Entry, opts ...directory.Option) *world {
	t.Helper()
	w := &world{iss: authntest.NewIssuer(t), dir: newCtlDir(entries), logs: &logSink{}}
	w.cache = newCache(t, w.dir, opts...)
	v := directory.Verifier(authntest.NewVerifier(t, w.iss), w.cache)
	l, err := ratelimit.NewLocal()
	if err != nil {
		t.Fatal(err)
	}
	plans, err := ratelimit.NewPlans(ratelimit.Plan{Rate: ratelimit.PerMinute(1), Burst: 1}, map[string]ratelimit.Plan{
		"pro":  {Rate: ratelimit.PerMinute(6000), Burst: 1000},
		"free": {Rate: ratelimit.PerMinute(3), Burst: 3},
		"tiny": {Rate: ratelimit.PerMinute(1), Burst: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(w.logs, nil)))
	switch transport {
	case "http":
		w.call = serveHTTP(t, httpmw.Authenticate(v)(httpmw.RateLimit(l, plans)(http.HandlerFunc(
			func(rw http.ResponseWriter, r *http.Request) { logger.InfoContext(r.Context(), "request") }))), w.logs)
	case "grpc":
		w.call = serveGRPC(t, grpc.NewServer(grpc.ChainUnaryInterceptor(
			grpcmw.UnaryServerAuthenticate(v), grpcmw.UnaryServerRateLimit(l, plans))), logger, w.logs)
	}
	return w
}

// logSink keeps the tenant.tier of the last record logged.
type logSink struct {
	mu   sync.Mutex
	tier string
}

func (s *logSink) Write(p []byte) (int, error) {
	var rec map[string]any
	_ = json.Unmarshal(p, &rec)
	tier, _ := rec["tenant.tier"].(string)
	s.mu.Lock()
	s.tier = tier
	s.mu.Unlock()
	return len(p), nil
}

func (s *logSink) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tier := s.tier
	s.tier = ""
	return tier
}

func serveHTTP(t *testing.T, h http.Handler, logs *logSink) func(*testing.T, string) reply {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return func(t *testing.T, token string) reply {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Type, Reason, Policy string
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		r := reply{tier: logs.take()}
		switch resp.StatusCode {
		case http.StatusOK:
			r.kind = "ok"
		case http.StatusForbidden:
			r.kind, r.reason = "forbidden", body.Reason
			if body.Reason != "" && body.Type != "urn:tenantkit:problem:"+body.Reason {
				t.Errorf("problem type %q for reason %q", body.Type, body.Reason)
			}
		case http.StatusServiceUnavailable:
			r.kind = "unavailable"
		case http.StatusTooManyRequests:
			r.kind, r.reason = "limited", body.Policy
		default:
			r.kind = resp.Status
		}
		return r
	}
}

type loggingHealth struct {
	healthpb.UnimplementedHealthServer
	logger *slog.Logger
}

func (h loggingHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.logger.InfoContext(ctx, "request")
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func serveGRPC(t *testing.T, gs *grpc.Server, logger *slog.Logger, logs *logSink) func(*testing.T, string) reply {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	healthpb.RegisterHealthServer(gs, loggingHealth{logger: logger})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(ln)
	}()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		gs.Stop()
		<-served
	})
	client := healthpb.NewHealthClient(conn)
	return func(t *testing.T, token string) reply {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		s := status.Convert(err)
		r := reply{tier: logs.take()}
		switch s.Code() {
		case codes.OK:
			r.kind = "ok"
		case codes.PermissionDenied:
			r.kind = "forbidden"
			for _, d := range s.Details() {
				if ei, ok := d.(*errdetails.ErrorInfo); ok {
					r.reason = strings.ToLower(strings.ReplaceAll(ei.Reason, "_", "-"))
				}
			}
		case codes.Unavailable:
			r.kind = "unavailable"
		case codes.ResourceExhausted:
			r.kind = "limited"
			for _, d := range s.Details() {
				if qf, ok := d.(*errdetails.QuotaFailure); ok && len(qf.Violations) == 1 {
					r.reason = qf.Violations[0].QuotaId
				}
			}
		default:
			r.kind = s.Code().String()
		}
		return r
	}
}

func want(t *testing.T, got reply, kind, reason string) {
	t.Helper()
	if got.kind != kind || got.reason != reason {
		t.Fatalf("got %s %q, want %s %q", got.kind, got.reason, kind, reason)
	}
}

// The suspension lag without the feed: a tenant whose token the verifier
// has cached is refused on its first request after the directory's answer
// expires, at most the TTL after the suspension. The worst case is a
// suspension just after the answer was fetched; the test suspends then and
// steps the fake clock by 100 ms per request.
func TestSuspensionReachesCachedTokenWithinTTL(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			w := newWorld(t, tr, map[string]directory.Entry{"acme": {Status: directory.Active, Tier: "pro"}})
			tok := w.iss.Token("acme", "pro")
			want(t, w.call(t, tok), "ok", "")
			w.dir.Set("acme", suspended)
			const step = 100 * time.Millisecond
			var lag time.Duration
			for {
				r := w.call(t, tok)
				if r.kind != "ok" {
					want(t, r, "forbidden", "tenant-suspended")
					break
				}
				if lag > directory.DefaultTTL {
					t.Fatalf("still admitted %v after the suspension; TTL %v", lag, directory.DefaultTTL)
				}
				w.clk.Advance(step)
				lag += step
			}
			t.Logf("suspension lag without the feed: %v (TTL %v)", lag, directory.DefaultTTL)
			if lag != directory.DefaultTTL {
				t.Errorf("lag %v, want the TTL %v in this worst case", lag, directory.DefaultTTL)
			}
			if n := w.dir.calls.Load(); n != 2 {
				t.Errorf("%d directory lookups, want 2 (one per TTL)", n)
			}

			w.dir.Set("acme", directory.Entry{Status: directory.Offboarded})
			w.clk.Advance(directory.DefaultTTL)
			want(t, w.call(t, tok), "forbidden", "tenant-offboarded")
			w.dir.Set("acme", active)
			w.clk.Advance(directory.DefaultTTL)
			want(t, w.call(t, tok), "ok", "")
		})
	}
}

// With a real clock and a short TTL, the lag measured in wall time.
func TestSuspensionLagWallClock(t *testing.T) {
	const ttl = 200 * time.Millisecond
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			w := newRealWorld(t, tr, map[string]directory.Entry{"acme": {Status: directory.Active, Tier: "pro"}},
				directory.WithTTL(ttl))
			tok := w.iss.Token("acme", "pro")
			want(t, w.call(t, tok), "ok", "")
			w.dir.Set("acme", suspended)
			start := time.Now()
			// lastOK is when the last admitted request was sent: it was
			// decided later, so before the answer's TTL ran out, unless
			// the bound is broken. sent is when the first refused one was.
			var lastOK, sent time.Duration
			for {
				sent = time.Since(start)
				if w.call(t, tok).kind != "ok" {
					break
				}
				lastOK = sent
				if sent > 10*ttl {
					t.Fatal("not refused within 10 TTLs")
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("suspension lag without the feed, TTL %v: refused from %v on (last admitted request sent at %v)", ttl, sent, lastOK)
			// On the real clock a timer marks the answer expired, so the
			// bound is the TTL plus that timer's latency.
			if lastOK > ttl+100*time.Millisecond {
				t.Errorf("a request sent %v after the suspension was admitted; TTL %v", lastOK, ttl)
			}
		})
	}
}

// With an invalidation (the EventHandler's event), the next request is refused.
func TestSuspensionWithInvalidationIsImmediate(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			w := newWorld(t, tr, map[string]directory.Entry{"acme": active})
			tok := w.iss.Token("acme", "pro")
			want(t, w.call(t, tok), "ok", "")
			w.dir.Set("acme", suspended)
			events := httptest.NewServer(directory.EventHandler(w.cache))
			defer events.Close()
			resp, err := http.Post(events.URL, "application/json", strings.NewReader(suspendedEvent))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			want(t, w.call(t, tok), "forbidden", "tenant-suspended")
		})
	}
}

// A downgrade reaches the limiter's plan and the telemetry tier within the
// TTL; a plan override changes the plan and leaves the tier.
func TestTierChangeReachesLimiterAndTelemetry(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			w := newWorld(t, tr, map[string]directory.Entry{"acme": {Status: directory.Active, Tier: "pro"}})
			tok := w.iss.Token("acme", "pro") // the token keeps saying pro
			for range 5 {
				r := w.call(t, tok)
				want(t, r, "ok", "")
				if r.tier != "pro" {
					t.Fatalf("telemetry tier %q, want pro", r.tier)
				}
			}
			w.dir.Set("acme", directory.Entry{Status: directory.Active, Tier: "free"})
			if r := w.call(t, tok); r.tier != "pro" {
				t.Fatalf("within the TTL: tier %q, want the cached pro", r.tier)
			}
			w.clk.Advance(directory.DefaultTTL)
			limited := false
			for range 6 { // free allows a burst of 3
				r := w.call(t, tok)
				if r.kind == "limited" {
					want(t, r, "limited", "free")
					limited = true
					break
				}
				want(t, r, "ok", "")
				if r.tier != "free" {
					t.Fatalf("after the TTL: telemetry tier %q, want free", r.tier)
				}
			}
			if !limited {
				t.Fatal("the downgraded tenant was never limited by the free plan")
			}

			// A plan override: the plan of tiny (burst 1), the tier stays.
			w.dir.Set("acme", directory.Entry{Status: directory.Active, Tier: "pro", Plan: "tiny"})
			w.clk.Advance(directory.DefaultTTL)
			r := w.call(t, tok)
			if r.kind == "ok" {
				if r.tier != "pro" {
					t.Fatalf("plan override: telemetry tier %q, want pro", r.tier)
				}
				r = w.call(t, tok)
			}
			want(t, r, "limited", "tiny")
		})
	}
}

// Directory down: known tenants are served from the cache up to max-stale,
// then refused; unknown tenants are never admitted; it recovers without a
// restart.
func TestDirectoryDown(t *testing.T) {
	const maxStale = time.Minute
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			w := newWorld(t, tr, map[string]directory.Entry{"acme": active, "globex": active},
				directory.WithMaxStale(maxStale))
			acme, globex, nobody := w.iss.Token("acme", "pro"), w.iss.Token("globex", "pro"), w.iss.Token("nobody", "pro")
			want(t, w.call(t, acme), "ok", "")
			want(t, w.call(t, nobody), "forbidden", "tenant-unknown")

			w.dir.down.Store(true)
			for elapsed := time.Duration(0); elapsed < directory.DefaultTTL+maxStale; elapsed += 5 * time.Second {
				want(t, w.call(t, acme), "ok", "")
				want(t, w.call(t, globex), "unavailable", "") // known to the directory, not cached
				if r := w.call(t, nobody); r.kind == "ok" {
					t.Fatal("an unknown tenant was admitted while the directory is down")
				}
				w.clk.Advance(5 * time.Second)
			}
			want(t, w.call(t, acme), "unavailable", "")
			want(t, w.call(t, nobody), "unavailable", "")

			w.dir.down.Store(false)
			want(t, w.call(t, acme), "ok", "")
			want(t, w.call(t, globex), "ok", "")
			want(t, w.call(t, nobody), "forbidden", "tenant-unknown")
		})
	}
}

// A directory that hangs: past the TTL, a cached tenant waits for the
// lookup's timeout and is then served its stale answer; a tenant with
// nothing cached gets 503 / Unavailable.
func TestDirectoryHangs(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			w := newWorld(t, tr, map[string]directory.Entry{"acme": active, "globex": active},
				directory.WithLookupTimeout(50*time.Millisecond))
			acme, globex := w.iss.Token("acme", "pro"), w.iss.Token("globex", "pro")
			want(t, w.call(t, acme), "ok", "")
			release := w.dir.hold()
			defer release()
			w.clk.Advance(directory.DefaultTTL)
			want(t, w.call(t, acme), "ok", "")
			want(t, w.call(t, globex), "unavailable", "")
			release()
			w.clk.Advance(time.Second) // the retry interval of a stale answer
			want(t, w.call(t, globex), "ok", "")
			want(t, w.call(t, acme), "ok", "")
		})
	}
}

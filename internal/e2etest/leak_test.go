package e2etest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/tenant"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	tenants  = 200
	deadline = 150 * time.Second
)

// inFlight is how many requests are held open at the last hop at the same
// time: 2,000, which interleaves every tenant across every hop, or 20,000
// when TENANTKIT_E2E_HEAVY=1 in a plain build (make test sets it; about
// 3 GiB). The race detector multiplies the memory of every goroutine and
// buffer (20,000 took 14 GiB under -race), so a race build always holds
// 2,000.
var inFlight = func() int {
	if !raceEnabled && os.Getenv("TENANTKIT_E2E_HEAVY") == "1" {
		return 20_000
	}
	return 2_000
}()

// hopCheck records, per hop, how many requests saw a tenant other than the
// one the client sent.
type hopCheck struct {
	edge, grpc, backend atomic.Int64
}

func (h *hopCheck) compare(counter *atomic.Int64, ctx context.Context, want string) {
	if tn, ok := tenant.FromContext(ctx); !ok || tn.ID() != want {
		counter.Add(1)
	}
}

// barrier holds every backend request until n are in flight at once (or
// the deadline passes), so the run proves that n requests of 200 tenants
// were interleaved across all hops simultaneously.
type barrier struct {
	n       int64
	cur     atomic.Int64
	max     atomic.Int64
	release chan struct{}
	once    sync.Once
}

func (b *barrier) wait(ctx context.Context) {
	c := b.cur.Add(1)
	for {
		m := b.max.Load()
		if c <= m || b.max.CompareAndSwap(m, c) {
			break
		}
	}
	if c >= b.n {
		b.open()
	}
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	b.cur.Add(-1)
}

func (b *barrier) open() { b.once.Do(func() { close(b.release) }) }

// h2c returns server and client protocol settings for HTTP/2 without TLS,
// so 20,000 concurrent requests share a few connections instead of needing
// 20,000 sockets.
func h2c() *http.Protocols {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return p
}

func serveHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, Protocols: h2c(), HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 2 * inFlight}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func h2cClient(rt func(http.RoundTripper) http.RoundTripper) *http.Client {
	base := &http.Transport{Protocols: h2c(), HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 2 * inFlight}}
	return &http.Client{Transport: rt(base), Timeout: deadline}
}

// warm sends one request without a credential through c, so that c holds
// an open connection to url; the answer must be 401.
func warm(t *testing.T, ctx context.Context, c *http.Client, url string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("warm-up request to %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("warm-up request to %s: %s, want 401", url, resp.Status)
	}
}

// backendHealth is the gRPC hop: it checks the tenant, then calls the HTTP
// backend with the tenant propagated by its client.
type backendHealth struct {
	grpc_health_v1.UnimplementedHealthServer
	check   *hopCheck
	client  *http.Client
	backend string
}

func (s *backendHealth) Check(ctx context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	want := req.GetService() // what the client sent, carried as plain data
	s.check.compare(&s.check.grpc, ctx, want)
	hreq, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.backend+"/?want="+want, nil)
	resp, err := s.client.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != want {
		return nil, fmt.Errorf("backend answered %d %q", resp.StatusCode, body)
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func TestNoLeakAcrossHops(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end load test")
	}
	for _, format := range []string{"relay", "assertion"} {
		t.Run(format, func(t *testing.T) { runLeakTest(t, format) })
	}
}

func runLeakTest(t *testing.T, format string) {
	idp, err := authntest.StartIssuer()
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	v, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), JWKSURL: idp.JWKSURL(), Audiences: []string{"dataplane"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	// Propagators per hop. With assertions, the gRPC service and the
	// backend accept assertions only, so the bearer token cannot carry the
	// tenant for them by accident.
	var toGRPC, toBackend tenant.Propagator = tenant.Relay{Verifier: v}, tenant.Relay{Verifier: v}
	var grpcVerifier, backendVerifier tenant.TokenVerifier = v, v
	var grpcOpts []grpcmw.AuthOption
	var backendOpts []httpmw.AuthOption
	if format == "assertion" {
		k, _ := authn.GenerateRingKey("k1")
		ring, err := authn.NewKeyRing(k)
		if err != nil {
			t.Fatal(err)
		}
		// Requests queue for tens of seconds behind the barrier, far
		// longer than any real hop; the assertions must outlive that.
		ttl := authn.WithAssertionTTL(5 * time.Minute)
		aGRPC, _ := authn.NewAssertion(ring, "orders-grpc", ttl)
		aBackend, _ := authn.NewAssertion(ring, "ledger-http", ttl)
		toGRPC, toBackend = aGRPC, aBackend
		grpcVerifier, backendVerifier = nil, nil
		grpcOpts = append(grpcOpts, grpcmw.WithAssertion(aGRPC))
		backendOpts = append(backendOpts, httpmw.WithAssertion(aBackend))
	}

	checks := &hopCheck{}
	gate := &barrier{n: int64(inFlight), release: make(chan struct{})}
	timer := time.AfterFunc(deadline*2/3, gate.open) // bounded: never wait forever
	defer timer.Stop()

	// Hop 3: the HTTP backend.
	backend := serveHTTP(t, httpmw.Authenticate(backendVerifier, backendOpts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := r.URL.Query().Get("want")
		checks.compare(&checks.backend, r.Context(), want)
		gate.wait(r.Context())
		tn, _ := tenant.FromContext(r.Context())
		_, _ = io.WriteString(w, tn.ID())
	})))

	// Hop 2: the gRPC service.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(grpcVerifier, grpcOpts...)))
	backendClient := h2cClient(func(base http.RoundTripper) http.RoundTripper { return httpmw.Transport(base, toBackend) })
	grpc_health_v1.RegisterHealthServer(gs, &backendHealth{check: checks, client: backendClient, backend: backend})
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(toGRPC)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := grpc_health_v1.NewHealthClient(conn)

	// Hop 1: the HTTP edge, which users call with their bearer token.
	edge := serveHTTP(t, httpmw.Authenticate(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := r.URL.Query().Get("want")
		checks.compare(&checks.edge, r.Context(), want)
		if _, err := health.Check(r.Context(), &grpc_health_v1.HealthCheckRequest{Service: want}); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		tn, _ := tenant.FromContext(r.Context())
		_, _ = io.WriteString(w, tn.ID())
	})))

	tokens := make([]string, tenants)
	for i := range tokens {
		tokens[i] = idp.TokenWithClaims(map[string]any{"aud": "dataplane", "custom:tenant_id": fmt.Sprintf("tenant-%03d", i), "custom:tier": []string{"free", "pro", "enterprise"}[i%3]})
	}
	client := h2cClient(func(base http.RoundTripper) http.RoundTripper { return base })
	// Open each HTTP/2 connection before the flood: requests that start
	// together before a connection exists each dial their own, and on a
	// loaded machine thousands of such dials run out of file descriptors.
	// Both warm-up requests carry no credential, so they are answered 401
	// at once and never reach the barrier.
	warm(t, context.Background(), client, edge)
	warm(t, tenant.WithoutTenant(context.Background()), backendClient, backend)

	var (
		wg        sync.WaitGroup
		wrongBody atomic.Int64
		failed    atomic.Int64
		firstErr  atomic.Value
	)
	start := time.Now()
	for i := range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("tenant-%03d", i%tenants)
			req, _ := http.NewRequest(http.MethodGet, edge+"/?want="+want, nil)
			req.Header.Set("Authorization", "Bearer "+tokens[i%tenants])
			// A spoofed header naming another tenant rides along on every
			// request; no hop may see it.
			req.Header.Set("X-Tenant-ID", fmt.Sprintf("tenant-%03d", (i+1)%tenants))
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, errors.New(resp.Status+": "+string(body)))
				return
			}
			if string(body) != want {
				wrongBody.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	client.CloseIdleConnections()
	backendClient.CloseIdleConnections()

	t.Logf("%s: %d requests of %d tenants, %d in flight at once at the backend, %v", format, inFlight, tenants, gate.max.Load(), elapsed.Round(time.Millisecond))
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d requests failed; first: %v", n, firstErr.Load())
	}
	if got := gate.max.Load(); got < int64(inFlight) {
		t.Fatalf("only %d requests were in flight at once, want %d", got, inFlight)
	}
	mismatches := checks.edge.Load() + checks.grpc.Load() + checks.backend.Load() + wrongBody.Load()
	if mismatches != 0 {
		t.Fatalf("tenant mismatches: edge %d, grpc %d, backend %d, response %d", checks.edge.Load(), checks.grpc.Load(), checks.backend.Load(), wrongBody.Load())
	}
}

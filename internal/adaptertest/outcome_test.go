package adaptertest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/ratelimit/redislimit"
	"github.com/tenantkit/tenantkit/tenant"
)

// wait bounds every wait of these tests.
const wait = 5 * time.Second

// serverDeadline is the deadline the servers put on a request of a
// deadline case, as a server's own per-request timeout would.
const serverDeadline = 150 * time.Millisecond

// how a case's request ends.
type ending int

const (
	answered ending = iota // the server answers
	canceled               // the client gives up once the server has the request
	deadline               // the server's per-request deadline passes
)

// stack is what one case runs on one transport: fresh for each, so that
// the transports share no limiter state or key fetch.
type stack struct {
	verifier tenant.TokenVerifier
	limiter  ratelimit.Limiter
	plans    *ratelimit.Plans
	auth     string // the Authorization value; "" for none
	ending   ending
}

// problem is the part of a problem+json body the cases check.
type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Policy string `json:"policy"`
	Reason string `json:"reason"`
}

// httpResult is what the client got over HTTP (resp nil when the client
// gave up) and the status the middleware wrote.
type httpResult struct {
	resp   *http.Response
	body   problem
	raw    string
	server int
}

// grpcResult is the status the client got and the one the interceptors
// returned.
type grpcResult struct {
	client *status.Status
	server *status.Status
}

type outcomeCase struct {
	name      string
	setup     func(t *testing.T, f *fixture) stack
	wantHTTP  int
	wantGRPC  codes.Code
	checkHTTP func(t *testing.T, r httpResult)
	checkGRPC func(t *testing.T, r grpcResult)
}

// TestOutcomeTable drives each case through a real HTTP server and a real
// gRPC server on loopback and checks the pair of statuses, and the headers
// and details each protocol carries for it.
func TestOutcomeTable(t *testing.T) {
	f := newFixture(t)
	for _, tc := range outcomeCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("http", func(t *testing.T) {
				st := tc.setup(t, f)
				r := runHTTP(t, st)
				if r.server != tc.wantHTTP {
					t.Fatalf("HTTP middleware wrote %d, want %d (%s)", r.server, tc.wantHTTP, r.raw)
				}
				if r.resp != nil {
					if r.resp.StatusCode != tc.wantHTTP {
						t.Fatalf("HTTP client got %d, want %d", r.resp.StatusCode, tc.wantHTTP)
					}
					if tc.wantHTTP != http.StatusOK {
						if ct := r.resp.Header.Get("Content-Type"); ct != "application/problem+json" {
							t.Errorf("Content-Type %q", ct)
						}
						if r.body.Status != tc.wantHTTP {
							t.Errorf("problem status %d", r.body.Status)
						}
					}
					noEcho(t, st.auth, r.raw+r.resp.Header.Get("WWW-Authenticate"))
				}
				if tc.checkHTTP != nil {
					tc.checkHTTP(t, r)
				}
			})
			t.Run("grpc", func(t *testing.T) {
				st := tc.setup(t, f)
				r := runGRPC(t, st)
				if r.server.Code() != tc.wantGRPC {
					t.Fatalf("gRPC interceptors returned %v, want %v (%s)", r.server.Code(), tc.wantGRPC, r.server.Message())
				}
				if r.client.Code() != tc.wantGRPC {
					t.Fatalf("gRPC client got %v, want %v (%s)", r.client.Code(), tc.wantGRPC, r.client.Message())
				}
				noEcho(t, st.auth, r.server.Message())
				if tc.checkGRPC != nil {
					tc.checkGRPC(t, r)
				}
			})
		})
	}
}

func outcomeCases() []outcomeCase {
	return []outcomeCase{
		{
			name: "missing credential",
			setup: func(t *testing.T, f *fixture) stack {
				return f.stack(t, "")
			},
			wantHTTP: http.StatusUnauthorized, wantGRPC: codes.Unauthenticated,
			checkHTTP: func(t *testing.T, r httpResult) {
				// RFC 6750 section 3.1: no error code without a credential.
				wantHeader(t, r, "WWW-Authenticate", "Bearer")
			},
			checkGRPC: wantMessage("a bearer token is required"),
		},
		{
			name: "malformed",
			setup: func(t *testing.T, f *fixture) stack {
				return f.stack(t, "Bearer not-a-jwt")
			},
			wantHTTP: http.StatusUnauthorized, wantGRPC: codes.Unauthenticated,
			checkHTTP: wantInvalidToken("malformed token"),
			checkGRPC: wantMessage("malformed token"),
		},
		{
			name: "expired",
			setup: func(t *testing.T, f *fixture) stack {
				past := time.Now().Add(-time.Hour)
				return f.stack(t, "Bearer "+f.iss.TokenWithClaims(claims("acme", "free", map[string]any{
					"iat": past.Add(-time.Hour).Unix(), "exp": past.Unix()})))
			},
			wantHTTP: http.StatusUnauthorized, wantGRPC: codes.Unauthenticated,
			checkHTTP: wantInvalidToken("token expired"),
			checkGRPC: wantMessage("token expired"),
		},
		{
			name: "wrong issuer",
			setup: func(t *testing.T, f *fixture) stack {
				return f.stack(t, "Bearer "+f.other.Sign(nil, f.iss.Claims(claims("acme", "free", map[string]any{
					"iss": "http://127.0.0.1:1/other"}))))
			},
			wantHTTP: http.StatusUnauthorized, wantGRPC: codes.Unauthenticated,
			checkHTTP: wantInvalidToken("issuer not trusted"),
			checkGRPC: wantMessage("issuer not trusted"),
		},
		{
			name: "unknown kid with the issuer down",
			setup: func(t *testing.T, f *fixture) stack {
				st := f.stack(t, "Bearer "+f.downKey.Sign(nil, f.iss.Claims(claims("acme", "free", map[string]any{
					"iss": f.downURL}))))
				st.verifier = newVerifier(t, authn.Issuer{URL: f.downURL, AnyAudience: true})
				return st
			},
			wantHTTP: http.StatusServiceUnavailable, wantGRPC: codes.Unavailable,
			checkHTTP: wantRetryAfter,
			checkGRPC: wantRetryInfo,
		},
		{
			name: "tenant not allowed by a check hook",
			setup: func(t *testing.T, f *fixture) stack {
				return f.stack(t, "Bearer "+f.iss.TokenWithClaims(claims("blocked", "free", nil)))
			},
			wantHTTP: http.StatusForbidden, wantGRPC: codes.PermissionDenied,
			checkGRPC: wantMessage("the tenant is not allowed"),
		},
		{
			name: "tenant suspended in the directory",
			setup: func(t *testing.T, f *fixture) stack {
				return f.directoryStack(t, "acme", directory.Entry{Status: directory.Suspended}, nil)
			},
			wantHTTP: http.StatusForbidden, wantGRPC: codes.PermissionDenied,
			checkHTTP: wantRefusal("tenant-suspended"),
			checkGRPC: wantErrorInfo("the tenant is suspended", "TENANT_SUSPENDED"),
		},
		{
			name: "tenant offboarded in the directory",
			setup: func(t *testing.T, f *fixture) stack {
				return f.directoryStack(t, "acme", directory.Entry{Status: directory.Offboarded}, nil)
			},
			wantHTTP: http.StatusForbidden, wantGRPC: codes.PermissionDenied,
			checkHTTP: wantRefusal("tenant-offboarded"),
			checkGRPC: wantErrorInfo("the tenant is offboarded", "TENANT_OFFBOARDED"),
		},
		{
			name: "tenant unknown to the directory",
			setup: func(t *testing.T, f *fixture) stack {
				return f.directoryStack(t, "someone-else", directory.Entry{Status: directory.Active}, nil)
			},
			wantHTTP: http.StatusForbidden, wantGRPC: codes.PermissionDenied,
			checkHTTP: wantRefusal("tenant-unknown"),
			checkGRPC: wantErrorInfo("not known to the tenant directory", "TENANT_UNKNOWN"),
		},
		{
			name: "directory down with nothing cached",
			setup: func(t *testing.T, f *fixture) stack {
				return f.directoryStack(t, "acme", directory.Entry{Status: directory.Active}, errors.New("directory down"))
			},
			wantHTTP: http.StatusServiceUnavailable, wantGRPC: codes.Unavailable,
			checkHTTP: wantRetryAfter,
			checkGRPC: wantRetryInfo,
		},
		{
			name: "directory re-tiers the tenant",
			setup: func(t *testing.T, f *fixture) stack {
				// The token says free; the directory says tight, whose
				// burst of 1 is spent.
				st := f.directoryStack(t, "acme", directory.Entry{Status: directory.Active, Tier: "tight"}, nil)
				spend(t, st, "tight")
				return st
			},
			wantHTTP: http.StatusTooManyRequests, wantGRPC: codes.ResourceExhausted,
			checkHTTP: wantDenial("tight", "rate"),
			checkGRPC: wantViolation("tight", 1),
		},
		{
			// The client is gone: 499 (a 4xx, never 401), Canceled.
			name: "context canceled during the first key fetch",
			setup: func(t *testing.T, f *fixture) stack {
				st := f.stalledStack(t)
				st.ending = canceled
				return st
			},
			wantHTTP: 499, wantGRPC: codes.Canceled,
		},
		{
			name: "deadline during the first key fetch",
			setup: func(t *testing.T, f *fixture) stack {
				st := f.stalledStack(t)
				st.ending = deadline
				return st
			},
			wantHTTP: http.StatusGatewayTimeout, wantGRPC: codes.DeadlineExceeded,
		},
		{
			name: "rate denied",
			setup: func(t *testing.T, f *fixture) stack {
				st := f.stack(t, "Bearer "+f.iss.TokenWithClaims(claims("acme", "tight", nil)))
				spend(t, st, "tight")
				return st
			},
			wantHTTP: http.StatusTooManyRequests, wantGRPC: codes.ResourceExhausted,
			checkHTTP: wantDenial("tight", "rate"),
			checkGRPC: wantViolation("tight", 1),
		},
		{
			name: "quota denied",
			setup: func(t *testing.T, f *fixture) stack {
				st := f.stack(t, "Bearer "+f.iss.TokenWithClaims(claims("acme", "metered", nil)))
				spend(t, st, "metered")
				return st
			},
			wantHTTP: http.StatusTooManyRequests, wantGRPC: codes.ResourceExhausted,
			checkHTTP: wantDenial("metered-quota", "quota"),
			checkGRPC: wantViolation("metered-quota", 1),
		},
		{
			name: "in-flight denied",
			setup: func(t *testing.T, f *fixture) stack {
				st := f.stack(t, "Bearer "+f.iss.TokenWithClaims(claims("acme", "single", nil)))
				d := spend(t, st, "single") // holds the one slot until the case ends
				t.Cleanup(d.Release)
				return st
			},
			wantHTTP: http.StatusTooManyRequests, wantGRPC: codes.ResourceExhausted,
			checkHTTP: wantDenial("single-inflight", "in-flight"),
			checkGRPC: wantViolation("single-inflight", 1),
		},
		{
			name: "limiter unavailable, fail-closed",
			setup: func(t *testing.T, f *fixture) stack {
				st := f.stack(t, "Bearer "+f.iss.TokenWithClaims(claims("acme", "free", nil)))
				// A Redis address nothing listens on: the backend is down.
				client := redis.NewClient(&redis.Options{Addr: f.deadAddr, MaxRetries: -1, DialTimeout: 250 * time.Millisecond})
				t.Cleanup(func() { _ = client.Close() })
				l, err := redislimit.New(client)
				if err != nil {
					t.Fatal(err)
				}
				st.limiter = l
				return st
			},
			wantHTTP: http.StatusServiceUnavailable, wantGRPC: codes.Unavailable,
			checkHTTP: wantRetryAfter,
			checkGRPC: wantRetryInfo,
		},
		{
			name: "ok",
			setup: func(t *testing.T, f *fixture) stack {
				return f.stack(t, "Bearer "+f.iss.TokenWithClaims(claims("acme", "free", nil)))
			},
			wantHTTP: http.StatusOK, wantGRPC: codes.OK,
			checkHTTP: func(t *testing.T, r httpResult) {
				if r.raw != "acme" {
					t.Errorf("handler saw tenant %q, want acme", r.raw)
				}
				if r.resp.Header.Get("RateLimit-Policy") == "" {
					t.Error("no RateLimit-Policy on an allowed request")
				}
			},
		},
	}
}

// fixture holds what the cases share: a running issuer, the address of one
// that is down, a key no trusted issuer publishes, and a dead address.
type fixture struct {
	iss      *authntest.Issuer
	other    *authntest.Key
	downURL  string
	downKey  *authntest.Key
	deadAddr string
}

func newFixture(t *testing.T) *fixture {
	iss := authntest.NewIssuer(t)
	down := authntest.NewIssuer(t)
	down.Down()
	other, err := authntest.NewKey("other-1", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	return &fixture{iss: iss, other: other, downURL: down.URL(), downKey: down.SigningKey(), deadAddr: dead}
}

// stack returns a stack on the running issuer with an in-process limiter,
// for a request with Authorization value auth.
func (f *fixture) stack(t *testing.T, auth string) stack {
	l, err := ratelimit.NewLocal()
	if err != nil {
		t.Fatal(err)
	}
	return stack{
		verifier: newVerifier(t, authn.Issuer{URL: f.iss.URL(), AnyAudience: true}),
		limiter:  l,
		plans:    newPlans(t),
		auth:     auth,
	}
}

// failingDirectory is a directory that cannot answer.
type failingDirectory struct{ err error }

func (d failingDirectory) Lookup(context.Context, string) (directory.Entry, error) {
	return directory.Entry{}, d.err
}

// directoryStack returns a stack for a free-tier token of tenant acme whose
// verifier admits through a tenant directory that holds e for tenant id,
// or that fails with err when err is not nil.
func (f *fixture) directoryStack(t *testing.T, id string, e directory.Entry, err error) stack {
	st := f.stack(t, "Bearer "+f.iss.TokenWithClaims(claims("acme", "free", nil)))
	var d directory.Directory = directory.NewMemory(map[string]directory.Entry{id: e})
	if err != nil {
		d = failingDirectory{err}
	}
	c, cerr := directory.NewCache(d)
	if cerr != nil {
		t.Fatal(cerr)
	}
	st.verifier = directory.Verifier(st.verifier, c)
	return st
}

// stalledStack returns a stack whose issuer's key set server holds every
// fetch until the case ends, so that a request waits on the first fetch
// until its context ends.
func (f *fixture) stalledStack(t *testing.T) stack {
	key, err := authntest.NewKey("stalled-1", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-time.After(wait):
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{key.JWK()}})
	}))
	t.Cleanup(jwks.Close)
	st := f.stack(t, "")
	st.verifier = newVerifier(t, authn.Issuer{URL: jwks.URL, JWKSURL: jwks.URL + "/jwks.json", AnyAudience: true})
	t.Cleanup(func() { close(release) }) // runs first: the fetch ends, then Close returns
	st.auth = "Bearer " + key.Sign(nil, f.iss.Claims(claims("acme", "free", map[string]any{"iss": jwks.URL})))
	return st
}

// newVerifier returns a verifier that refuses tenant "blocked" with
// tenant.ErrForbidden. Its fetch timeout outlasts every request deadline of
// the cases, so that a stalled fetch ends by the request's context.
func newVerifier(t *testing.T, is authn.Issuer) *authn.Verifier {
	v, err := authn.NewVerifier([]authn.Issuer{is},
		authn.WithFetchTimeout(wait),
		authn.WithCheck(func(_ context.Context, tn tenant.Tenant) error {
			if tn.ID() == "blocked" {
				return tenant.ErrForbidden
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func newPlans(t *testing.T) *ratelimit.Plans {
	ps, err := ratelimit.NewPlans(ratelimit.Plan{Rate: ratelimit.PerMinute(600), Burst: 100}, map[string]ratelimit.Plan{
		"free":    {Rate: ratelimit.PerMinute(600), Burst: 100},
		"tight":   {Rate: ratelimit.PerMinute(1), Burst: 1},
		"metered": {Rate: ratelimit.PerMinute(600), Burst: 100, Quota: ratelimit.Daily(1)},
		"single":  {Rate: ratelimit.PerMinute(600), Burst: 100, InFlight: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// claims returns the tenant claims of a token, with extra ones.
func claims(id, tier string, extra map[string]any) map[string]any {
	c := map[string]any{authn.DefaultTenantClaim: id, authn.DefaultTierClaim: tier}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// spend takes one unit for tenant acme under the tier's plan directly from
// the stack's limiter, as an earlier request would have.
func spend(t *testing.T, st stack, tier string) ratelimit.Decision {
	d, err := st.limiter.Take(context.Background(), "acme", st.plans.For(tier), 1)
	if err != nil || !d.Allowed {
		t.Fatalf("spend: %+v %v", d, err)
	}
	return d
}

// runHTTP serves one request of st through Authenticate and RateLimit on a
// loopback server.
func runHTTP(t *testing.T, st stack) httpResult {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tn, _ := tenant.FromContext(r.Context())
		_, _ = io.WriteString(w, tn.ID())
	})
	h := httpmw.Authenticate(st.verifier)(httpmw.RateLimit(st.limiter, st.plans)(app))
	entered := make(chan struct{})
	written := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		if st.ending == deadline {
			ctx, cancel := context.WithTimeout(r.Context(), serverDeadline)
			defer cancel()
			r = r.WithContext(ctx)
		}
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		written <- rec.status
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{}, Timeout: wait}
	t.Cleanup(client.CloseIdleConnections)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.auth != "" {
		req.Header.Set("Authorization", st.auth)
	}
	if st.ending == canceled {
		go cancelOnceEntered(entered, cancel)
	}
	var r httpResult
	resp, err := client.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		r.resp, r.raw = resp, string(b)
		if resp.StatusCode != http.StatusOK {
			if err := json.Unmarshal(b, &r.body); err != nil {
				t.Errorf("body %q: %v", b, err)
			}
		}
	} else if st.ending != canceled {
		t.Fatalf("request: %v", err)
	}
	select {
	case r.server = <-written:
	case <-time.After(wait):
		t.Fatal("the middleware did not answer in time")
	}
	return r
}

// cancelOnceEntered cancels a request shortly after the server has it, when
// it is waiting for the stalled key fetch (and if it is not yet, it finds
// its context ended when it gets there).
func cancelOnceEntered(entered <-chan struct{}, cancel func()) {
	select {
	case <-entered:
		time.Sleep(20 * time.Millisecond)
	case <-time.After(wait):
	}
	cancel()
}

// statusRecorder remembers the status the middleware wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// runGRPC makes one health check call of st through the authentication
// and rate-limit interceptors on a loopback server.
func runGRPC(t *testing.T, st stack) grpcResult {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	returned := make(chan error, 1)
	outer := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		close(entered)
		if st.ending == deadline {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, serverDeadline)
			defer cancel()
		}
		resp, err := handler(ctx, req)
		returned <- err
		return resp, err
	}
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(outer,
		grpcmw.UnaryServerAuthenticate(st.verifier),
		grpcmw.UnaryServerRateLimit(st.limiter, st.plans)))
	healthpb.RegisterHealthServer(gs, tenantHealth{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(ln)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-served
	})
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if st.auth != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", st.auth)
	}
	if st.ending == canceled {
		go cancelOnceEntered(entered, cancel)
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("handler answered %v: it saw no tenant", resp.GetStatus())
	}
	var r grpcResult
	r.client = status.Convert(err)
	select {
	case serr := <-returned:
		r.server = status.Convert(serr)
	case <-time.After(wait):
		t.Fatal("the interceptors did not answer in time")
	}
	return r
}

// tenantHealth answers SERVING when the call's context carries tenant acme.
type tenantHealth struct {
	healthpb.UnimplementedHealthServer
}

func (tenantHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if tn, ok := tenant.FromContext(ctx); ok && tn.ID() == "acme" {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
}

// noEcho fails when text contains the token of the Authorization value.
func noEcho(t *testing.T, auth, text string) {
	t.Helper()
	tok := strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
	if tok != "" && strings.Contains(text, tok) {
		t.Errorf("the response echoes the token: %q", text)
	}
}

func wantHeader(t *testing.T, r httpResult, name, want string) {
	t.Helper()
	if got := r.resp.Header.Get(name); got != want {
		t.Errorf("%s %q, want %q", name, got, want)
	}
}

func wantInvalidToken(reason string) func(*testing.T, httpResult) {
	return func(t *testing.T, r httpResult) {
		got := r.resp.Header.Get("WWW-Authenticate")
		if !strings.HasPrefix(got, "Bearer ") || !strings.Contains(got, `error="invalid_token"`) || !strings.Contains(got, reason) {
			t.Errorf("WWW-Authenticate %q, want an invalid_token challenge naming %q", got, reason)
		}
	}
}

func wantRefusal(reason string) func(*testing.T, httpResult) {
	return func(t *testing.T, r httpResult) {
		if r.body.Type != "urn:tenantkit:problem:"+reason || r.body.Reason != reason {
			t.Errorf("problem %+v, want type urn:tenantkit:problem:%s and reason %q", r.body, reason, reason)
		}
	}
}

func wantErrorInfo(msg, reason string) func(*testing.T, grpcResult) {
	return func(t *testing.T, r grpcResult) {
		wantMessage(msg)(t, r)
		for _, d := range r.client.Details() {
			if ei, ok := d.(*errdetails.ErrorInfo); ok {
				if ei.Reason != reason || ei.Domain != "tenantkit" {
					t.Errorf("ErrorInfo %v, want reason %s domain tenantkit", ei, reason)
				}
				return
			}
		}
		t.Errorf("no ErrorInfo in %v", r.client.Details())
	}
}

func wantRetryAfter(t *testing.T, r httpResult) {
	if r.resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func wantDenial(policy, reason string) func(*testing.T, httpResult) {
	return func(t *testing.T, r httpResult) {
		h := r.resp.Header
		if h.Get("RateLimit-Policy") == "" || h.Get("Retry-After") == "" {
			t.Errorf("headers %v lack RateLimit-Policy or Retry-After", h)
		}
		if reason != "in-flight" && h.Get("RateLimit") == "" {
			t.Errorf("headers %v lack RateLimit", h)
		}
		if r.body.Policy != policy || r.body.Reason != reason {
			t.Errorf("problem %+v, want policy %q reason %q", r.body, policy, reason)
		}
	}
}

func wantMessage(sub string) func(*testing.T, grpcResult) {
	return func(t *testing.T, r grpcResult) {
		if !strings.Contains(r.client.Message(), sub) {
			t.Errorf("message %q, want it to contain %q", r.client.Message(), sub)
		}
	}
}

func wantRetryInfo(t *testing.T, r grpcResult) {
	ri, _ := details(r.client)
	if ri == nil || ri.GetRetryDelay().AsDuration() < time.Second {
		t.Errorf("RetryInfo %v, want a delay of a second or more", ri)
	}
}

func wantViolation(quotaID string, limit int64) func(*testing.T, grpcResult) {
	return func(t *testing.T, r grpcResult) {
		ri, qf := details(r.client)
		if ri == nil {
			t.Error("no RetryInfo")
		}
		if qf == nil || len(qf.Violations) != 1 {
			t.Fatalf("QuotaFailure %v", qf)
		}
		v := qf.Violations[0]
		if v.QuotaId != quotaID || v.QuotaValue != limit || v.Subject != "tenant:acme" {
			t.Errorf("violation %v, want quota_id %q value %d subject tenant:acme", v, quotaID, limit)
		}
	}
}

func details(s *status.Status) (*errdetails.RetryInfo, *errdetails.QuotaFailure) {
	var (
		ri *errdetails.RetryInfo
		qf *errdetails.QuotaFailure
	)
	for _, d := range s.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			ri = d
		case *errdetails.QuotaFailure:
			qf = d
		}
	}
	return ri, qf
}

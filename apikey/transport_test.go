package apikey_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/tenant"
)

// seen is what an edge handler observed for one request or call.
type seen struct {
	mu         sync.Mutex
	id, tier   string
	keyHeaders []string // API-key headers the handler could still read
	relayErr   error    // an outgoing call with tenant.Relay
	assertErr  error    // an outgoing call with an assertion
	forwardErr error    // an outgoing call that copies the incoming key
	downstream string   // the tenant the downstream service saw
}

func (s *seen) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id, s.tier, s.keyHeaders, s.downstream = "", "", nil, ""
	s.relayErr, s.assertErr, s.forwardErr = nil, nil, nil
}

// world is an edge that accepts API keys and JWTs on HTTP and gRPC, and a
// downstream service on each transport that accepts assertions only.
type world struct {
	keys      *fixture
	jwt       *tenanttest.Fixture
	assertion *authn.Assertion
	seen      *seen

	httpURL    string
	grpcClient grpc_health_v1.HealthClient

	// downstream
	downHTTP   string
	downConn   *grpc.ClientConn
	downTenant chan string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{
		keys:       newFixture(t),
		jwt:        tenanttest.New(t),
		assertion:  tenanttest.Assertion(t, "downstream"),
		seen:       &seen{},
		downTenant: make(chan string, 1),
	}
	w.keys.clk.now = time.Now() // the JWTs are checked on the real clock
	dispatch := apikey.Dispatch(w.jwt.Verifier, w.keys.keys)

	// Downstream: assertions only.
	down := httptest.NewServer(httpmw.Authenticate(nil, httpmw.WithAssertion(w.assertion))(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		tn, _ := tenant.FromContext(r.Context())
		_, _ = io.WriteString(rw, tn.ID())
	})))
	t.Cleanup(down.Close)
	w.downHTTP = down.URL
	downGRPC := serveGRPC(t, &downHealth{w: w}, grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(nil, grpcmw.WithAssertion(w.assertion))))
	w.downConn = dial(t, downGRPC)

	// Edge, HTTP.
	edge := httptest.NewServer(httpmw.Authenticate(dispatch, httpmw.WithExtractor(apikey.Header{Verifier: w.keys.keys}))(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.httpHandler(r)
		rw.WriteHeader(http.StatusNoContent)
	})))
	t.Cleanup(edge.Close)
	w.httpURL = edge.URL

	// Edge, gRPC.
	addr := serveGRPC(t, &edgeHealth{w: w}, grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(dispatch,
		grpcmw.WithExtractor(apikey.Header{Verifier: w.keys.keys, Name: "x-api-key"}))))
	w.grpcClient = grpc_health_v1.NewHealthClient(dial(t, addr))
	return w
}

func serveGRPC(t *testing.T, h grpc_health_v1.HealthServer, opts ...grpc.ServerOption) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(opts...)
	grpc_health_v1.RegisterHealthServer(s, h)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// httpHandler records what an HTTP handler sees and can send on.
func (w *world) httpHandler(r *http.Request) {
	ctx := r.Context()
	get := func(p tenant.Propagator, h http.Header) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.downHTTP, nil)
		for k, vs := range h {
			req.Header[k] = vs
		}
		resp, err := (&http.Client{Transport: httpmw.Transport(nil, p)}).Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), nil
	}
	dispatch := apikey.Dispatch(w.jwt.Verifier, w.keys.keys)
	_, relayErr := get(tenant.Relay{Verifier: dispatch}, nil)
	downstream, assertErr := get(w.assertion, nil)
	// A handler that copies the incoming credential headers.
	fwd := http.Header{}
	for _, k := range []string{"X-Api-Key", "Authorization"} {
		if v := r.Header.Get(k); v != "" {
			fwd.Set(k, v)
		}
	}
	_, forwardErr := get(w.assertion, fwd)
	if r.Header.Get("Authorization") != "" && r.Header.Get("X-Api-Key") == "" {
		// The bearer credential copied under a Relay that could verify it.
		_, forwardErr = get(tenant.Relay{Verifier: dispatch}, fwd)
	}
	tn, _ := tenant.FromContext(ctx)
	var keyHeaders []string
	for k := range r.Header {
		if f := tenant.FoldName(k); strings.Contains(f, "api-key") {
			keyHeaders = append(keyHeaders, k)
		}
	}
	w.seen.mu.Lock()
	defer w.seen.mu.Unlock()
	w.seen.id, w.seen.tier, w.seen.keyHeaders = tn.ID(), tn.Tier(), keyHeaders
	w.seen.relayErr, w.seen.assertErr, w.seen.forwardErr, w.seen.downstream = relayErr, assertErr, forwardErr, downstream
}

type edgeHealth struct {
	grpc_health_v1.UnimplementedHealthServer
	w *world
}

func (h *edgeHealth) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	w := h.w
	call := func(p tenant.Propagator, ctx context.Context) error {
		return grpcmw.UnaryClientPropagate(p)(ctx, "/grpc.health.v1.Health/Check", &grpc_health_v1.HealthCheckRequest{}, &grpc_health_v1.HealthCheckResponse{}, w.downConn,
			func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
				return cc.Invoke(ctx, method, req, reply, opts...)
			})
	}
	dispatch := apikey.Dispatch(w.jwt.Verifier, w.keys.keys)
	relayErr := call(tenant.Relay{Verifier: dispatch}, ctx)
	assertErr := call(w.assertion, ctx)
	var downstream string
	if assertErr == nil {
		downstream = <-w.downTenant
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var fwd []string
	for _, k := range []string{"x-api-key", "authorization"} {
		for _, v := range md.Get(k) {
			fwd = append(fwd, k, v)
		}
	}
	forwardErr := call(w.assertion, metadata.AppendToOutgoingContext(ctx, fwd...))
	if len(md.Get("authorization")) > 0 && len(md.Get("x-api-key")) == 0 {
		forwardErr = call(tenant.Relay{Verifier: dispatch}, metadata.AppendToOutgoingContext(ctx, fwd...))
	}
	var keyHeaders []string
	for k := range md {
		if strings.Contains(tenant.FoldName(k), "api-key") {
			keyHeaders = append(keyHeaders, k)
		}
	}
	tn, _ := tenant.FromContext(ctx)
	w.seen.mu.Lock()
	defer w.seen.mu.Unlock()
	w.seen.id, w.seen.tier, w.seen.keyHeaders = tn.ID(), tn.Tier(), keyHeaders
	w.seen.relayErr, w.seen.assertErr, w.seen.forwardErr, w.seen.downstream = relayErr, assertErr, forwardErr, downstream
	return &grpc_health_v1.HealthCheckResponse{}, nil
}

type downHealth struct {
	grpc_health_v1.UnimplementedHealthServer
	w *world
}

func (h *downHealth) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	tn, _ := tenant.FromContext(ctx)
	select {
	case h.w.downTenant <- tn.ID():
	default:
	}
	return &grpc_health_v1.HealthCheckResponse{}, nil
}

// cred is one credential of a request: a header name and value.
type cred struct{ name, value string }

// do sends creds over transport ("http" or "grpc") and returns the
// outcome as an HTTP status.
func (w *world) do(t *testing.T, transport string, creds ...cred) int {
	t.Helper()
	w.seen.reset()
	switch transport {
	case "http":
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, w.httpURL, nil)
		for _, c := range creds {
			req.Header.Add(c.name, c.value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusNoContent {
			return http.StatusOK
		}
		return resp.StatusCode
	default:
		var kv []string
		for _, c := range creds {
			kv = append(kv, strings.ToLower(c.name), c.value)
		}
		_, err := w.grpcClient.Check(metadata.AppendToOutgoingContext(t.Context(), kv...), &grpc_health_v1.HealthCheckRequest{})
		switch status.Code(err) {
		case codes.OK:
			return http.StatusOK
		case codes.Unauthenticated:
			return http.StatusUnauthorized
		case codes.PermissionDenied:
			return http.StatusForbidden
		case codes.Unavailable:
			return http.StatusServiceUnavailable
		}
		t.Fatalf("gRPC: %v", err)
		return 0
	}
}

func TestTransportsAcceptKeysAsTheirTenant(t *testing.T) {
	w := newWorld(t)
	keyA, _ := w.keys.create(t, "tenant-a", apikey.CreateOptions{})
	keyGold, _ := w.keys.create(t, "tenant-c", apikey.CreateOptions{Tier: "gold"})
	jwtB := w.jwt.Token("tenant-b", "silver")
	for _, transport := range []string{"http", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			for _, tc := range []struct {
				name     string
				creds    []cred
				id, tier string
			}{
				{"bearer key", []cred{{"Authorization", "Bearer " + keyA}}, "tenant-a", ""},
				{"X-API-Key", []cred{{"X-API-Key", keyA}}, "tenant-a", ""},
				{"key with a tier override", []cred{{"X-API-Key", keyGold}}, "tenant-c", "gold"},
				{"bearer key and X-API-Key of one tenant", []cred{{"Authorization", "Bearer " + keyA}, {"X-API-Key", keyA}}, "tenant-a", ""},
				{"a JWT still works", []cred{{"Authorization", "Bearer " + jwtB}}, "tenant-b", "silver"},
			} {
				if got := w.do(t, transport, tc.creds...); got != http.StatusOK {
					t.Fatalf("%s: status %d", tc.name, got)
				}
				s := w.seen
				s.mu.Lock()
				if s.id != tc.id || s.tier != tc.tier {
					t.Errorf("%s: handler saw %q/%q, want %q/%q", tc.name, s.id, s.tier, tc.id, tc.tier)
				}
				if s.downstream != tc.id || s.assertErr != nil {
					t.Errorf("%s: the assertion carried %q downstream (%v)", tc.name, s.downstream, s.assertErr)
				}
				if tc.id != "tenant-b" && !errors.Is(s.relayErr, tenant.ErrNoCredential) {
					t.Errorf("%s: relaying a key: %v, want ErrNoCredential", tc.name, s.relayErr)
				}
				if tc.id == "tenant-b" && errors.Is(s.relayErr, tenant.ErrNoCredential) {
					// (The downstream service takes assertions only, so
					// over gRPC the relayed JWT is refused there.)
					t.Errorf("%s: relaying a JWT: %v", tc.name, s.relayErr)
				}
				if tc.id != "tenant-b" && !errors.Is(s.forwardErr, tenant.ErrMismatch) {
					t.Errorf("%s: forwarding the incoming key: %v, want ErrMismatch", tc.name, s.forwardErr)
				}
				s.mu.Unlock()
			}
		})
	}
}

func TestTransportsRefuseBadKeys(t *testing.T) {
	w := newWorld(t)
	keyA, recA := w.keys.create(t, "tenant-a", apikey.CreateOptions{})
	revoked, recRevoked := w.keys.create(t, "tenant-a", apikey.CreateOptions{})
	if err := w.keys.mgr.Revoke(bg, recRevoked.KeyID); err != nil {
		t.Fatal(err)
	}
	expired, _ := w.keys.create(t, "tenant-a", apikey.CreateOptions{ExpiresAt: w.keys.clk.Now().Add(-time.Second)})
	unknown := apikey.Format(apikey.DefaultPrefix, "0123456789abcdef", strings.Repeat("x", apikey.SecretLen))
	bad := keyA[:len(keyA)-1] + string("01"[map[bool]int{true: 1}[keyA[len(keyA)-1] == '0']])
	jwtB := w.jwt.Token("tenant-b", "")
	_ = recA
	for _, transport := range []string{"http", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			before := w.keys.store.gets.Load()
			for _, tc := range []struct {
				name  string
				creds []cred
			}{
				{"bad checksum, bearer", []cred{{"Authorization", "Bearer " + bad}}},
				{"bad checksum, X-API-Key", []cred{{"X-API-Key", bad}}},
				{"not a key in X-API-Key", []cred{{"X-API-Key", jwtB}}},
				{"repeated X-API-Key", []cred{{"X-API-Key", keyA}, {"X-API-Key", keyA}}},
			} {
				if got := w.do(t, transport, tc.creds...); got != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401", tc.name, got)
				}
			}
			if n := w.keys.store.gets.Load() - before; n != 0 {
				t.Errorf("%d store lookups for malformed keys", n)
			}
			for _, tc := range []struct {
				name  string
				creds []cred
				want  int
			}{
				{"revoked", []cred{{"X-API-Key", revoked}}, 401},
				{"expired", []cred{{"Authorization", "Bearer " + expired}}, 401},
				{"unknown", []cred{{"X-API-Key", unknown}}, 401},
				{"key of A and JWT of B", []cred{{"X-API-Key", keyA}, {"Authorization", "Bearer " + jwtB}}, 401},
			} {
				if got := w.do(t, transport, tc.creds...); got != tc.want {
					t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
				}
			}
		})
	}
}

func TestTransportsAnswerUnavailableWhenTheStoreIsDown(t *testing.T) {
	w := newWorld(t)
	key, _ := w.keys.create(t, "tenant-a", apikey.CreateOptions{})
	w.keys.store.setFail(errStoreDown)
	for _, transport := range []string{"http", "grpc"} {
		if got := w.do(t, transport, cred{"X-API-Key", key}); got != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", transport, got)
		}
	}
}

func TestKeyVariantsAreScrubbed(t *testing.T) {
	w := newWorld(t)
	key, _ := w.keys.create(t, "tenant-a", apikey.CreateOptions{})
	for _, transport := range []string{"http", "grpc"} {
		if got := w.do(t, transport, cred{"X-API-Key", key}, cred{"X_API_Key", "spoof"}); got != http.StatusOK {
			t.Fatalf("%s: status %d", transport, got)
		}
		w.seen.mu.Lock()
		if len(w.seen.keyHeaders) != 1 || strings.Contains(w.seen.keyHeaders[0], "_") {
			t.Errorf("%s: the handler reads %v", transport, w.seen.keyHeaders)
		}
		w.seen.mu.Unlock()
	}
}

func TestAKeyNobodyVerifiesIsRemoved(t *testing.T) {
	jwt := tenanttest.New(t)
	var got []string
	h := httpmw.Authenticate(jwt.Verifier)(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Values("X-Api-Key")...)
		got = append(got, r.Header.Values("X_API_KEY")...)
	}))
	rec := tenanttest.Do(t, h, http.Header{"Authorization": {"Bearer " + jwt.Token("acme", "")}, "X-Api-Key": {"k"}, "X_API_KEY": {"k"}})
	if rec.Code != http.StatusOK || len(got) != 0 {
		t.Fatalf("HTTP: status %d, handler read %v", rec.Code, got)
	}

	var md metadata.MD
	intercept := grpcmw.UnaryServerAuthenticate(jwt.Verifier)
	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+jwt.Token("acme", ""), "x-api-key", "k", "x_api_key", "k"))
	_, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/s.V1/M"}, func(ctx context.Context, _ any) (any, error) {
		md, _ = metadata.FromIncomingContext(ctx)
		return nil, nil
	})
	if err != nil || len(md.Get("x-api-key")) != 0 || len(md.Get("x_api_key")) != 0 {
		t.Fatalf("gRPC: %v, handler read %v", err, md)
	}
}

func TestClientsRefuseAnOutgoingKey(t *testing.T) {
	jwt := tenanttest.New(t)
	ctx := tenant.NewContext(t.Context(), jwt.Tenant(t, "acme", ""))
	a := tenanttest.Assertion(t, "downstream")
	sent := false
	rt := httpmw.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent = true
		return nil, errors.New("sent")
	}), a)
	for _, name := range []string{"X-API-Key", "x-api-key", "X-Api-Key"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
		req.Header[name] = []string{"tk_live_whatever"}
		if _, err := rt.RoundTrip(req); !errors.Is(err, tenant.ErrMismatch) || sent {
			t.Errorf("HTTP %s: err = %v, sent %v", name, err, sent)
		}
	}
	err := grpcmw.UnaryClientPropagate(a)(metadata.AppendToOutgoingContext(ctx, "x-api-key", "k"), "/s.V1/M", nil, nil, nil,
		func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
			sent = true
			return nil
		})
	if !errors.Is(err, tenant.ErrMismatch) || sent {
		t.Errorf("gRPC: err = %v, sent %v", err, sent)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestKeysOnlyMiddlewareAndInvalidExtractor(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	h := httpmw.Authenticate(nil, httpmw.WithExtractor(apikey.Header{Verifier: f.keys}))(http.HandlerFunc(tenanttest.Whoami))
	if rec := tenanttest.Do(t, h, http.Header{"X-Api-Key": {key}}); rec.Code != http.StatusOK {
		t.Fatalf("HTTP keys only: %d", rec.Code)
	}
	if rec := tenanttest.Do(t, h, http.Header{"Authorization": {"Bearer " + key}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("HTTP keys only, bearer: %d", rec.Code)
	}
	intercept := grpcmw.UnaryServerAuthenticate(nil, grpcmw.WithExtractor(apikey.Header{Verifier: f.keys}))
	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("x-api-key", key))
	if _, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/s.V1/M"}, func(ctx context.Context, _ any) (any, error) {
		if tn, ok := tenant.FromContext(ctx); !ok || tn.ID() != "acme" {
			t.Errorf("gRPC keys only: tenant %v", tn)
		}
		return nil, nil
	}); err != nil {
		t.Fatalf("gRPC keys only: %v", err)
	}
	for name, build := range map[string]func(){
		"httpmw": func() { httpmw.Authenticate(nil, httpmw.WithExtractor(nil)) },
		"grpcmw": func() { grpcmw.UnaryServerAuthenticate(nil, grpcmw.WithExtractor(nil)) },
	} {
		func() {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, httpmw.ErrInvalidOption) && !errors.Is(err, grpcmw.ErrInvalidOption) {
					t.Errorf("%s: WithExtractor(nil) panics with %v", name, err)
				}
			}()
			build()
		}()
	}
}

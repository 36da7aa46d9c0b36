package grpcmw_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/internal/redistest"
	"github.com/tenantkit/tenantkit/internal/tenanttest"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/ratelimit/redislimit"
	"github.com/tenantkit/tenantkit/tenant"
)

// rlHealth is a real generated service whose handlers block or panic on
// request, to exercise every exit path of the interceptors.
type rlHealth struct {
	grpc_health_v1.UnimplementedHealthServer
	entered chan struct{}
	release chan struct{}
}

func (h *rlHealth) Check(ctx context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	switch req.Service {
	case "block":
		h.entered <- struct{}{}
		<-h.release
	case "panic":
		panic("handler bug")
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h *rlHealth) Watch(_ *grpc_health_v1.HealthCheckRequest, stream grpc_health_v1.Health_WatchServer) error {
	if err := stream.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}); err != nil {
		return err
	}
	<-stream.Context().Done() // held open until the client cancels
	return nil
}

// rlTenantFromMD stands in for the authentication interceptor: it trusts
// the "x-test-tenant" and "x-test-tier" metadata of this test only.
func rlTenantFromMD(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	if ids := md.Get("x-test-tenant"); len(ids) == 1 {
		tier := ""
		if t := md.Get("x-test-tier"); len(t) == 1 {
			tier = t[0]
		}
		if tn, err := tenant.New(ids[0], tier); err == nil {
			return tenant.NewContext(ctx, tn)
		}
	}
	return ctx
}

type rlStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s rlStream) Context() context.Context { return s.ctx }

func rlRecoverUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = status.Error(codes.Internal, "panic")
		}
	}()
	return h(rlTenantFromMD(ctx), req)
}

func rlRecoverStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = status.Error(codes.Internal, "panic")
		}
	}()
	return h(srv, rlStream{ss, rlTenantFromMD(ss.Context())})
}

type rlFixture struct {
	client grpc_health_v1.HealthClient
	health *rlHealth
}

func startRateLimited(t *testing.T, l ratelimit.Limiter, plans *ratelimit.Plans, opts ...grpcmw.RateLimitOption) *rlFixture {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &rlHealth{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(rlRecoverUnary, grpcmw.UnaryServerRateLimit(l, plans, opts...)),
		grpc.ChainStreamInterceptor(rlRecoverStream, grpcmw.StreamServerRateLimit(l, plans, opts...)),
	)
	grpc_health_v1.RegisterHealthServer(srv, h)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	return &rlFixture{client: grpc_health_v1.NewHealthClient(conn), health: h}
}

func rlPlans(t *testing.T) *ratelimit.Plans {
	t.Helper()
	ps, err := ratelimit.NewPlans(
		ratelimit.Plan{Rate: ratelimit.PerMinute(10), Burst: 2},
		map[string]ratelimit.Plan{
			"free":       {Rate: ratelimit.PerMinute(100), Burst: 3, InFlight: 1},
			"metered":    {Rate: ratelimit.PerMinute(1000), Burst: 100, Quota: ratelimit.Daily(2)},
			"enterprise": {Rate: ratelimit.PerMinute(10_000), Burst: 1000, InFlight: 1},
		})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func rlCtx(id, tier string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "x-test-tenant", id, "x-test-tier", tier)
}

func (f *rlFixture) check(ctx context.Context, service string) error {
	_, err := f.client.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: service})
	return err
}

// rlDetails returns the RetryInfo and QuotaFailure details of err.
func rlDetails(t *testing.T, err error, want codes.Code) (*errdetails.RetryInfo, *errdetails.QuotaFailure) {
	t.Helper()
	s := status.Convert(err)
	if s.Code() != want {
		t.Fatalf("status %v, want %v", s, want)
	}
	var ri *errdetails.RetryInfo
	var qf *errdetails.QuotaFailure
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

func TestUnaryRateLimit(t *testing.T) {
	f := startRateLimited(t, tenanttest.Local(t), rlPlans(t))
	for i := range 3 {
		if err := f.check(rlCtx("acme", "free"), ""); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	err := f.check(rlCtx("acme", "free"), "")
	ri, qf := rlDetails(t, err, codes.ResourceExhausted)
	if ri == nil || ri.RetryDelay.AsDuration() <= 0 || ri.RetryDelay.AsDuration() > 600*time.Millisecond {
		t.Errorf("RetryInfo %v", ri)
	}
	if qf == nil || len(qf.Violations) != 1 {
		t.Fatalf("QuotaFailure %v", qf)
	}
	v := qf.Violations[0]
	if v.Subject != "tenant:acme" || v.QuotaId != "free" || v.QuotaValue != 100 || v.Description == "" {
		t.Errorf("violation %v", v)
	}
	// Enterprise passes while free is limited.
	if err := f.check(rlCtx("bigco", "enterprise"), ""); err != nil {
		t.Fatalf("enterprise: %v", err)
	}
}

func TestUnaryQuota(t *testing.T) {
	f := startRateLimited(t, tenanttest.Local(t), rlPlans(t))
	for range 2 {
		if err := f.check(rlCtx("acme", "metered"), ""); err != nil {
			t.Fatal(err)
		}
	}
	ri, qf := rlDetails(t, f.check(rlCtx("acme", "metered"), ""), codes.ResourceExhausted)
	if ri == nil || ri.RetryDelay.AsDuration() > 24*time.Hour || ri.RetryDelay.AsDuration() <= 0 {
		t.Errorf("RetryInfo %v: want the time to midnight UTC", ri)
	}
	if qf == nil || qf.Violations[0].QuotaId != "metered-quota" || qf.Violations[0].QuotaValue != 2 {
		t.Errorf("QuotaFailure %v", qf)
	}
}

func TestRateLimitWithoutTenant(t *testing.T) {
	f := startRateLimited(t, tenanttest.Local(t), rlPlans(t))
	if err := f.check(context.Background(), ""); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("unary without tenant: %v", err)
	}
	s, err := f.client.Watch(context.Background(), &grpc_health_v1.HealthCheckRequest{})
	if err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("stream without tenant: %v", err)
	}

	g := startRateLimited(t, tenanttest.Local(t), rlPlans(t), grpcmw.WithUntenantedKey(func(ctx context.Context) string {
		md, _ := metadata.FromIncomingContext(ctx)
		if c := md.Get("x-client"); len(c) == 1 {
			return c[0]
		}
		return ""
	}))
	anon := metadata.AppendToOutgoingContext(context.Background(), "x-client", "10.0.0.7")
	for i := range 2 {
		if err := g.check(anon, ""); err != nil {
			t.Fatalf("anonymous call %d under the default plan: %v", i, err)
		}
	}
	_, qf := rlDetails(t, g.check(anon, ""), codes.ResourceExhausted)
	if qf.Violations[0].Subject != "anon:10.0.0.7" || qf.Violations[0].QuotaId != "default" {
		t.Errorf("violation %v", qf.Violations[0])
	}
	if err := g.check(context.Background(), ""); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("empty anonymous key: %v", err)
	}
}

func TestRateLimitCostAndHook(t *testing.T) {
	var seen []string
	f := startRateLimited(t, tenanttest.Local(t), rlPlans(t),
		grpcmw.WithCost(func(_ context.Context, method string) int { return 2 }),
		grpcmw.WithDecisionHook(func(_ context.Context, method string, d ratelimit.Decision, err error) {
			seen = append(seen, method+" "+d.DeniedBy.String())
		}))
	if err := f.check(rlCtx("acme", "free"), ""); err != nil {
		t.Fatal(err)
	}
	if err := f.check(rlCtx("acme", "free"), ""); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("cost 2 with 1 token left: %v", err)
	}
	if len(seen) != 2 || seen[0] != "/grpc.health.v1.Health/Check " || seen[1] != "/grpc.health.v1.Health/Check rate" {
		t.Fatalf("hook saw %q", seen)
	}
	g := startRateLimited(t, tenanttest.Local(t), rlPlans(t), grpcmw.WithCost(func(context.Context, string) int { return 50 }))
	if err := g.check(rlCtx("acme", "free"), ""); status.Code(err) != codes.Internal {
		t.Fatalf("cost above burst: %v", err)
	}
}

type rlFailing struct{}

func (rlFailing) Take(_ context.Context, _ string, p *ratelimit.Plan, _ int) (ratelimit.Decision, error) {
	return ratelimit.Decision{Plan: p, DeniedBy: ratelimit.ReasonUnavailable, RetryAfter: 3 * time.Second},
		&redislimit.UnavailableError{Err: context.DeadlineExceeded}
}

func TestRateLimitUnavailable(t *testing.T) {
	f := startRateLimited(t, rlFailing{}, rlPlans(t))
	ri, _ := rlDetails(t, f.check(rlCtx("acme", "free"), ""), codes.Unavailable)
	if ri == nil || ri.RetryDelay.AsDuration() != 3*time.Second {
		t.Errorf("RetryInfo %v", ri)
	}
	s, err := f.client.Watch(rlCtx("acme", "free"), &grpc_health_v1.HealthCheckRequest{})
	if err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("stream: %v", err)
	}
}

// The in-flight slot is released on every exit path: return, panic, and
// the end of a stream.
func TestRateLimitInFlight(t *testing.T) {
	f := startRateLimited(t, tenanttest.Local(t), rlPlans(t))
	ent := rlCtx("bigco", "enterprise") // in-flight cap 1
	done := make(chan error, 1)
	go func() { done <- f.check(ent, "block") }()
	<-f.health.entered
	_, qf := rlDetails(t, f.check(ent, ""), codes.ResourceExhausted)
	if qf.Violations[0].QuotaId != "enterprise-inflight" || qf.Violations[0].QuotaValue != 1 {
		t.Errorf("violation %v", qf.Violations[0])
	}
	close(f.health.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := f.check(ent, ""); err != nil {
		t.Fatalf("after return: %v", err)
	}
	if err := f.check(ent, "panic"); status.Code(err) != codes.Internal {
		t.Fatalf("panic: %v", err)
	}
	if err := f.check(ent, ""); err != nil {
		t.Fatalf("after panic: %v", err)
	}

	// A stream holds its slot while open.
	sctx, cancel := context.WithCancel(ent)
	s, err := f.client.Watch(sctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatalf("first stream: %v", err)
	}
	if err := f.check(ent, ""); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("unary while a stream is open: %v", err)
	}
	s2, err := f.client.Watch(ent, &grpc_health_v1.HealthCheckRequest{})
	if err == nil {
		_, err = s2.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second stream: %v", err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for f.check(ent, "") != nil {
		if time.Now().After(deadline) {
			t.Fatal("slot not released when the stream ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A stream is limited when it opens.
func TestStreamLimitedAtOpen(t *testing.T) {
	f := startRateLimited(t, tenanttest.Local(t), rlPlans(t))
	ctx, cancel := context.WithCancel(rlCtx("acme", "metered"))
	defer cancel()
	for i := range 2 {
		s, err := f.client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	s, err := f.client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err == nil {
		_, err = s.Recv()
	}
	_, qf := rlDetails(t, err, codes.ResourceExhausted)
	if qf.Violations[0].QuotaId != "metered-quota" {
		t.Errorf("violation %v", qf.Violations[0])
	}
}

// TestRateLimitRedisOutage stops the real redis-server under the
// interceptors: the fail-closed plan answers Unavailable, the fail-open plan
// passes, and after a restart the same limiter limits through Redis again.
func TestRateLimitRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 250 * time.Millisecond})
	defer client.Close()
	ps, err := ratelimit.NewPlans(
		ratelimit.Plan{Rate: ratelimit.PerMinute(600), Burst: 100},
		map[string]ratelimit.Plan{"open": {Rate: ratelimit.PerMinute(600), Burst: 100, OnBackendFailure: ratelimit.FailOpen()}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := redislimit.New(client, redislimit.WithRetryInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	f := startRateLimited(t, l, ps)
	if err := f.check(rlCtx("acme", ""), ""); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	ri, _ := rlDetails(t, f.check(rlCtx("acme", ""), ""), codes.Unavailable)
	if ri == nil || ri.RetryDelay.AsDuration() < time.Second {
		t.Errorf("RetryInfo %v", ri)
	}
	if err := f.check(rlCtx("acme", "open"), ""); err != nil {
		t.Fatalf("fail open: %v", err)
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for f.check(rlCtx("acme", ""), "") != nil {
		if time.Now().After(deadline) {
			t.Fatal("no recovery after restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ExampleUnaryServerRateLimit() {
	plans, err := ratelimit.NewPlans(
		ratelimit.Plan{Rate: ratelimit.PerMinute(10), Burst: 5},
		map[string]ratelimit.Plan{"free": {Rate: ratelimit.PerMinute(100), Burst: 1, Quota: ratelimit.Monthly(10_000)}})
	if err != nil {
		panic(err)
	}
	limiter, err := ratelimit.NewLocal() // or redislimit.New(client) across replicas
	if err != nil {
		panic(err)
	}
	// Register after the authentication interceptor, which puts the tenant
	// in the context:
	//
	//	grpc.NewServer(grpc.ChainUnaryInterceptor(
	//		grpcmw.UnaryServerAuthenticate(verifier),
	//		grpcmw.UnaryServerRateLimit(limiter, plans)),
	//	grpc.ChainStreamInterceptor(
	//		grpcmw.StreamServerAuthenticate(verifier),
	//		grpcmw.StreamServerRateLimit(limiter, plans)))
	limit := grpcmw.UnaryServerRateLimit(limiter, plans)

	free, _ := tenant.New("acme", "free")
	ctx := tenant.NewContext(context.Background(), free)
	info := &grpc.UnaryServerInfo{FullMethod: "/orders.v1.Orders/Get"}
	handler := func(context.Context, any) (any, error) { return "ok", nil }
	for range 2 {
		_, err := limit(ctx, nil, info, handler)
		fmt.Println(status.Code(err))
	}
	// Output:
	// OK
	// ResourceExhausted
}

func anonKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if c := md.Get("x-client"); len(c) == 1 {
		return c[0]
	}
	return ""
}

// A tenant whose tier changes between calls gets what the two quota
// counters allow together, not a fresh quota at each change.
func TestRateLimitTierChangesKeepSpentQuota(t *testing.T) {
	f := startRateLimited(t, tenanttest.FixedLocal(t), tenanttest.TierPlans(t))
	allowed := 0
	for i := range 45 {
		tier := "free"
		if i >= 5 && i%2 == 0 {
			tier = "trial"
		}
		switch err := f.check(rlCtx("acme", tier), ""); status.Code(err) {
		case codes.OK:
			allowed++
		case codes.ResourceExhausted:
		default:
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if allowed != 10 {
		t.Fatalf("alternating tiers allowed %d of 45 calls, want 10 (5 a month + 5 a day)", allowed)
	}
}

// Untenanted keys never push tenants out of their limiter: after 3,000
// anonymous clients, every tenant's spent quota is still spent.
func TestRateLimitAnonymousKeysKeepTenantQuota(t *testing.T) {
	f := startRateLimited(t, tenanttest.FixedLocal(t, ratelimit.WithMaxKeys(256)), tenanttest.TierPlans(t), grpcmw.WithUntenantedKey(anonKey))
	tenants := make([]string, 50)
	for i := range tenants {
		tenants[i] = "tenant-" + fmt.Sprint(i)
		for range 5 {
			if err := f.check(rlCtx(tenants[i], "free"), ""); err != nil {
				t.Fatalf("tenant %d: %v", i, err)
			}
		}
	}
	for i := range 3000 {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-client", "198.51.100."+fmt.Sprint(i))
		if err := f.check(ctx, ""); err != nil {
			t.Fatalf("anonymous client %d: %v", i, err)
		}
	}
	for i, id := range tenants {
		_, qf := rlDetails(t, f.check(rlCtx(id, "free"), ""), codes.ResourceExhausted)
		if qf == nil || qf.Violations[0].QuotaId != "free-quota" {
			t.Fatalf("tenant %d after the anonymous clients: %v (its spent quota was given back)", i, qf)
		}
	}
}

// A tenant limiter full of tenants with spent quota fails a new tenant's
// call with Unavailable and a RetryInfo, and never forgets the others'
// quota.
func TestRateLimitFullLimiterUnavailable(t *testing.T) {
	f := startRateLimited(t, tenanttest.FixedLocal(t, ratelimit.WithMaxKeys(16)), tenanttest.TierPlans(t))
	for i := range 16 {
		if err := f.check(rlCtx("tenant-"+fmt.Sprint(i), "trial"), ""); err != nil {
			t.Fatalf("tenant %d: %v", i, err)
		}
	}
	ri, _ := rlDetails(t, f.check(rlCtx("late", "trial"), ""), codes.Unavailable)
	if ri == nil || ri.RetryDelay.AsDuration() != 12*time.Hour {
		t.Fatalf("RetryInfo %v, want until midnight", ri)
	}
	for i := range 16 {
		for range 4 {
			_ = f.check(rlCtx("tenant-"+fmt.Sprint(i), "trial"), "")
		}
		rlDetails(t, f.check(rlCtx("tenant-"+fmt.Sprint(i), "trial"), ""), codes.ResourceExhausted)
	}
}

// The unary and stream interceptors built with one WithUntenantedKey
// value share its default limiter; a limiter given for untenanted keys is
// the only one they reach.
func TestRateLimitUntenantedLimiter(t *testing.T) {
	anon := metadata.AppendToOutgoingContext(context.Background(), "x-client", "192.0.2.1")
	f := startRateLimited(t, tenanttest.Local(t), rlPlans(t), grpcmw.WithUntenantedKey(anonKey))
	if err := f.check(anon, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(anon)
	s, err := f.client.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err == nil {
		_, err = s.Recv()
	}
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	rlDetails(t, f.check(anon, ""), codes.ResourceExhausted) // burst 2: one call and one stream

	tenants, untenanted := tenanttest.Local(t), tenanttest.Local(t)
	g := startRateLimited(t, tenants, rlPlans(t), grpcmw.WithUntenantedKey(anonKey), grpcmw.WithUntenantedLimiter(untenanted))
	if err := g.check(anon, ""); err != nil {
		t.Fatal(err)
	}
	if err := g.check(rlCtx("acme", "free"), ""); err != nil {
		t.Fatal(err)
	}
	if tenants.Len() != 1 || untenanted.Len() != 1 {
		t.Fatalf("tenant limiter %d keys, untenanted limiter %d keys; want 1 and 1", tenants.Len(), untenanted.Len())
	}
}
